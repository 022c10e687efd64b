"""The gate's verdicts: one typed result per check, a report, and the exit code it maps to."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class Status(str, enum.Enum):
    PASS = "pass"  # noqa: S105 - a verdict, not a password
    #: Passed, with something a person should know (e.g. unsigned extra files allowed).
    WARN = "warn"
    FAIL = "fail"
    #: Not asked for by the policy (or not applicable to this input).
    SKIP = "skip"
    #: Could not be evaluated because a check it depends on failed.
    BLOCKED = "blocked"


class FailureClass(enum.IntEnum):
    """What kind of "no" it is; the value is the exit code, most fundamental first."""

    LAYOUT = 10
    DOWNLOAD = 11
    SIGNATURE = 12
    INTEGRITY = 13
    UNSAFE_CONTENT = 14
    FORMAT = 15
    LICENSE = 16
    BOM = 17
    REMOTE_CODE = 18

    @property
    def meaning(self) -> str:
        return _MEANINGS[self]

    @property
    def slug(self) -> str:
        """``unsafe-content``: the name used in JSON and SARIF rule ids."""
        return self.name.lower().replace("_", "-")


_MEANINGS = {
    FailureClass.LAYOUT: "the model cannot be read safely (links escaping it, special files)",
    FailureClass.DOWNLOAD: "a Hugging Face cache blob does not match the digest it is named by",
    FailureClass.SIGNATURE: "no valid signature from an allowed signer",
    FailureClass.INTEGRITY: "the files differ from what was signed (missing, extra or modified)",
    FailureClass.UNSAFE_CONTENT: "content that runs code on load, or a file that was not scanned",
    FailureClass.FORMAT: "a file format the policy does not allow (e.g. pickle)",
    FailureClass.LICENSE: "a licence or openness class not allowed for the declared use",
    FailureClass.BOM: "the AI-BOM is missing, invalid, or does not describe these files",
    FailureClass.REMOTE_CODE: "the model ships code that would run with trust_remote_code",
}


@dataclass(frozen=True)
class CheckResult:
    """One check's verdict with the evidence behind it and, on failure, what to do next."""

    check: str
    status: Status
    summary: str
    evidence: tuple[str, ...] = ()
    remedy: str | None = None
    failure: FailureClass | None = None
    #: Per-file problems for SARIF: (resource name, message).
    locations: tuple[tuple[str, str], ...] = ()

    @property
    def failed(self) -> bool:
        return self.status is Status.FAIL

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "check": self.check,
            "status": self.status.value,
            "summary": self.summary,
            "evidence": list(self.evidence),
        }
        if self.remedy:
            out["remedy"] = self.remedy
        if self.failure is not None:
            out["failure_class"] = self.failure.slug
            out["exit_code"] = int(self.failure)
        if self.locations:
            out["files"] = [{"file": name, "problem": text} for name, text in self.locations]
        return out


@dataclass(frozen=True)
class GateReport:
    """Everything the gate found about one model under one policy."""

    model: Path
    policy: str
    input_kind: str
    checks: tuple[CheckResult, ...]
    seconds: float = 0.0
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return not any(c.failed for c in self.checks)

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if c.failed)

    @property
    def exit_code(self) -> int:
        """0 when every check passed, else the most fundamental failure class."""
        classes = [c.failure for c in self.failures if c.failure is not None]
        return int(min(classes)) if classes else 0

    def get(self, check: str) -> CheckResult:
        for result in self.checks:
            if result.check == check:
                return result
        raise KeyError(check)

    def to_json(self) -> dict[str, Any]:
        return {
            "model": str(self.model),
            "policy": self.policy,
            "input": self.input_kind,
            "verdict": "pass" if self.passed else "fail",
            "exit_code": self.exit_code,
            "checks": [c.to_json() for c in self.checks],
            "facts": self.facts,
            "seconds": round(self.seconds, 6),
        }
