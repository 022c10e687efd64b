"""CycloneDX 1.7 ``citations``: which file or process supplied each non-trivial field.

A reviewer can then tell a licence the publisher declared in the README from
one inferred from a repository name, and a digest we computed from one a
provenance file claimed. (1.6 has no citations; the same sources are in the
``supplychain:*:source`` properties of both versions.)
"""

from __future__ import annotations

from typing import Any

from supplychain.bom.card import CARD_SOURCE
from supplychain.bom.cyclonedx.common import TOOL_REF
from supplychain.bom.model import AiBom, FileRole


def citations(bom: AiBom, document: dict[str, Any], timestamp: str) -> list[dict[str, Any]]:
    """Citations for ``document`` (already rendered from ``bom``)."""
    model = document["metadata"]["component"]
    readme = "file:README.md" if any(f.name == "README.md" for f in bom.files) else None
    provenance = (
        f"declared in the provenance file (sha256:{bom.provenance_sha256})"
        if bom.provenance_sha256
        else None
    )
    out: list[dict[str, Any]] = []

    def cite(pointers: list[str], attributed_to: str, note: str) -> None:
        if pointers:
            out.append(
                {
                    "bom-ref": f"citation:{len(out) + 1}",
                    "pointers": pointers,
                    "timestamp": timestamp,
                    "attributedTo": attributed_to,
                    "note": note,
                }
            )

    files = model.get("components", [])
    cite(
        [f"/metadata/component/components/{i}/hashes" for i in range(len(files))],
        TOOL_REF,
        "SHA-256 computed by supplychain from each file's bytes (the digests of the OMS manifest)",
    )
    for index, lic in enumerate(bom.licenses):
        pointer = [f"/metadata/component/licenses/{index}"]
        if lic.declared.source == CARD_SOURCE and readme:
            cite(pointer, readme, "licence declared in the README.md front matter")
        elif provenance:
            cite(pointer, TOOL_REF, f"licence {provenance}")
    card_bases = [i for i, a in enumerate(bom.ancestors) if CARD_SOURCE in a.source]
    if readme:
        cite(
            [f"/metadata/component/pedigree/ancestors/{i}" for i in card_bases],
            readme,
            "base_model declared in the README.md front matter",
        )
        if any(CARD_SOURCE in d.sources for d in bom.datasets):
            cite(
                ["/metadata/component/modelCard/modelParameters/datasets"],
                readme,
                "datasets declared in the README.md front matter",
            )
    properties = model.get("properties", [])
    safetensors = [f for f in bom.files if f.weights is not None and f.role is FileRole.WEIGHTS]
    for index, item in enumerate(properties):
        name = item["name"]
        if name == "cdx:ai-ml:model:parameter:count":
            source = f"file:{safetensors[0].name}" if len(safetensors) == 1 else TOOL_REF
            cite(
                [f"/metadata/component/properties/{index}"],
                source,
                f"summed from the tensor shapes in {len(safetensors)} safetensors header(s)",
            )
        elif name == "supplychain:openness:class":
            cite(
                [f"/metadata/component/properties/{index}"],
                TOOL_REF,
                "computed by supplychain from the licences, gating and provenance in this BOM",
            )
    workflows = document.get("formulation", [{}])[0].get("workflows", [])
    declared = [
        f"/formulation/0/workflows/{i}" for i, w in enumerate(workflows) if w["uid"] != "evaluation"
    ]
    if provenance:
        cite(declared, TOOL_REF, f"training and conversion records {provenance}")
    evaluation = [
        f"/formulation/0/workflows/{i}" for i, w in enumerate(workflows) if w["uid"] == "evaluation"
    ]
    if readme:
        cite(evaluation, readme, "evaluation datasets from the README.md model-index")
    return out
