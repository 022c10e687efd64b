"""Turn what a pickle would do (a picklevm result) into graded findings."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from supplychain.formats.torch import legacy_module_class
from supplychain.picklevm import Call, Global, Outcome, PickleResult
from supplychain.scanning.policy import Policy
from supplychain.scanning.results import Finding, Severity

#: Rule ids (stable: SARIF and the gate refer to them).
RULE_GADGET = "pickle.gadget"
RULE_UNRESOLVED = "pickle.unresolved-callable"
RULE_UNLISTED = "pickle.unlisted-global"
RULE_LIBRARY = "pickle.library-object"
RULE_MUTATION = "pickle.mutates-imported-object"
RULE_FRAME = "pickle.frame-differential"
RULE_INVALID = "pickle.invalid-stream"
RULE_OUT_OF_BAND = "pickle.out-of-band-buffer"
RULE_SAFE = "pickle.safe-globals"

_ACTION = {
    Severity.CRITICAL: RULE_GADGET,
    Severity.HIGH: RULE_UNLISTED,
    Severity.MEDIUM: RULE_LIBRARY,
}


@dataclass(frozen=True)
class Analysis:
    findings: tuple[Finding, ...]
    #: Why the stream could not be analysed to its end (a limit), or None.
    incomplete: str | None


def analyse(
    result: PickleResult, policy: Policy, location: str, *, base: int = 0, probe: bool = False
) -> Analysis:
    """Findings for one parsed stream; offsets are shifted by ``base``.

    ``probe`` is for files that are not known to be pickles: only calls and
    critical imports count, so text that happens to parse as a GLOBAL line
    is not reported.
    """
    findings: list[Finding] = []
    called = {id(legacy_module_class(c.callee) or c.callee) for c in result.calls}
    findings.extend(_global_findings(result.globals, called, policy, location, base, probe))
    findings.extend(_unresolved_calls(result.calls, location, base))
    for mutation in result.mutations:
        findings.append(
            Finding(
                RULE_MUTATION,
                Severity.CRITICAL,
                f"{mutation.opcode} changes the imported object {_name(mutation.target)} in place "
                "(attribute or item injection into a module-level object)",
                location,
                base + mutation.offset,
                mutation.target.qualified,
            )
        )
    for anomaly in result.anomalies:
        if anomaly.kind.startswith("frame"):
            severity = Severity.HIGH if anomaly.kind == "frame-trailing" else Severity.CRITICAL
            findings.append(
                Finding(RULE_FRAME, severity, anomaly.message, location, base + anomaly.offset)
            )
        elif anomaly.kind == "out-of-band":
            findings.append(
                Finding(
                    RULE_OUT_OF_BAND,
                    Severity.MEDIUM,
                    anomaly.message,
                    location,
                    base + anomaly.offset,
                )
            )
    incomplete = None
    if result.outcome is Outcome.LIMIT:
        incomplete = f"analysis stopped at a limit: {result.error.message if result.error else ''}"
    elif result.outcome is not Outcome.COMPLETE and result.opcodes > 1 and not probe:
        error = result.error
        assert error is not None
        findings.append(
            Finding(
                RULE_INVALID,
                Severity.MEDIUM,
                f"loading raises at offset {base + error.offset} ({error.message}); everything "
                "before that point runs first",
                location,
                base + error.offset,
            )
        )
    return Analysis(tuple(findings), incomplete)


def _name(node: Global) -> str:
    return node.qualified or f"<unresolved: {node.unresolved}>"


def _global_findings(
    globals_: Iterable[Global],
    called: set[int],
    policy: Policy,
    location: str,
    base: int,
    probe: bool,
) -> list[Finding]:
    findings: list[Finding] = []
    seen: set[tuple[str | None, bool]] = set()
    for node in globals_:
        verdict = policy.grade(node)
        if node.module is None:
            continue  # reported as an unresolved callable or reference below
        if verdict.severity is Severity.INFO:
            continue
        is_called = id(node) in called
        if probe and not is_called and verdict.severity is not Severity.CRITICAL:
            continue
        key = (node.qualified, is_called)
        if key in seen:
            continue
        seen.add(key)
        how = "calls" if is_called else "imports"
        spelled = ""
        if node.written and node.written != (node.module, node.name) and node.written[1]:
            spelled = f" (written as {node.written[0]} {node.written[1]})"
        elif node.written and not node.written[1]:
            spelled = f" (through {node.written[0]})"
        findings.append(
            Finding(
                _ACTION[verdict.severity],
                verdict.severity,
                f"{how} {node.qualified}{spelled}: {verdict.reason}",
                location,
                base + node.offset,
                node.qualified,
            )
        )
    for node in globals_:
        if node.module is None:
            findings.append(
                Finding(
                    RULE_UNRESOLVED,
                    Severity.CRITICAL,
                    f"{node.opcode} imports a name that cannot be known without running code: "
                    f"{node.unresolved}",
                    location,
                    base + node.offset,
                )
            )
    return findings


def _unresolved_calls(calls: Iterable[Call], location: str, base: int) -> list[Finding]:
    findings = []
    for call in calls:
        if legacy_module_class(call.callee) is not None:
            continue  # the class is graded as the Global it names
        if call.target is None and not (
            isinstance(call.callee, Global) and call.callee.module is None
        ):
            findings.append(
                Finding(
                    RULE_UNRESOLVED,
                    Severity.CRITICAL,
                    f"{call.kind.value} calls something that cannot be resolved statically: "
                    f"{call.unresolved_reason()}",
                    location,
                    base + call.offset,
                )
            )
    return findings
