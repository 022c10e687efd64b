"""Turn what a pickle would do (a picklevm result) into graded findings.

The loader is the oracle. Where the machine stops but a real unpickler may go
on (it could not tell), everything the rest of the stream imports or calls is
reported at high or above. Only where both CPython unpicklers are known to
raise does the rest stay medium: no loader reaches it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from supplychain.formats.torch import legacy_module_class
from supplychain.picklevm import Call, Global, Outcome, PickleError, PickleResult, TailOp
from supplychain.scanning.policy import Policy
from supplychain.scanning.results import Finding, Severity, worst

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
RULE_CANNOT_FOLLOW = "pickle.cannot-follow"
RULE_UNFOLLOWED = "pickle.unfollowed-code"
RULE_AFTER_ERROR = "pickle.code-after-error"
RULE_DIFFERENTIAL = "pickle.loader-differential"

#: Anomalies where one CPython unpickler goes on and the other raises.
_DIFFERENTIAL_ANOMALIES = ("loaders-differ", "overlong-frame")

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
    findings.extend(_differential_findings(result, location, base))
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
    elif result.outcome is not Outcome.COMPLETE and result.opcodes > 1:
        error = result.error
        assert error is not None
        if not error.certain:
            findings.extend(_unfollowed(result, error, policy, location, base))
            if result.tail_stop is not None:
                incomplete = f"the rest of the stream was not read: {result.tail_stop}"
        elif not probe:
            findings.append(
                Finding(
                    RULE_INVALID,
                    Severity.MEDIUM,
                    f"loading raises at offset {base + error.offset} ({error.message}); "
                    "everything before that point runs first",
                    location,
                    base + error.offset,
                )
            )
            findings.extend(_after_error(result.tail, error, location, base))
    return Analysis(tuple(findings), incomplete)


def _unfollowed(
    result: PickleResult, error: PickleError, policy: Policy, location: str, base: int
) -> list[Finding]:
    """The machine could not tell whether loading raises: assume the loader goes on."""
    where = base + error.offset
    # nothing after it imports or calls anything: a loader that goes on runs no new code
    quiet = not result.tail and result.tail_stop is None
    findings = [
        Finding(
            RULE_CANNOT_FOLLOW,
            Severity.MEDIUM if quiet else Severity.HIGH,
            f"this reader cannot follow the stream at offset {where} ({error.message}) but a "
            f"loader may go on; {len(result.tail)} imports and calls follow",
            location,
            where,
        )
    ]
    for op, count in _group(result.tail):
        target = op.target
        severity = Severity.HIGH
        detail = "a loader that goes on calls whatever its stack holds"
        if target is not None:
            verdict = policy.grade(target)
            severity = worst((severity, verdict.severity)) or severity
            detail = f"imports {_name(target)}: {verdict.reason}"
        findings.append(
            Finding(
                RULE_UNFOLLOWED,
                severity,
                f"{op.opcode} after offset {where}, where a loader would go on: {detail}"
                + (f" ({count} such opcodes)" if count > 1 else ""),
                location,
                base + op.offset,
                target.qualified if target is not None else None,
            )
        )
    return findings


def _after_error(
    tail: tuple[TailOp, ...], error: PickleError, location: str, base: int
) -> list[Finding]:
    """Imports and calls past a point where both CPython unpicklers raise: no loader runs them."""
    findings = []
    for op, count in _group(tail):
        what = f"imports {_name(op.target)}" if op.target is not None else "calls"
        findings.append(
            Finding(
                RULE_AFTER_ERROR,
                Severity.MEDIUM,
                f"{op.opcode} {what} after offset {base + error.offset}, where every CPython "
                "unpickler raises (only a loader that skips the error would run it)"
                + (f" ({count} such opcodes)" if count > 1 else ""),
                location,
                base + op.offset,
                op.target.qualified if op.target is not None else None,
            )
        )
    return findings


def _group(tail: Iterable[TailOp]) -> list[tuple[TailOp, int]]:
    """One entry per (opcode, name): its first occurrence and how many there are."""
    groups: dict[tuple[str, str | None], list[Any]] = {}
    for op in tail:
        target = op.target
        key = (op.opcode, _name(target) if target is not None else None)
        entry = groups.setdefault(key, [op, 0])
        entry[1] += 1
    return [(op, count) for op, count in groups.values()]


def _differential_findings(result: PickleResult, location: str, base: int) -> list[Finding]:
    """One finding per kind of loader differential (no pickler writes these)."""
    findings = []
    seen: set[str] = set()
    for anomaly in result.anomalies:
        if anomaly.kind in _DIFFERENTIAL_ANOMALIES and anomaly.message not in seen:
            seen.add(anomaly.message)
            findings.append(
                Finding(
                    RULE_DIFFERENTIAL,
                    Severity.MEDIUM,
                    anomaly.message,
                    location,
                    base + anomaly.offset,
                )
            )
    return findings


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
