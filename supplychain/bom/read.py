"""Read a CycloneDX JSON BOM into a typed view for ``bom show`` and ``bom diff``.

Parses the raw JSON (cyclonedx-python-lib's ``Bom.from_json`` silently drops
``modelCard``, ``data`` and ``formulation``). Works on any CycloneDX 1.x JSON,
ours or another tool's; what is absent is simply absent from the view.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from supplychain._internal.safeopen import BOM, read_json
from supplychain.errors import InputError

NS = "supplychain"


class BomReadError(InputError):
    """A file is not a readable CycloneDX JSON document."""


@dataclass(frozen=True)
class LicenseView:
    label: str
    identifier: str
    license_class: str | None = None
    commercial_use: str | None = None
    url: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class FileView:
    name: str
    sha256: str | None
    size: int | None = None
    format: str | None = None
    role: str | None = None
    can_execute_code: bool = False
    remote_code: bool = False
    extension_mismatch: bool = False
    parameters: int | None = None
    blob_verified: bool | None = None
    converted_from: str | None = None


@dataclass(frozen=True)
class DatasetView:
    name: str
    version: str | None
    url: str | None
    licenses: tuple[LicenseView, ...]
    roles: tuple[str, ...]
    sources: tuple[str, ...]


@dataclass(frozen=True)
class AncestorView:
    name: str
    version: str | None
    relation: str | None
    licenses: tuple[LicenseView, ...]
    depth: int
    source: str | None


@dataclass(frozen=True)
class LibraryView:
    name: str
    version: str | None
    purl: str | None
    licenses: tuple[str, ...]


@dataclass(frozen=True)
class FindingView:
    rule_id: str
    severity: str
    message: str
    #: Affected file names (or the component names/refs when not a file).
    affects: tuple[str, ...]
    origin: str | None


@dataclass(frozen=True)
class LicenseFindingView:
    rule: str
    severity: str
    subject: str
    message: str


@dataclass(frozen=True)
class CardView:
    task: str | None = None
    architecture_family: str | None = None
    architecture: str | None = None
    metrics: int = 0
    use_cases: int = 0
    limitations: int = 0
    environmental: bool = False
    datasets: int = 0


@dataclass(frozen=True)
class BomView:
    """What ``show`` and ``diff`` need from a BOM, in plain typed fields."""

    spec_version: str
    serial_number: str | None
    timestamp: str | None
    tool: str | None
    model_name: str | None
    model_group: str | None
    model_version: str | None
    purl: str | None
    model_type: str | None
    description: str | None
    licenses: tuple[LicenseView, ...]
    files: tuple[FileView, ...]
    datasets: tuple[DatasetView, ...]
    ancestors: tuple[AncestorView, ...]
    libraries: tuple[LibraryView, ...]
    findings: tuple[FindingView, ...]
    license_findings: tuple[LicenseFindingView, ...]
    card: CardView
    openness: str | None
    openness_evidence: tuple[str, ...]
    root_digest: str | None
    parameter_count: int | None
    signature: str | None
    scan_performed: bool | None
    workflows: tuple[str, ...]

    @property
    def display_name(self) -> str:
        name = self.model_name or "(unnamed)"
        return f"{self.model_group}/{name}" if self.model_group else name


def load_document(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse ``path`` as a CycloneDX JSON document (not yet validated)."""
    file = Path(path)
    document = read_json(
        file,
        BOM,
        error=BomReadError,
        hint="only CycloneDX JSON is supported (not XML or protobuf)",
    )
    if not isinstance(document, dict) or document.get("bomFormat") != "CycloneDX":
        raise BomReadError("not a CycloneDX BOM (bomFormat is not 'CycloneDX')", path=file)
    if not isinstance(document.get("specVersion"), str):
        raise BomReadError("the BOM has no specVersion", path=file)
    return document


