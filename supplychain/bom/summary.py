"""The reviewer's summary of a BOM: identity, files, licences, lineage, data, findings, and
completeness by axis, computed from what the emitted BOM actually contains."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from supplychain.bom.read import BomView
from supplychain.output import human_bytes
from supplychain.output.names import escape_text, quote_name

SEVERITY_ORDER = ("critical", "high", "medium", "low", "info", "none", "unknown")
_SERIOUS = ("critical", "high")


@dataclass(frozen=True)
class Check:
    label: str
    #: None: does not apply to this model (e.g. no datasets to check).
    ok: bool | None
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "ok": self.ok, "detail": self.detail}


@dataclass(frozen=True)
class Axis:
    name: str
    checks: tuple[Check, ...]

    @property
    def passed(self) -> int:
        return sum(1 for c in self.checks if c.ok)

    @property
    def applicable(self) -> int:
        return sum(1 for c in self.checks if c.ok is not None)

    def to_json(self) -> dict[str, Any]:
        return {
            "axis": self.name,
            "passed": self.passed,
            "applicable": self.applicable,
            "checks": [c.to_json() for c in self.checks],
        }


@dataclass(frozen=True)
class Summary:
    bom: BomView
    axes: tuple[Axis, ...]
    schema_problems: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        return not self.schema_problems

    @property
    def severity_counts(self) -> dict[str, int]:
        counts = Counter(f.severity for f in self.bom.findings)
        counts.update(f.severity for f in self.bom.license_findings)
        return {s: counts[s] for s in SEVERITY_ORDER if counts[s]}

    def to_json(self) -> dict[str, Any]:
        bom = self.bom
        return {
            "schema": {
                "spec_version": bom.spec_version,
                "valid": self.valid,
                "problems": list(self.schema_problems),
            },
            "identity": {
                "name": bom.display_name,
                "version": bom.model_version,
                "purl": bom.purl,
                "serial_number": bom.serial_number,
                "timestamp": bom.timestamp,
                "tool": bom.tool,
                "root_digest": bom.root_digest,
                "signature": bom.signature,
                "parameters": bom.parameter_count,
            },
            "openness": {"class": bom.openness, "evidence": list(bom.openness_evidence)},
            "files": [vars(f) for f in bom.files],
            "licenses": [vars(lic) for lic in bom.licenses],
            "license_findings": [vars(f) for f in bom.license_findings],
            "lineage": [
                {**vars(a), "licenses": [vars(lic) for lic in a.licenses]} for a in bom.ancestors
            ],
            "datasets": [
                {**vars(d), "licenses": [vars(lic) for lic in d.licenses]} for d in bom.datasets
            ],
            "findings": [vars(f) for f in bom.findings],
            "libraries": [vars(lib) for lib in bom.libraries],
            "workflows": list(bom.workflows),
            "completeness": [a.to_json() for a in self.axes],
        }


def summarize(bom: BomView, schema_problems: Sequence[str] = ()) -> Summary:
    return Summary(
        bom,
        (
            _integrity(bom),
            _licensing(bom),
            _lineage(bom),
            _data(bom),
            _card(bom),
            _security(bom),
        ),
        tuple(schema_problems),
    )


def _all_or_na(items: Sequence[Any], ok: int, label: str, what: str) -> Check:
    if not items:
        return Check(label, None, f"no {what}")
    return Check(label, ok == len(items), f"{ok}/{len(items)} {what}")


def _integrity(bom: BomView) -> Axis:
    hashed = sum(1 for f in bom.files if f.sha256)
    cached = [f for f in bom.files if f.blob_verified is not None]
    return Axis(
        "integrity",
        (
            Check(
                "every file has a SHA-256",
                bool(bom.files) and hashed == len(bom.files),
                f"{hashed}/{len(bom.files)} files",
            ),
            Check("OMS root digest recorded", bom.root_digest is not None, bom.root_digest or ""),
            Check(
                "signature referenced", bom.signature is not None, bom.signature or "no model.sig"
            ),
            _all_or_na(
                cached,
                sum(1 for f in cached if f.blob_verified),
                "files match their Hub cache blobs",
                "cached files",
            ),
        ),
    )


def _licensing(bom: BomView) -> Axis:
    known = [lic for lic in bom.licenses if lic.license_class not in (None, "unknown")]
    serious = [
        f
        for f in bom.license_findings
        if f.severity in ("critical", "high", "medium") and f.rule != "license.unknown-terms"
    ]
    licensed = sum(1 for d in bom.datasets if d.licenses)
    return Axis(
        "licensing",
        (
            Check(
                "model licence declared",
                bool(bom.licenses),
                ", ".join(lic.label for lic in bom.licenses) or "none",
            ),
            Check(
                "licence terms known",
                bool(bom.licenses) and len(known) == len(bom.licenses),
                ", ".join(f"{lic.label}: {lic.license_class or '?'}" for lic in bom.licenses),
            ),
            Check(
                "no licence conflicts",
                not serious,
                _count(len(serious), "conflict") if serious else "",
            ),
            _all_or_na(bom.datasets, licensed, "datasets licensed", "datasets"),
        ),
    )


def _lineage(bom: BomView) -> Axis:
    direct = [a for a in bom.ancestors if a.depth == 0]
    pinned = sum(1 for a in direct if a.version)
    licensed = sum(1 for a in bom.ancestors if a.licenses)
    converted = [f for f in bom.files if f.converted_from]
    return Axis(
        "lineage",
        (
            Check(
                "origin declared (base model or training record)",
                bool(bom.ancestors) or "training" in bom.workflows,
                ", ".join(a.name for a in direct)
                or ("training record" if "training" in bom.workflows else "none"),
            ),
            _all_or_na(direct, pinned, "base models pinned to a revision", "base models"),
            _all_or_na(bom.ancestors, licensed, "ancestor licences known", "ancestors"),
            Check(
                "conversions recorded",
                bool(converted) or None,
                ", ".join(f"{f.name} <- {f.converted_from}" for f in converted),
            ),
        ),
    )


def _data(bom: BomView) -> Axis:
    training = [d for d in bom.datasets if {"training", "fine-tuning"} & set(d.roles)]
    sourced = sum(1 for d in bom.datasets if d.url)
    versioned = sum(1 for d in bom.datasets if d.version)
    return Axis(
        "data provenance",
        (
            Check(
                "training data listed",
                bool(training),
                ", ".join(d.name for d in training) or "none",
            ),
            _all_or_na(bom.datasets, sourced, "datasets have a source", "datasets"),
            _all_or_na(bom.datasets, versioned, "dataset versions pinned", "datasets"),
            Check(
                "training process recorded (formulation)",
                "training" in bom.workflows,
                "from the provenance file" if "training" in bom.workflows else "no provenance file",
            ),
        ),
    )


def _card(bom: BomView) -> Axis:
    card = bom.card
    return Axis(
        "model card",
        (
            Check("task", card.task is not None, card.task or ""),
            Check(
                "architecture",
                card.architecture is not None or card.architecture_family is not None,
                " / ".join(x for x in (card.architecture_family, card.architecture) if x),
            ),
            Check("intended uses", card.use_cases > 0, _count(card.use_cases, "entry", "entries")),
            Check(
                "limitations", card.limitations > 0, _count(card.limitations, "entry", "entries")
            ),
            Check("evaluation results", card.metrics > 0, _count(card.metrics, "metric")),
            Check("environmental impact", card.environmental, ""),
        ),
    )


def _security(bom: BomView) -> Axis:
    serious = [f for f in bom.findings if f.severity in _SERIOUS]
    executable = [f.name for f in bom.files if f.can_execute_code]
    remote = [f.name for f in bom.files if f.remote_code]
    mismatched = [f.name for f in bom.files if f.extension_mismatch]
    return Axis(
        "security",
        (
            Check(
                "scan results included",
                bom.scan_performed is True,
                "" if bom.scan_performed else "no scanner report in this BOM",
            ),
            Check(
                "no high or critical findings",
                not serious,
                _count(len(serious), "finding") if serious else "",
            ),
            Check("no formats that execute code on load", not executable, ", ".join(executable)),
            Check("no remote code", not remote, ", ".join(remote)),
            Check("extensions match content", not mismatched, ", ".join(mismatched)),
        ),
    )


# --- text ----------------------------------------------------------------------------------------


def render_text(summary: Summary, *, max_rows: int = 40) -> str:
    bom = summary.bom
    out: list[str] = []
    add = out.append
    version = f" @ {bom.model_version}" if bom.model_version else ""
    add(f"AI-BOM  {bom.display_name}{version}")
    add(
        f"  CycloneDX {bom.spec_version}, {bom.tool or 'unknown tool'}, "
        f"{bom.timestamp or 'no timestamp'}"
    )
    if not summary.valid:
        add(f"  SCHEMA INVALID: {summary.schema_problems[0]}")
    for label, value in (
        ("purl", bom.purl),
        ("root", bom.root_digest),
        ("signature", bom.signature),
        ("parameters", f"{bom.parameter_count:,}" if bom.parameter_count else None),
    ):
        if value:
            add(f"  {label:<10} {value}")
    if bom.openness:
        add(f"  {'openness':<10} {bom.openness}")
        out += [f"{'':13}- {e}" for e in bom.openness_evidence]

    total = sum(f.size or 0 for f in bom.files)
    add("")
    add(f"Files ({len(bom.files)}, {human_bytes(total)})")
    for f in bom.files[:max_rows]:
        flags = [
            flag
            for flag, on in (
                ("CODE-ON-LOAD", f.can_execute_code),
                ("REMOTE-CODE", f.remote_code),
                ("EXT-MISMATCH", f.extension_mismatch),
                ("BLOB-MISMATCH", f.blob_verified is False),
            )
            if on
        ]
        digest = (f.sha256 or "no sha256")[:12]
        add(
            f"  {f.role or '-':<13} {f.format or '-':<14} {human_bytes(f.size or 0):>10}  "
            f"{digest}  "
            f"{quote_name(f.name)}{'  ' + ' '.join(flags) if flags else ''}"
        )
    if len(bom.files) > max_rows:
        add(f"  ... and {len(bom.files) - max_rows} more")

    add("")
    add("Licences")
    if not bom.licenses:
        add("  model: none declared")
    for lic in bom.licenses:
        add(
            f"  model: {lic.label} [{lic.license_class or '?'}; commercial use: "
            f"{lic.commercial_use or '?'}]{f' (from {lic.source})' if lic.source else ''}"
        )
    for license_finding in sorted(bom.license_findings, key=lambda f: _rank(f.severity)):
        add(
            f"  {license_finding.severity.upper():<8} {license_finding.rule}  "
            f"{license_finding.subject}: {license_finding.message}"
        )

    add("")
    add("Lineage" if bom.ancestors else "Lineage: no base model declared")
    for a in bom.ancestors:
        licences = (
            ", ".join(f"{lic.label} [{lic.license_class or '?'}]" for lic in a.licenses)
            or "licence unknown"
        )
        add(
            f"  {'  ' * a.depth}{a.relation or 'derived from'}: {a.name}"
            f"{'@' + a.version if a.version else ''}  {licences}"
        )
    converted = [f for f in bom.files if f.converted_from]
    for f in converted:
        add(f"  converted: {quote_name(f.name)} <- {quote_name(f.converted_from or '')}")

    add("")
    add("Datasets" if bom.datasets else "Datasets: none declared")
    for d in bom.datasets:
        licences = ", ".join(lic.label for lic in d.licenses) or "no licence"
        add(
            f"  {'/'.join(d.roles) or '-':<12} {d.name}{'@' + d.version if d.version else ''}  "
            f"{licences}{'  ' + d.url if d.url else ''}"
        )

    add("")
    add(f"Findings ({len(bom.findings)})" if bom.findings else "Findings: none")
    for finding in sorted(bom.findings, key=lambda item: _rank(item.severity))[:max_rows]:
        add(
            f"  {finding.severity.upper():<8} {finding.rule_id}  {', '.join(finding.affects)}: "
            f"{finding.message}"
        )

    if bom.libraries:
        add("")
        add(f"Libraries ({len(bom.libraries)})")
        for lib in bom.libraries[:max_rows]:
            add(f"  {lib.name} {lib.version or ''}  {', '.join(lib.licenses)}".rstrip())
        if len(bom.libraries) > max_rows:
            add(f"  ... and {len(bom.libraries) - max_rows} more")

    add("")
    add("Completeness")
    for axis in summary.axes:
        add(f"  {axis.name:<16} {axis.passed}/{axis.applicable}")
        for check in axis.checks:
            mark = "[-]" if check.ok is None else ("[x]" if check.ok else "[ ]")
            add(f"    {mark} {check.label}{': ' + check.detail if check.detail else ''}")
    # Every value above comes from the BOM, which anyone may have written.
    return "\n".join(escape_text(line) for line in out) + "\n"


def _count(n: int, singular: str, plural: str | None = None) -> str:
    return f"{n} {singular if n == 1 else plural or singular + 's'}"


def _rank(severity: str) -> int:
    return SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else len(SEVERITY_ORDER)
