"""The scanner's verdict on a file, applied before anything is converted.

Every source is scanned with the scanner's per-file API first, so a refusal
carries exactly the finding ``supplychain scan`` reports. A finding at high
or above stops the conversion. With ``--drop-non-tensors`` the findings about
imports and calls (and pickles hidden in strings) are set aside: the
converter then drops, unread and unexecuted, every object it does not
interpret, and still refuses any such object on the path to a tensor.
Findings about the container itself (inconsistent zip headers, FRAME tricks,
objects mutated in place, misleading extensions) are never set aside.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from supplychain.conversion.errors import UnsafeCheckpointError
from supplychain.scanning import FileResult, Finding, Severity, Status, scan_file
from supplychain.scanning.pickles import (
    RULE_GADGET,
    RULE_LIBRARY,
    RULE_UNLISTED,
    RULE_UNRESOLVED,
)

RULE_EMBEDDED = "pickle.embedded-pickle"
#: Findings about objects the converter can leave behind (it never resolves or calls them).
DROPPABLE_RULES = frozenset(
    {RULE_GADGET, RULE_UNLISTED, RULE_LIBRARY, RULE_UNRESOLVED, RULE_EMBEDDED}
)
BLOCKING = Severity.HIGH


@dataclass(frozen=True)
class SafetyVerdict:
    scan: FileResult
    #: Findings at or above high that --drop-non-tensors set aside.
    waived: tuple[Finding, ...]

    @property
    def notes(self) -> tuple[Finding, ...]:
        """Findings below the gate (library objects and the like), for the report."""
        return tuple(f for f in self.scan.findings if f.severity.rank < BLOCKING.rank)


def check(path: Path, name: str, *, drop_non_tensors: bool) -> SafetyVerdict:
    """Scan ``path``; raise UnsafeCheckpointError unless conversion may proceed."""
    result = scan_file(path, name=name)
    if result.status is Status.COULD_NOT_SCAN:
        raise UnsafeCheckpointError(
            f"the scanner could not analyse it completely ({result.reason}), so it is not known "
            "to be safe to read",
            path=path,
            findings=result.findings,
            hint="see `supplychain scan` for details",
        )
    # compare ranks: Severity is a str enum, so <, >= would compare the names alphabetically
    blocking = tuple(f for f in result.findings if f.severity.rank >= BLOCKING.rank)
    if not blocking:
        return SafetyVerdict(result, ())
    droppable = all(f.rule in DROPPABLE_RULES for f in blocking)
    if drop_non_tensors and droppable:
        return SafetyVerdict(result, blocking)
    first = blocking[0]
    where = f" at {first.location}" if first.location else ""
    more = f" (and {len(blocking) - 1} more)" if len(blocking) > 1 else ""
    hint = "it would run code if loaded; see `supplychain scan` for every finding" + (
        "; --drop-non-tensors converts only the tensors and drops the rest "
        "(nothing is executed either way)"
        if droppable
        else ""
    )
    raise UnsafeCheckpointError(
        f"refused: {first.severity.value} finding{where}: {first.message} [{first.rule}]{more}",
        path=path,
        findings=blocking,
        hint=hint,
    )
