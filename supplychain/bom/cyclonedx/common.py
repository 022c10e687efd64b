"""Names, references and small renderers every part of the CycloneDX writer shares."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from supplychain.bom.model import Ancestor, Library
from supplychain.licenses import LicenseFinding, ResolvedLicense

TOOL_REF = "tool:supplychain"
MODEL_REF = "model"
FORMULA_REF = "formula"
TRAINING_REF = "workflow:training"
TRAINING_CODE_REF = "training-code"
HOMEPAGE = "https://github.com/supplychain-dev/supplychain"
NS = "supplychain"

Properties = list[dict[str, str]]
Json = dict[str, Any]

#: What a CycloneDX iri-reference can hold (no whitespace or characters RFC 3987 forbids).
_IRI = re.compile(r'^[^\s<>"{}|\\^`\x00-\x1f\x7f]+$')


def file_ref(name: str) -> str:
    return f"file:{name}"


def dataset_ref(name: str) -> str:
    return f"dataset:{name}"


def library_ref(library: Library) -> str:
    return library.purl


def iri(value: str | None) -> str | None:
    """``value`` if it can go in a CycloneDX URL field, else None."""
    return value if value and _IRI.match(value) else None


def prop(name: str, value: object) -> dict[str, str]:
    if isinstance(value, bool):
        value = "true" if value else "false"
    return {"name": name, "value": str(value)}


def license_json(lic: ResolvedLicense) -> Json:
    """A licence choice: SPDX id when there is one, else name + URL; our analysis as properties."""
    inner: Json = {"id": lic.spdx} if lic.spdx else {"name": lic.name}
    url = iri(lic.url)
    if url:
        inner["url"] = url
    # CycloneDX: "declared" by the publisher, "concluded" by analysis (ours).
    inner["acknowledgement"] = "concluded" if lic.declared.inferred else "declared"
    props = [
        prop(f"{NS}:license:identifier", lic.identifier),
        prop(f"{NS}:license:class", lic.license_class.value),
        prop(f"{NS}:license:commercial-use", lic.commercial_use.value),
        prop(
            f"{NS}:license:redistribution",
            lic.entry.redistribution.value if lic.entry else "unknown",
        ),
        prop(f"{NS}:license:osi-approved", lic.osi_approved),
    ]
    if lic.declared.identifier:
        props.append(prop(f"{NS}:license:declared-as", lic.declared.identifier))
    if lic.declared.source:
        props.append(prop(f"{NS}:license:source", lic.declared.source))
    if lic.url and not url:
        props.append(prop(f"{NS}:license:link", lic.url))
    props += [prop(f"{NS}:license:restriction", r) for r in lic.restrictions]
    inner["properties"] = props
    return {"license": inner}


def lineage_note(ancestor: Ancestor) -> str:
    relation = {
        "finetune": "fine-tuned from",
        "adapter": "adapter of",
        "quantized": "quantized from",
        "merge": "merged from",
    }.get(ancestor.relation or "", "derived from")
    return f"{relation} {ancestor.repo_id}" + (f"@{ancestor.revision}" if ancestor.revision else "")


def license_finding_props(findings: Iterable[LicenseFinding]) -> Properties:
    return [
        prop(f"{NS}:license:finding:{f.rule}", f"{f.severity.value}: {f.message}") for f in findings
    ]


def as_date_time(value: str, *, end: bool = False) -> str:
    """A date (``2024-05-01``) as the date-time CycloneDX requires; date-times pass unchanged."""
    if "T" in value:
        return value
    return f"{value}T23:59:59Z" if end else f"{value}T00:00:00Z"
