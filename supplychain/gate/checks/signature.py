"""Gate checks: a valid signature by an allowed signer, and exactly the signed files."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from supplychain.errors import SupplychainError
from supplychain.gate.evidence import Evidence
from supplychain.gate.report import CheckResult, FailureClass, Status
from supplychain.hashing import hash_tree
from supplychain.hashing.manifest import FILES, Manifest
from supplychain.model.tree import GIT_PATHS
from supplychain.policy import SignaturePolicy, SignerSpec

if TYPE_CHECKING:
    from supplychain.signing.integrity import IntegrityReport

SIGNATURE = "signature"
INTEGRITY = "integrity"


@dataclass(frozen=True)
class SignatureOutcome:
    """The signature check's result plus, when it passed, the manifest it vouches for."""

    result: CheckResult
    manifest: Manifest | None = None


def check_signature(policy: SignaturePolicy, path: Path | None) -> SignatureOutcome:
    from supplychain.signing.bundle import read_bundle
    from supplychain.signing.statement import parse_statement

    if path is None or not path.is_file():
        status = Status.FAIL if policy.required else Status.SKIP
        return SignatureOutcome(
            CheckResult(
                SIGNATURE,
                status,
                f"no signature at {path}",
                remedy="ask the publisher for the model's OMS signature (model.sig), or point "
                "--signature at it"
                if policy.required
                else None,
                failure=FailureClass.SIGNATURE if policy.required else None,
            )
        )
    try:
        bundle = read_bundle(path)
    except SupplychainError as exc:
        return SignatureOutcome(
            _signature_failure(f"unreadable signature: {exc.problem}", (), path)
        )
    rejections = []
    for spec in policy.signers:
        try:
            verified = _verifier(spec).verify(bundle)
            statement = parse_statement(verified.payload)
        except SupplychainError as exc:
            rejections.append(f"not accepted as {spec.describe()}: {exc.problem}")
            continue
        evidence = (f"signature {path}", f"signed by {verified.signer.summary}", *verified.warnings)
        return SignatureOutcome(
            CheckResult(
                SIGNATURE,
                Status.PASS,
                f"valid OMS signature by an allowed signer ({spec.describe()})",
                evidence,
            ),
            statement.manifest,
        )
    return SignatureOutcome(
        _signature_failure("no allowed signer signed this model", rejections, path)
    )


def _signature_failure(
    summary: str, rejections: list[str] | tuple[str, ...], path: Path
) -> CheckResult:
    return CheckResult(
        SIGNATURE,
        Status.FAIL,
        summary,
        (f"signature {path}", *rejections),
        remedy="get the model from its publisher again; if the signer changed legitimately, "
        "add it to the policy's signature.signers after checking out of band",
        failure=FailureClass.SIGNATURE,
    )


def _verifier(spec: SignerSpec):  # type: ignore[no-untyped-def]
    from supplychain.signing import CertificateVerifier, KeyVerifier, SigstoreVerifier

    if spec.public_key is not None:
        return KeyVerifier.from_file(spec.public_key)
    if spec.certificate_roots:
        return CertificateVerifier.from_files(spec.certificate_roots)
    assert spec.sigstore_identity is not None and spec.sigstore_issuer is not None
    return SigstoreVerifier(
        identity=spec.sigstore_identity,
        issuer=spec.sigstore_issuer,
        staging=spec.sigstore_staging,
        trust_config=spec.sigstore_trust_config,
    )


def check_integrity(policy: SignaturePolicy, signed: Manifest, evidence: Evidence) -> CheckResult:
    """Every signed file present and unchanged; nothing unsigned unless the policy allows it."""
    from supplychain.signing.integrity import compare_manifests

    serialization = signed.serialization
    try:
        if _signs_git_paths(signed):
            # Signed with git metadata included (--no-ignore-git-paths): the gate's
            # walk skipped those files, so walk again the way the signer did.
            report = _recheck_with_git_paths(signed, evidence)
        else:
            tree = evidence.tree.excluding(serialization.ignore_paths)
            if serialization.method == FILES and serialization.hash_type == "sha256":
                # The gate's own SHA-256 pass already covers these files: no second read.
                keep = {f.name for f in tree.files}
                resources = tuple(r for r in evidence.sha256.resources if r.name in keep)
                actual = Manifest(tree.name, serialization, resources)
            else:
                actual, _, _ = hash_tree(tree, serialization, progress=False)
            report = compare_manifests(signed, tree, actual, model=evidence.model.path)
    except SupplychainError as exc:
        return CheckResult(
            INTEGRITY,
            Status.FAIL,
            exc.problem,
            failure=FailureClass.INTEGRITY,
            remedy="the signature's manifest is unusable; get a new signature",
        )
    return _verdict(policy, signed, report)


def _signs_git_paths(signed: Manifest) -> bool:
    return any(r.path.split("/")[0] in GIT_PATHS for r in signed.resources)


def _recheck_with_git_paths(signed: Manifest, evidence: Evidence) -> IntegrityReport:
    from supplychain.signing.integrity import check_integrity as recheck

    return recheck(
        evidence.model.path,
        signed,
        ignore=[os.path.abspath(p) for p in evidence.excluded],
        ignore_git_paths=False,
        allow_symlinks=evidence.model.snapshot is not None,
        progress=False,
    )


def _verdict(policy: SignaturePolicy, signed: Manifest, report: IntegrityReport) -> CheckResult:
    serialization = signed.serialization
    problems = report.problems(limit=None)
    locations = (
        *((n, "missing: signed but not on disk") for n in report.missing),
        *((n, "modified: content differs from the signed digest") for n in report.modified),
    )
    fatal = bool(
        report.missing or report.modified or (report.extra and not policy.ignore_unsigned_files)
    )
    extra_note: tuple[str, ...] = ()
    if report.extra:
        extra_note = ("files the signature does not cover: " + ", ".join(report.extra),)
        if not policy.ignore_unsigned_files:
            locations = (
                *locations,
                *((n, "extra: not covered by the signature") for n in report.extra),
            )
    if fatal:
        return CheckResult(
            INTEGRITY,
            Status.FAIL,
            "the files are not exactly what was signed",
            tuple(problems),
            remedy="do not load this copy: download the model again from its publisher "
            "(missing or modified files) and remove files that were added after signing",
            failure=FailureClass.INTEGRITY,
            locations=locations,
        )
    summary = (
        f"all {len(signed.resources)} signed resources match ({serialization.method}, "
        f"{serialization.hash_type})"
    )
    status = Status.WARN if report.extra else Status.PASS
    return CheckResult(INTEGRITY, status, summary, extra_note)
