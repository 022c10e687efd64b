"""What a scan reports: severities, findings, per-file results and the whole scan.

These frozen types are the scanner's contract with its consumers (the CLI
renderers, the deployment gate, the AI-BOM): a :class:`FileResult` per file,
with its format, its :class:`Status` (``could-not-scan`` is never clean) and
its :class:`Finding` list (severity, rule id, message, location).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from supplychain.severity import Severity

__all__ = [
    "EXIT_COULD_NOT_SCAN",
    "FileResult",
    "Finding",
    "ScanReport",
    "Severity",
    "Status",
    "worst",
]

#: Exit code of ``supplychain scan`` when some file could not be scanned (and nothing failed).
EXIT_COULD_NOT_SCAN = 3


def worst(severities: Iterable[Severity]) -> Severity | None:
    """The most severe of ``severities`` (None for none)."""
    return max(severities, key=lambda s: s.rank, default=None)


class Status(str, enum.Enum):
    #: Every byte that a loader could execute was analysed.
    SCANNED = "scanned"
    #: Something could not be analysed (unreadable, unsupported, truncated, a limit hit).
    #: Findings found so far are still listed; the file is never reported clean.
    COULD_NOT_SCAN = "could-not-scan"


@dataclass(frozen=True)
class Finding:
    """One thing a scan found, with where it is.

    ``location`` names the place inside the file: a container member
    (``archive/data.pkl``), nested levels joined with ``!``, and ``offset``
    the byte offset inside that member's pickle stream when there is one.
    """

    rule: str
    severity: Severity
    message: str
    location: str = ""
    offset: int | None = None
    #: The global involved, as ``module.name``, when there is one.
    symbol: str | None = None

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "rule": self.rule,
            "severity": self.severity.value,
            "message": self.message,
            "location": self.location,
        }
        if self.offset is not None:
            document["offset"] = self.offset
        if self.symbol is not None:
            document["symbol"] = self.symbol
        return document


@dataclass(frozen=True)
class FileResult:
    """The scan of one file."""

    #: Resource name inside the model (``"."`` for a single-file model).
    name: str
    #: Path the file was read from.
    path: str
    #: What the content is (a :class:`~supplychain.formats.sniff.Format` value).
    format: str
    size: int
    status: Status
    findings: tuple[Finding, ...] = ()
    #: Why the file could not be (completely) scanned.
    reason: str | None = None
    #: Pickle streams analysed in this file (0 for formats without pickles).
    pickles: int = 0
    seconds: float = 0.0
    #: Resource name inside its model (POSIX path from the model root; ``"."`` for a file).
    resource: str = "."

    @property
    def max_severity(self) -> Severity | None:
        return worst(f.severity for f in self.findings)

    @property
    def clean(self) -> bool:
        """Scanned completely, and nothing above info."""
        top = self.max_severity
        return self.status is Status.SCANNED and (top is None or top.rank <= Severity.INFO.rank)

    def to_json(self) -> dict[str, Any]:
        top = self.max_severity
        return {
            "name": self.name,
            "resource": self.resource,
            "path": self.path,
            "format": self.format,
            "size": self.size,
            "status": self.status.value,
            "reason": self.reason,
            "max_severity": top.value if top else None,
            "pickles": self.pickles,
            "seconds": round(self.seconds, 6),
            "findings": [f.to_json() for f in self.findings],
        }


@dataclass(frozen=True)
class ScanReport:
    """The scan of every file given."""

    files: tuple[FileResult, ...]
    fail_on: Severity = Severity.HIGH
    seconds: float = 0.0
    targets: tuple[str, ...] = field(default_factory=tuple)

    @property
    def max_severity(self) -> Severity | None:
        return worst(f for r in self.files if (f := r.max_severity) is not None)

    @property
    def could_not_scan(self) -> tuple[FileResult, ...]:
        return tuple(r for r in self.files if r.status is Status.COULD_NOT_SCAN)

    @property
    def failed(self) -> bool:
        """A finding at or above ``fail_on``."""
        top = self.max_severity
        return top is not None and top.rank >= self.fail_on.rank

    @property
    def exit_code(self) -> int:
        """0 clean, 1 findings at or above ``fail_on``, 3 some file could not be scanned."""
        if self.failed:
            return 1
        if self.could_not_scan:
            return EXIT_COULD_NOT_SCAN
        return 0

    def to_json(self) -> dict[str, Any]:
        top = self.max_severity
        counts = {s.value: 0 for s in Severity}
        for result in self.files:
            for finding in result.findings:
                counts[finding.severity.value] += 1
        return {
            "targets": list(self.targets),
            "fail_on": self.fail_on.value,
            "max_severity": top.value if top else None,
            "outcome": (
                "fail" if self.failed else "could-not-scan" if self.could_not_scan else "pass"
            ),
            "exit_code": self.exit_code,
            "files_scanned": sum(1 for r in self.files if r.status is Status.SCANNED),
            "files_not_scanned": len(self.could_not_scan),
            "findings_by_severity": counts,
            "seconds": round(self.seconds, 6),
            "files": [r.to_json() for r in self.files],
        }
