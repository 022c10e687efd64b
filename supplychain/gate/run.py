"""Run every check a policy asks for, in dependency order, and collect one report.

Order and dependencies: ``layout`` (the model can be walked safely) gates
everything; ``download`` (cache blobs match their names) and ``signature``
gate ``integrity``; ``integrity`` and ``download`` gate the BOM's hash
comparison, because a changed byte is one fact, reported once, by the check
closest to its cause. Safety, formats, licences and remote code need only a
readable model. A check that cannot run because another failed is BLOCKED,
not failed.
"""

from __future__ import annotations

import os
import time

from supplychain._internal.safeopen import os_error
from supplychain.errors import ModelTreeError
from supplychain.gate.checks.bom import BOM, check_bom
from supplychain.gate.checks.content import (
    DOWNLOAD,
    FORMATS,
    REMOTE_CODE,
    SAFETY,
    check_download,
    check_formats,
    check_remote_code,
    check_safety,
)
from supplychain.gate.checks.licenses import LICENSES, check_licenses
from supplychain.gate.checks.signature import (
    INTEGRITY,
    SIGNATURE,
    check_integrity,
    check_signature,
)
from supplychain.gate.evidence import Evidence, ModelInput, walk
from supplychain.gate.report import CheckResult, FailureClass, GateReport, Status
from supplychain.policy import Policy

LAYOUT = "layout"
ORDER = (LAYOUT, DOWNLOAD, SIGNATURE, INTEGRITY, SAFETY, FORMATS, LICENSES, BOM, REMOTE_CODE)


def check_model(
    model: str | os.PathLike[str],
    policy: Policy,
    *,
    signature: str | os.PathLike[str] | None = None,
    bom: str | os.PathLike[str] | None = None,
    progress: bool | None = None,
    workers: int | None = None,
) -> GateReport:
    """Evaluate ``model`` against ``policy``; never loads, imports or executes model content.

    ``signature`` and ``bom`` override where the policy says those files are
    (relative to the model directory by default). A path the system cannot
    even look up (a name too long, a link loop) is an :class:`InputError`.
    """
    try:
        return _check_model(model, policy, signature, bom, progress, workers)
    except OSError as exc:
        raise os_error(exc, exc.filename, "path") from None


def _check_model(
    model: str | os.PathLike[str],
    policy: Policy,
    signature: str | os.PathLike[str] | None,
    bom: str | os.PathLike[str] | None,
    progress: bool | None,
    workers: int | None,
) -> GateReport:
    started = time.perf_counter()
    source = _policy_label(policy)
    target = ModelInput.resolve(model)
    sig_path = target.signature_path(policy.signature.file if policy.signature else None, signature)
    bom_path = target.bom_path(policy.bom.file if policy.bom else None, bom)
    results: dict[str, CheckResult] = {}
    requested = _requested(policy, target)

    try:
        tree = walk(target, exclude=(sig_path,))
    except ModelTreeError as exc:
        results[LAYOUT] = CheckResult(
            LAYOUT,
            Status.FAIL,
            exc.problem,
            (str(exc.path),) if exc.path else (),
            remedy=exc.hint or "remove the offending entry and get a clean copy of the model",
            failure=FailureClass.LAYOUT,
            locations=((str(exc.path), exc.problem),) if exc.path else (),
        )
        return _report(target, source, results, requested, started, {})
    results[LAYOUT] = CheckResult(
        LAYOUT,
        Status.PASS,
        f"{len(tree)} regular files, {target.kind}",
        (f"links followed only into {target.snapshot.blobs}",) if target.snapshot else (),
    )
    scan_policy = None
    if policy.scan is not None and policy.scan.allowlist is not None:
        from supplychain.scanning import load_allowlist

        scan_policy = load_allowlist(policy.scan.allowlist)
    evidence = Evidence(
        target,
        tree,
        excluded=(sig_path,),
        scan_policy=scan_policy,
        progress=progress,
        workers=workers,
    )

    if target.snapshot is not None and policy.hf_cache.verify_blobs:
        results[DOWNLOAD] = check_download(evidence)
    download_ok = not _failed(results, DOWNLOAD)

    if policy.signature is not None:
        outcome = check_signature(policy.signature, sig_path)
        results[SIGNATURE] = outcome.result
        if outcome.manifest is None:
            results[INTEGRITY] = _blocked(INTEGRITY, SIGNATURE)
        elif not download_ok:
            results[INTEGRITY] = _blocked(INTEGRITY, DOWNLOAD)
        else:
            results[INTEGRITY] = check_integrity(policy.signature, outcome.manifest, evidence)

    if policy.scan is not None:
        results[SAFETY] = check_safety(policy.scan, evidence)
    if policy.formats is not None:
        results[FORMATS] = check_formats(policy.formats, evidence)
    if policy.licenses is not None:
        results[LICENSES] = check_licenses(policy.licenses, policy.use, evidence)
    if policy.bom is not None:
        cause = next((c for c in (DOWNLOAD, INTEGRITY) if _failed(results, c)), None)
        results[BOM] = (
            _blocked(BOM, cause)
            if cause and policy.bom.verify_hashes
            else check_bom(policy.bom, bom_path, evidence)
        )
    if policy.remote_code is not None:
        results[REMOTE_CODE] = check_remote_code(policy.remote_code, evidence)

    facts = {
        "files": len(tree),
        "bytes": tree.total_size,
        "root_digest": f"sha256:{evidence.sha256.root_digest_hex}",
        "signature": str(sig_path) if policy.signature else None,
        "bom": str(bom_path) if policy.bom else None,
    }
    if target.snapshot is not None:
        facts["hf_repo"] = target.snapshot.repo_id
        facts["hf_revision"] = target.snapshot.revision
    return _report(target, source, results, requested, started, facts)


def _requested(policy: Policy, target: ModelInput) -> set[str]:
    wanted = {LAYOUT}
    if target.snapshot is not None and policy.hf_cache.verify_blobs:
        wanted.add(DOWNLOAD)
    if policy.signature is not None:
        wanted |= {SIGNATURE, INTEGRITY}
    sections = {
        SAFETY: policy.scan,
        FORMATS: policy.formats,
        LICENSES: policy.licenses,
        BOM: policy.bom,
        REMOTE_CODE: policy.remote_code,
    }
    wanted |= {name for name, section in sections.items() if section is not None}
    return wanted


def _report(
    target: ModelInput,
    source: str,
    results: dict[str, CheckResult],
    requested: set[str],
    started: float,
    facts: dict[str, object],
) -> GateReport:
    checks = []
    for name in ORDER:
        if name in results:
            checks.append(results[name])
        elif name in requested:
            checks.append(_blocked(name, LAYOUT))
    return GateReport(
        target.path, source, target.kind, tuple(checks), time.perf_counter() - started, dict(facts)
    )


def _failed(results: dict[str, CheckResult], name: str) -> bool:
    return name in results and results[name].failed


def _blocked(check: str, cause: str) -> CheckResult:
    return CheckResult(check, Status.BLOCKED, f"not evaluated: the {cause} check failed")


def _policy_label(policy: Policy) -> str:
    if policy.name:
        return policy.name
    return str(policy.source) if policy.source else "(inline policy)"