def view(document: Mapping[str, Any]) -> BomView:
    """The typed view of a parsed CycloneDX document."""
    metadata = _dict(document.get("metadata"))
    model = _dict(metadata.get("component"))
    refs = _ref_names(document)
    props = _props(model)
    components = [_dict(c) for c in _list(document.get("components"))]
    files = [_file(c) for c in _list(model.get("components")) if _dict(c).get("type") == "file"]
    files += [_file(c) for c in components if c.get("type") == "file"]
    if not files:
        # Other generators list model artifacts as top-level ML components with hashes.
        files = [
            _file(c)
            for c in components
            if c.get("type") == "machine-learning-model" and c.get("hashes")
        ]
    card = _dict(model.get("modelCard"))
    return BomView(
        spec_version=str(document.get("specVersion")),
        serial_number=_str(document.get("serialNumber")),
        timestamp=_str(metadata.get("timestamp")),
        tool=_tool(metadata),
        model_name=_str(model.get("name")),
        model_group=_str(model.get("group")),
        model_version=_str(model.get("version")),
        purl=_str(model.get("purl")),
        model_type=_str(model.get("type")),
        description=_str(model.get("description")),
        licenses=_licenses(model),
        files=tuple(sorted(files, key=lambda f: f.name)),
        datasets=tuple(_dataset(c) for c in components if c.get("type") == "data"),
        ancestors=tuple(_ancestors(_dict(model.get("pedigree")), 0)),
        libraries=tuple(
            _library(c)
            for c in components
            if c.get("type") in ("library", "framework", "application")
        ),
        findings=tuple(_finding(v, refs) for v in _list(document.get("vulnerabilities"))),
        license_findings=tuple(_license_findings(document)),
        card=_card(card),
        openness=_first(props, f"{NS}:openness:class"),
        openness_evidence=tuple(_all(props, f"{NS}:openness:evidence")),
        root_digest=_first(props, f"{NS}:oms:root-digest"),
        parameter_count=_int(_first(props, "cdx:ai-ml:model:parameter:count")),
        signature=_signature(model),
        scan_performed=_bool(_first(_props(metadata), f"{NS}:scan:performed")),
        workflows=tuple(
            _str(w.get("uid")) or "?"
            for f in _list(document.get("formulation"))
            for w in _list(_dict(f).get("workflows"))
            if isinstance(w, dict)
        ),
    )


# --- helpers -------------------------------------------------------------------------------------


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _bool(value: str | None) -> bool | None:
    return None if value is None else value == "true"


