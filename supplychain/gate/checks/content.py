"""Gate checks on what the files contain: download integrity, safety, formats, remote code."""

from __future__ import annotations

from typing import TYPE_CHECKING

from supplychain.formats.sniff import Format
from supplychain.gate.evidence import Evidence
from supplychain.gate.report import CheckResult, FailureClass, Status
from supplychain.policy import FormatPolicy, RemoteCodePolicy, ScanPolicy
from supplychain.severity import Severity

if TYPE_CHECKING:
    from supplychain.scanning.results import FileResult

DOWNLOAD = "download"
SAFETY = "safety"
FORMATS = "formats"
REMOTE_CODE = "remote-code"


def check_download(evidence: Evidence) -> CheckResult:
    """Hugging Face cache blobs hold exactly the content their names (digests) promise."""
    from supplychain.model.hfcache import check_blobs

    checks = check_blobs(evidence.tree, evidence.digests)
    bad = [c for c in checks if c.ok is False]
    verified = sum(1 for c in checks if c.ok)
    unnamed = [c.name for c in checks if c.ok is None]
    if bad:
        return CheckResult(
            DOWNLOAD,
            Status.FAIL,
            f"{len(bad)} cache blob(s) do not match the digest they are named by",
            tuple(c.problem or c.name for c in bad),
            remedy="delete the blobs named above from the cache and download the model again "
            "(e.g. `huggingface-cli download --force-download`)",
            failure=FailureClass.DOWNLOAD,
            locations=tuple((c.name, f"blob {c.blob} content is {c.kind} {c.actual}") for c in bad),
        )
    notes = (f"files not named by a digest: {', '.join(unnamed)}",) if unnamed else ()
    return CheckResult(
        DOWNLOAD,
        Status.WARN if unnamed else Status.PASS,
        f"{verified} cache blob(s) match their names (SHA-256 for LFS, Git SHA-1 otherwise)",
        notes,
    )


def check_safety(policy: ScanPolicy, evidence: Evidence) -> CheckResult:
    """No finding at or above the policy's threshold, and every file actually scanned."""
    from supplychain.scanning import Status as ScanStatus

    threshold = Severity(policy.fail_on)
    results = evidence.scan
    flagged = [(r, f) for r in results for f in r.findings if f.severity.rank >= threshold.rank]
    unscanned = [r for r in results if r.status is ScanStatus.COULD_NOT_SCAN]
    locations = (
        *((r.resource, f"{f.severity.value}: {f.message}") for r, f in flagged),
        *((r.resource, f"could not scan: {r.reason}") for r in unscanned),
    )
    if flagged or (unscanned and policy.required):
        evidence_lines = [
            f"{r.resource}: {f.severity.value} {f.rule}: {f.message}" for r, f in flagged
        ]
        evidence_lines += [f"{r.resource}: could not scan ({r.reason})" for r in unscanned]
        parts = []
        if flagged:
            parts.append(f"{len(flagged)} finding(s) at or above {threshold.value}")
        if unscanned:
            parts.append(f"{len(unscanned)} file(s) could not be scanned")
        return CheckResult(
            SAFETY,
            Status.FAIL,
            " and ".join(parts),
            tuple(evidence_lines),
            remedy="do not load these files; convert checkpoints to safetensors with "
            "`supplychain convert` (which refuses code), or review the findings with "
            "`supplychain scan` and allowlist your own classes",
            failure=FailureClass.UNSAFE_CONTENT,
            locations=locations,
        )
    below = sum(1 for r in results for f in r.findings if f.severity.rank > Severity.INFO.rank)
    note = (f"{below} finding(s) below the {threshold.value} threshold",) if below else ()
    return CheckResult(
        SAFETY,
        Status.PASS,
        f"{len(results)} file(s) scanned, nothing at or above {threshold.value}",
        note,
    )


def check_formats(policy: FormatPolicy, evidence: Evidence) -> CheckResult:
    """Only the formats the policy allows, and nothing whose format the scan could not establish."""
    problems: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    for result in evidence.scan:
        fmt = result.format
        seen[fmt] = seen.get(fmt, 0) + 1
        problem = _format_problem(policy, result)
        if problem is not None:
            problems.append((result.resource, problem))
    mix = ", ".join(f"{n} {fmt}" for fmt, n in sorted(seen.items()))
    if problems:
        return CheckResult(
            FORMATS,
            Status.FAIL,
            f"{len(problems)} file(s) in formats the policy does not allow",
            tuple(f"{name}: {why}" for name, why in problems),
            remedy="convert pickle checkpoints with `supplychain convert` and remove the "
            "originals, or publish the model in an allowed format; remove files no reader "
            "identifies, or set formats.allow_unknown in the policy after reviewing them",
            failure=FailureClass.FORMAT,
            locations=tuple(problems),
        )
    return CheckResult(FORMATS, Status.PASS, "every file is in an allowed format", (mix,))


def _format_problem(policy: FormatPolicy, result: FileResult) -> str | None:
    """Why the policy refuses this file's format, or None. Unread means unproven, never allowed."""
    from supplychain.scanning import Status as ScanStatus

    fmt = result.format
    kind = _format(fmt)
    if not policy.allow_pickle and kind.is_pickle_based:
        return f"{fmt} file (pickles run code on load)"
    if not policy.allow_pickle and result.pickles:
        return f"{fmt} file containing pickle data"
    if not policy.allow_pickle and result.status is ScanStatus.COULD_NOT_SCAN:
        return f"{fmt} file not read completely ({result.reason}): it may hold pickle data"
    if fmt in policy.deny:
        return f"format {fmt} is denied by the policy"
    if not policy.allow_unknown and kind is Format.UNKNOWN:
        return (
            "no reader identifies this binary file (unknown format), and the policy refuses those"
        )
    if policy.allow and kind.is_weights and fmt not in policy.allow:
        return f"format {fmt} is not in the policy's allow list"
    return None


def check_remote_code(policy: RemoteCodePolicy, evidence: Evidence) -> CheckResult:
    code = [f.name for f in evidence.bom.files if f.remote_code]
    if code and not policy.allowed:
        return CheckResult(
            REMOTE_CODE,
            Status.FAIL,
            f"the model ships {len(code)} code file(s) that trust_remote_code would run",
            tuple(code),
            remedy="load the model with a library implementation of its architecture and "
            "without trust_remote_code, or review the code and allow it in the policy",
            failure=FailureClass.REMOTE_CODE,
            locations=tuple((name, "custom modelling code (remote code)") for name in code),
        )
    if code:
        return CheckResult(
            REMOTE_CODE, Status.WARN, "remote code present and allowed by the policy", tuple(code)
        )
    return CheckResult(REMOTE_CODE, Status.PASS, "no custom modelling code")


def _format(value: str) -> Format:
    try:
        return Format(value)
    except ValueError:
        return Format.UNKNOWN
