"""Render a scan report: a terminal table and SARIF 2.1.0 (the rule catalogue lives here)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from supplychain._version import __version__
from supplychain.output.sarif import SarifResult, SarifRule, document
from supplychain.scanning.results import FileResult, ScanReport, Severity, Status

if TYPE_CHECKING:
    from supplychain.bom.findings import ScanReport as BomScanReport

#: rule id -> (default severity, one-line description)
RULES: dict[str, tuple[str, str]] = {
    "pickle.gadget": (
        "critical",
        "The pickle imports or calls a known code-execution, import or file/network gadget.",
    ),
    "pickle.unresolved-callable": (
        "critical",
        "The pickle calls or imports something whose name "
        "is computed at load time, so it cannot be checked.",
    ),
    "pickle.unlisted-global": (
        "high",
        "The pickle imports or calls a global that is not on the "
        "safe list (unknown means dangerous).",
    ),
    "pickle.library-object": (
        "medium",
        "The pickle rebuilds a library object that runs its own "
        "code on load: not a pure weights file.",
    ),
    "pickle.mutates-imported-object": (
        "critical",
        "The pickle changes an imported object in place (attribute or item injection).",
    ),
    "pickle.frame-differential": (
        "critical",
        "FRAME boundaries let different unpicklers run different opcodes from the same bytes.",
    ),
    "pickle.invalid-stream": (
        "medium",
        "Loading raises partway; everything before the error runs first.",
    ),
    "pickle.out-of-band-buffer": ("medium", "The pickle refers to out-of-band buffers."),
    "pickle.embedded-pickle": ("high", "A string inside the pickle is itself a pickle."),
    "file.extension-mismatch": (
        "high",
        "The file's extension claims a different format than its content.",
    ),
    "file.loads-as-pickle": (
        "high",
        "Content of another format is also a pickle that pickle.load would run.",
    ),
    "container.zip-inconsistent": (
        "high",
        "Zip headers disagree (names, CRC-32, flags): "
        "loaders and scanners may read different bytes.",
    ),
    "container.malformed": ("medium", "The container is malformed."),
    "container.trailing-data": ("medium", "Bytes that belong to no part of the format."),
    "keras.lambda-layer": ("high", "A Keras Lambda layer carries Python code."),
    "onnx.external-data-escape": (
        "high",
        "An ONNX tensor's external data lies outside the model's folder (absolute path or '..').",
    ),
    "template.code-execution": (
        "high",
        "A chat template reaches Python internals or runs "
        "commands when rendered outside a sandbox.",
    ),
    "template.loads-other-files": (
        "medium",
        "A chat template imports or includes other templates.",
    ),
    "numpy.object-array": ("medium", "A numpy object array (stored as a pickle)."),
    "torch.torchscript-code": ("medium", "A TorchScript archive carries code."),
    "safetensors.invalid-header": ("medium", "The safetensors header breaks the format's rules."),
    "scan.could-not-scan": (
        "high",
        "The file could not be scanned completely; it is not known to be clean.",
    ),
}

INFORMATION_URI = "https://github.com/supplychain-dev/supplychain"


def _uri(result: FileResult) -> str:
    path = Path(result.path)
    with contextlib.suppress(ValueError):
        path = path.resolve().relative_to(Path.cwd().resolve())
    return path.as_posix() if not path.is_absolute() else path.as_uri()


def to_sarif(report: ScanReport) -> dict[str, Any]:
    rules = [SarifRule(rule, text, severity=severity) for rule, (severity, text) in RULES.items()]
    results = []
    for file_result in report.files:
        uri = _uri(file_result)
        for finding in file_result.findings:
            where = f" [{finding.location}]" if finding.location else ""
            properties: dict[str, Any] = {"format": file_result.format}
            if finding.symbol:
                properties["symbol"] = finding.symbol
            if finding.location:
                properties["location"] = finding.location
            results.append(
                SarifResult(
                    finding.rule,
                    finding.severity.value,
                    finding.message + where,
                    uri,
                    finding.offset if not finding.location else None,
                    properties,
                )
            )
        if file_result.status is Status.COULD_NOT_SCAN:
            results.append(
                SarifResult(
                    "scan.could-not-scan", "high", f"could not scan: {file_result.reason}", uri
                )
            )
    notifications = [f"{r.path}: could not scan: {r.reason}" for r in report.could_not_scan]
    return document(
        tool="supplychain",
        version=__version__,
        information_uri=INFORMATION_URI,
        rules=rules,
        results=results,
        notifications=notifications,
    )


_LABEL = {
    Severity.CRITICAL: "CRITICAL",
    Severity.HIGH: "HIGH",
    Severity.MEDIUM: "medium",
    Severity.LOW: "low",
    Severity.INFO: "info",
}


def file_verdict(result: FileResult) -> str:
    if result.status is Status.COULD_NOT_SCAN:
        return "COULD NOT SCAN"
    top = result.max_severity
    if top is None or top.rank <= Severity.INFO.rank:
        return "clean"
    return _LABEL[top]


def render_text(report: ScanReport, *, width: int = 100) -> list[str]:
    """Lines of the terminal table: one row per file, its findings indented below."""
    names = [r.name for r in report.files] or ["FILE"]
    name_width = min(max(len(n) for n in [*names, "FILE"]), 48)
    lines = [f"{'FILE':<{name_width}}  {'FORMAT':<14}  RESULT"]
    for result in report.files:
        name = (
            result.name if len(result.name) <= name_width else "…" + result.name[-name_width + 1 :]
        )
        lines.append(f"{name:<{name_width}}  {result.format:<14}  {file_verdict(result)}")
        for finding in result.findings:
            where = finding.location or ""
            if finding.offset is not None:
                where += f"@{finding.offset}"
            prefix = f"    {_LABEL[finding.severity]:<8}  {finding.rule}"
            if where:
                prefix += f"  {where}"
            lines.append(f"{prefix}\n        {finding.message}")
        if result.status is Status.COULD_NOT_SCAN:
            lines.append(f"    could not scan: {result.reason}")
    counts = {s: 0 for s in Severity}
    for result in report.files:
        for finding in result.findings:
            counts[finding.severity] += 1
    summary = ", ".join(
        f"{counts[s]} {s.value}" for s in sorted(Severity, key=lambda s: -s.rank) if counts[s]
    )
    verdict = "FAIL" if report.failed else "COULD NOT SCAN" if report.could_not_scan else "pass"
    lines.append("")
    lines.append(
        f"{len(report.files)} files, findings: {summary or 'none'}; "
        f"{len(report.could_not_scan)} could not be scanned; "
        f"--fail-on {report.fail_on.value}: {verdict} ({report.seconds:.2f} s)"
    )
    return lines


def to_bom_scan_report(report: ScanReport) -> BomScanReport:
    """The scan as the AI-BOM builder takes it (``build_bom(..., scan=...)``), for one model.

    Files that could not be scanned are left out of ``files`` (so the BOM does
    not count them as covered) and carry a ``scan.could-not-scan`` finding.
    """
    from supplychain.bom.findings import CWE_DESERIALIZATION, ScanFinding
    from supplychain.bom.findings import ScanReport as BomReport

    findings = []
    for result in report.files:
        for finding in result.findings:
            where = f" [{finding.location}]" if finding.location else ""
            cwe = CWE_DESERIALIZATION if finding.rule.startswith(("pickle.", "numpy.")) else None
            findings.append(
                ScanFinding(
                    result.resource, finding.severity, finding.rule, finding.message + where, cwe
                )
            )
        if result.status is Status.COULD_NOT_SCAN:
            findings.append(
                ScanFinding(
                    result.resource,
                    Severity.HIGH,
                    "scan.could-not-scan",
                    f"could not scan: {result.reason}",
                )
            )
    covered = tuple(r.resource for r in report.files if r.status is Status.SCANNED)
    return BomReport("supplychain", __version__, tuple(findings), covered)
