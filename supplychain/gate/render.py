"""Render a gate report: a terminal summary and SARIF 2.1.0 for code scanning."""

from __future__ import annotations

import os
from typing import Any

from supplychain._version import __version__
from supplychain.gate.report import CheckResult, FailureClass, GateReport, Status
from supplychain.output import sarif
from supplychain.output.names import escape_text, quote_name

_MARK = {
    Status.PASS: "PASS",
    Status.WARN: "WARN",
    Status.FAIL: "FAIL",
    Status.SKIP: "SKIP",
    Status.BLOCKED: "BLOCKED",
}
_COLOUR = {
    Status.PASS: "green",
    Status.WARN: "yellow",
    Status.FAIL: "red",
    Status.BLOCKED: "yellow",
}
EVIDENCE_LINES = 8


def text_lines(report: GateReport, *, style: Any = None) -> list[str]:
    """One block per check; ``style(text, colour)`` may colour the status (e.g. click.style).

    Summaries and evidence quote file names taken from the model, the
    signature and the BOM, so every line is escaped before it is printed.
    """
    paint = style or (lambda text, colour: text)
    facts = report.facts
    head = f"policy {report.policy} · {report.input_kind} · {facts.get('files', '?')} files"
    if facts.get("root_digest"):
        head += f" · root {facts['root_digest']}"
    lines = [f"{quote_name(report.model)}: {escape_text(head)}"]
    for check in report.checks:
        mark = _MARK[check.status]
        status = paint(f"{mark:<8}", _COLOUR.get(check.status))
        lines.append(f"  {status} {check.check:<12} {escape_text(check.summary)}")
        shown = check.evidence[:EVIDENCE_LINES]
        lines += [f"  {'':<8} {'':<12} {escape_text(line)}" for line in shown]
        if len(check.evidence) > EVIDENCE_LINES:
            lines.append(
                f"  {'':<8} {'':<12} … and {len(check.evidence) - EVIDENCE_LINES} more (--json)"
            )
        if check.failed and check.remedy:
            lines.append(f"  {'':<8} {'':<12} to fix: {escape_text(check.remedy)}")
    if report.passed:
        lines.append(
            paint("verdict: ALLOWED", "green")
            + f" (every required check passed, {report.seconds:.2f} s)"
        )
    else:
        code = report.exit_code
        failed = len(report.failures)
        lines.append(
            paint("verdict: REFUSED", "red")
            + f" (exit {code}: {FailureClass(code).meaning}; {failed} check(s) failed)"
        )
    return lines


def to_sarif(report: GateReport) -> dict[str, Any]:
    """Failed checks as SARIF results, one per affected file (or one for the model)."""
    rules = [
        sarif.SarifRule(
            f"gate.{c.slug}",
            c.meaning,
            help=f"supplychain check exit code {int(c)}",
            severity="critical" if c <= FailureClass.INTEGRITY else "high",
        )
        for c in FailureClass
    ]
    results: list[sarif.SarifResult] = []
    for check in report.failures:
        assert check.failure is not None
        rule = f"gate.{check.failure.slug}"
        severity = "critical" if check.failure <= FailureClass.INTEGRITY else "high"
        targets = check.locations or ((_model_uri(report), check.summary),)
        for name, problem in targets:
            results.append(
                sarif.SarifResult(
                    rule,
                    severity,
                    f"{check.check}: {problem}"
                    + (f". To fix: {check.remedy}" if check.remedy else ""),
                    _uri(report, name),
                    properties={"check": check.check, "exitCode": int(check.failure)},
                )
            )
    return sarif.document(
        tool="supplychain",
        version=__version__,
        information_uri="https://github.com/supplychain-dev/supplychain",
        rules=rules,
        results=results,
    )


def _model_uri(report: GateReport) -> str:
    return report.model.as_posix()


def _uri(report: GateReport, name: str) -> str:
    if name.startswith("/") or name == _model_uri(report):
        return name
    if report.input_kind == "file":
        return report.model.as_posix()
    return os.path.join(report.model.as_posix(), name)


def describe(check: CheckResult) -> str:
    return f"{check.check}: {check.status.value}: {escape_text(check.summary)}"
