"""Gate check: the AI-BOM is present, strictly valid, and describes exactly these files."""

from __future__ import annotations

import os
from pathlib import Path

from supplychain.errors import SupplychainError
from supplychain.gate.evidence import Evidence
from supplychain.gate.report import CheckResult, FailureClass, Status
from supplychain.model.tree import SINGLE_FILE_NAME
from supplychain.policy import BomPolicy

BOM = "bom"


def check_bom(policy: BomPolicy, path: Path | None, evidence: Evidence) -> CheckResult:
    from supplychain.bom import read_bom

    if path is None or not path.is_file():
        if not policy.required:
            return CheckResult(BOM, Status.SKIP, f"no AI-BOM at {path} (optional)")
        return _fail(
            f"no AI-BOM at {path}",
            (),
            "generate one with `supplychain bom MODEL -o MODEL/bom.cdx.json` before "
            "signing, or point --bom at it",
        )
    try:
        view, problems = read_bom(path)
    except SupplychainError as exc:
        return _fail(
            f"unreadable AI-BOM: {exc.problem}",
            (f"bom {path}",),
            "regenerate the BOM with `supplychain bom`",
        )
    if problems:
        return _fail(
            "the AI-BOM is not valid CycloneDX",
            (f"bom {path}", *problems[:10]),
            "regenerate the BOM with `supplychain bom` (it strict-validates its output)",
        )
    facts = (f"bom {path} (CycloneDX {view.spec_version})",)
    if not policy.verify_hashes:
        return CheckResult(BOM, Status.PASS, "valid AI-BOM (hashes not compared)", facts)
    own = _own_name(path, evidence)
    listed = {f.name: f.sha256 for f in view.files if f.name != own}
    actual = {name: digest.hex() for name, digest in evidence.digests.items() if name != own}
    if evidence.tree.is_single_file:
        actual = {evidence.tree.name if n == SINGLE_FILE_NAME else n: d for n, d in actual.items()}
    missing = sorted(set(listed) - set(actual))
    unlisted = sorted(set(actual) - set(listed))
    differ = sorted(n for n in set(listed) & set(actual) if (listed[n] or "").lower() != actual[n])
    if missing or unlisted or differ:
        lines = [
            *(f"listed in the BOM but not on disk: {n}" for n in missing),
            *(f"on disk but not in the BOM: {n}" for n in unlisted),
            *(f"SHA-256 differs from the BOM: {n}" for n in differ),
        ]
        return _fail(
            "the AI-BOM does not describe these files",
            (*facts, *lines),
            "regenerate the BOM from the exact files being released (and re-sign), or find "
            "out why the files changed after the BOM was written",
            locations=tuple((n, "hash differs from the AI-BOM") for n in differ)
            + tuple((n, "not listed in the AI-BOM") for n in unlisted),
        )
    return CheckResult(
        BOM, Status.PASS, f"valid AI-BOM; its {len(listed)} file hashes match", facts
    )


def _own_name(path: Path, evidence: Evidence) -> str | None:
    """The BOM's own resource name when it lives inside the model (it cannot hash itself)."""
    root = evidence.tree.root
    try:
        return Path(os.path.abspath(path)).relative_to(root).as_posix()
    except ValueError:
        return None


def _fail(
    summary: str,
    evidence: tuple[str, ...],
    remedy: str,
    locations: tuple[tuple[str, str], ...] = (),
) -> CheckResult:
    return CheckResult(
        BOM,
        Status.FAIL,
        summary,
        evidence,
        remedy=remedy,
        failure=FailureClass.BOM,
        locations=locations,
    )
