"""Real model-signing bundles and the OMS spec's test vectors (../shared; skipped without it)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from supplychain.signing import (
    CertificateVerifier,
    IntegrityError,
    KeyVerifier,
    SignatureFormatError,
    SignatureVerificationError,
    SigstoreVerifier,
    verify,
)
from supplychain.signing.bundle import read_bundle
from supplychain.signing.statement import parse_statement

TRUST_CONFIG = Path(__file__).parent / "data" / "sigstore-trust-config.json"
MT = "fixtures/oms/model-transparency"
VECTORS = "fixtures/oms/spec-test-vectors"


def key_verifier(shared: Path) -> KeyVerifier:
    return KeyVerifier.from_file(shared / MT / "keys/signing-key-pub.pem")


def cert_verifier(shared: Path) -> CertificateVerifier:
    return CertificateVerifier.from_files([shared / MT / "keys/ca-cert.pem"])


def keyless_verifier() -> SigstoreVerifier:
    return SigstoreVerifier(
        identity="stefanb@us.ibm.com",
        issuer="https://sigstore.verify.ibm.com/oauth2",
        trust_config=TRUST_CONFIG,
    )


CASES = {
    "v1.1.0-elliptic-key": key_verifier,
    "v1.1.0-certificate": cert_verifier,
    "v1.1.0-sigstore": lambda shared: keyless_verifier(),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_real_bundles_verify(shared: Path, name: str) -> None:
    model = shared / MT / name
    result = verify(model, model / "model.sig", CASES[name](shared))
    assert result.integrity.files_checked == 2  # signme-1, signme-2; ignore-me is ignored
    # model-signing's test PKI signs with a CA:TRUE certificate that cannot issue.
    marked_ca = [True] if name == "v1.1.0-certificate" else []
    assert ["is marked CA:TRUE" in warning for warning in result.warnings] == marked_ca
    assert "ignore-me" in result.manifest.serialization.ignore_paths


def test_single_file_v1_0_0_bundle(shared: Path) -> None:
    folder = shared / MT / "v1.0.0-elliptic-key"
    result = verify(folder / "signme-1", folder / "model.sig", key_verifier(shared))
    assert [r.name for r in result.manifest.resources] == ["."]
    assert "older verification material" in result.warnings[0]


@pytest.mark.parametrize("name", sorted(CASES))
def test_real_bundles_fail_after_tampering(shared: Path, tmp_path: Path, name: str) -> None:
    model = tmp_path / name
    shutil.copytree(shared / MT / name, model)
    target = model / "signme-2"
    target.chmod(0o644)
    target.write_bytes(target.read_bytes() + b"!")
    (model / "smuggled.py").write_text("import os")
    with pytest.raises(IntegrityError) as caught:
        verify(model, model / "model.sig", CASES[name](shared))
    assert caught.value.report.modified == ("signme-2",)
    assert caught.value.report.extra == ("smuggled.py",)


def test_single_file_fails_after_tampering(shared: Path, tmp_path: Path) -> None:
    folder = shared / MT / "v1.0.0-elliptic-key"
    copy = tmp_path / "signme-1"
    copy.write_bytes((folder / "signme-1").read_bytes() + b"x")
    with pytest.raises(IntegrityError) as caught:
        verify(copy, folder / "model.sig", key_verifier(shared))
    assert caught.value.report.modified == (".",)


def test_real_bundles_reject_other_trust(shared: Path, tmp_path: Path, pki: Any) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    other = tmp_path / "other.pub"
    other.write_bytes(
        ec.generate_private_key(ec.SECP384R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    model = shared / MT / "v1.1.0-elliptic-key"
    with pytest.raises(SignatureVerificationError, match="different key"):
        verify(model, model / "model.sig", KeyVerifier.from_file(other))
    model = shared / MT / "v1.1.0-certificate"
    with pytest.raises(SignatureVerificationError, match="does not chain"):
        verify(model, model / "model.sig", CertificateVerifier.from_files([pki.root.cert_path]))


# --- the OMS specification's test vectors ---------------------------------------------------


@pytest.mark.parametrize("name", ["key", "certificate", "sigstore"])
def test_valid_vectors_parse(shared: Path, name: str) -> None:
    bundle = read_bundle(shared / VECTORS / f"valid/{name}.bundle.json")
    assert bundle.method == name
    statement = parse_statement(bundle.envelope.payload)
    assert [r.name for r in statement.manifest.resources] == ["signme-1", "signme-2"]


@pytest.mark.parametrize(
    ("name", "verifier"), [("key", key_verifier), ("certificate", cert_verifier)]
)
def test_valid_vectors_verify_against_the_fixture_files(
    shared: Path, name: str, verifier: object
) -> None:
    # The vectors sign the v1.1.0-elliptic-key files (subject "model") and do not
    # record model.sig as ignored, since they live elsewhere.
    model = shared / MT / "v1.1.0-elliptic-key"
    result = verify(
        model,
        shared / VECTORS / f"valid/{name}.bundle.json",
        verifier(shared),  # type: ignore[operator]
        ignore=["model.sig"],
    )
    assert result.manifest.model_name == "model"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("invalid/empty.bundle.json", "the signature file is empty"),
        ("invalid/missing-envelope.bundle.json", "no dsseEnvelope"),
        ("invalid/missing-verification-material.bundle.json", "no verificationMaterial"),
        ("invalid/missing-tlog-entries.bundle.json", "no transparency log entry"),
    ],
)
def test_invalid_vectors_are_rejected_clearly(shared: Path, name: str, message: str) -> None:
    path = shared / VECTORS / name
    with pytest.raises(SignatureFormatError, match=message) as caught:
        read_bundle(path)
    assert caught.value.path == path
    assert "not a valid OMS signature" in caught.value.diagnostics()


def test_wrong_predicate_vector_is_rejected(shared: Path) -> None:
    path = shared / VECTORS / "invalid-payload/wrong-predicate.bundle.json"
    model = shared / MT / "v1.1.0-elliptic-key"
    # Its payload was edited after signing, so the signature fails first...
    with pytest.raises(SignatureVerificationError, match="does not verify"):
        verify(model, path, key_verifier(shared))
    # ...and the payload itself is not an OMS statement either.
    with pytest.raises(SignatureFormatError, match="not an OMS model signature"):
        parse_statement(read_bundle(path).envelope.payload)