def _props(node: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [
        (p["name"], str(p.get("value", "")))
        for p in _list(node.get("properties"))
        if isinstance(p, dict) and isinstance(p.get("name"), str)
    ]


def _first(props: Sequence[tuple[str, str]], name: str) -> str | None:
    return next((v for n, v in props if n == name), None)


def _all(props: Sequence[tuple[str, str]], name: str) -> Iterator[str]:
    return (v for n, v in props if n == name)


def _tool(metadata: Mapping[str, Any]) -> str | None:
    tools = metadata.get("tools")
    entries = _list(_dict(tools).get("components")) if isinstance(tools, dict) else _list(tools)
    for tool in entries:
        if isinstance(tool, dict) and tool.get("name"):
            return f"{tool['name']} {tool.get('version', '')}".strip()
    return None


def _sha256(component: Mapping[str, Any]) -> str | None:
    for h in _list(component.get("hashes")):
        if isinstance(h, dict) and h.get("alg") == "SHA-256":
            return _str(h.get("content"))
    return None


def _licenses(component: Mapping[str, Any]) -> tuple[LicenseView, ...]:
    out = []
    for choice in _list(component.get("licenses")):
        choice = _dict(choice)
        if "expression" in choice:
            text = str(choice["expression"])
            out.append(LicenseView(text, text))
            continue
        lic = _dict(choice.get("license"))
        props = _props(lic)
        label = _str(lic.get("id")) or _str(lic.get("name")) or "?"
        out.append(
            LicenseView(
                label=label,
                identifier=_first(props, f"{NS}:license:identifier") or label,
                license_class=_first(props, f"{NS}:license:class"),
                commercial_use=_first(props, f"{NS}:license:commercial-use"),
                url=_str(lic.get("url")),
                source=_first(props, f"{NS}:license:source"),
            )
        )
    return tuple(out)


def _file(node: Any) -> FileView:
    component = _dict(node)
    props = _props(component)
    ancestors = _list(_dict(component.get("pedigree")).get("ancestors"))
    return FileView(
        name=_str(component.get("name")) or "?",
        sha256=_sha256(component),
        size=_int(_first(props, f"{NS}:file:size")),
        format=_first(props, f"{NS}:file:format"),
        role=_first(props, f"{NS}:file:role"),
        can_execute_code=_first(props, f"{NS}:file:can-execute-code") == "true",
        remote_code=_first(props, f"{NS}:file:remote-code") == "true",
        extension_mismatch=_first(props, f"{NS}:file:extension-mismatch") == "true",
        parameters=_int(_first(props, f"{NS}:file:parameters")),
        blob_verified=_bool(_first(props, f"{NS}:hf:blob-verified")),
        converted_from=_str(_dict(ancestors[0]).get("name")) if ancestors else None,
    )


def _dataset(component: Mapping[str, Any]) -> DatasetView:
    props = _props(component)
    url = next(
        (
            _str(r.get("url"))
            for r in _list(component.get("externalReferences"))
            if isinstance(r, dict)
        ),
        None,
    )
    return DatasetView(
        name=_str(component.get("name")) or "?",
        version=_str(component.get("version")),
        url=url,
        licenses=_licenses(component),
        roles=tuple(_all(props, f"{NS}:dataset:role")),
        sources=tuple(_all(props, f"{NS}:dataset:source")),
    )


def _ancestors(pedigree: Mapping[str, Any], depth: int) -> Iterator[AncestorView]:
    for node in _list(pedigree.get("ancestors")):
        component = _dict(node)
        props = _props(component)
        group, name = _str(component.get("group")), _str(component.get("name")) or "?"
        yield AncestorView(
            name=f"{group}/{name}" if group else name,
            version=_str(component.get("version")),
            relation=_first(props, f"{NS}:lineage:relation"),
            licenses=_licenses(component),
            depth=depth,
            source=_first(props, f"{NS}:lineage:source"),
        )
        yield from _ancestors(_dict(component.get("pedigree")), depth + 1)


def _library(component: Mapping[str, Any]) -> LibraryView:
    return LibraryView(
        name=_str(component.get("name")) or "?",
        version=_str(component.get("version")),
        purl=_str(component.get("purl")),
        licenses=tuple(lic.label for lic in _licenses(component)),
    )


def _ref_names(document: Mapping[str, Any]) -> dict[str, str]:
    """bom-ref -> a readable name (file components by their path)."""
    names: dict[str, str] = {}

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("bom-ref")
            if isinstance(ref, str) and isinstance(node.get("name"), str):
                names.setdefault(ref, node["name"])
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(document.get("metadata"))
    visit(document.get("components"))
    return names


def _finding(node: Any, refs: Mapping[str, str]) -> FindingView:
    vulnerability = _dict(node)
    ratings = [_dict(r) for r in _list(vulnerability.get("ratings"))]
    severity = next((str(r["severity"]) for r in ratings if r.get("severity")), "unknown")
    affects = tuple(
        refs.get(str(a.get("ref")), str(a.get("ref")))
        for a in _list(vulnerability.get("affects"))
        if isinstance(a, dict)
    )
    return FindingView(
        rule_id=_str(vulnerability.get("id")) or "?",
        severity=severity,
        message=_str(vulnerability.get("description")) or _str(vulnerability.get("detail")) or "",
        affects=affects,
        origin=_first(_props(vulnerability), f"{NS}:finding:origin"),
    )


def _license_findings(document: Mapping[str, Any]) -> Iterator[LicenseFindingView]:
    prefix = f"{NS}:license:finding:"

    def visit(node: Any, subject: str) -> Iterator[LicenseFindingView]:
        if isinstance(node, dict):
            if node.get("type") in ("machine-learning-model", "data") and node.get("name"):
                group = node.get("group")
                subject = f"{group}/{node['name']}" if group else str(node["name"])
            for name, value in _props(node):
                if name.startswith(prefix):
                    severity, _, message = value.partition(": ")
                    yield LicenseFindingView(name[len(prefix) :], severity, subject, message)
            for key, value in node.items():
                if key != "properties":
                    yield from visit(value, subject)
        elif isinstance(node, list):
            for value in node:
                yield from visit(value, subject)

    yield from visit(document.get("metadata"), "model")
    yield from visit(document.get("components"), "model")


def _card(card: Mapping[str, Any]) -> CardView:
    parameters = _dict(card.get("modelParameters"))
    considerations = _dict(card.get("considerations"))
    return CardView(
        task=_str(parameters.get("task")),
        architecture_family=_str(parameters.get("architectureFamily")),
        architecture=_str(parameters.get("modelArchitecture")),
        metrics=len(_list(_dict(card.get("quantitativeAnalysis")).get("performanceMetrics"))),
        use_cases=len(_list(considerations.get("useCases"))),
        limitations=len(_list(considerations.get("technicalLimitations"))),
        environmental=bool(_dict(considerations.get("environmentalConsiderations"))),
        datasets=len(_list(parameters.get("datasets"))),
    )


def _signature(model: Mapping[str, Any]) -> str | None:
    for ref in _list(model.get("externalReferences")):
        if isinstance(ref, dict) and ref.get("type") == "attestation":
            return _str(ref.get("url"))
    return None
