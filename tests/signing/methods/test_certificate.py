"""Certificate method, with a test PKI (root -> intermediate -> leaf) made here.

Each check marked "stricter" is one model-signing 1.1.1 does not make.
"""

from __future__ import annotations

import base64
import datetime
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID

from supplychain.signing import CertificateSigner, CertificateVerifier, sign
from supplychain.signing.bundle import (
    CERTIFICATE,
    CertificateChainMaterial,
    encode_bundle,
    parse_bundle,
)
from supplychain.signing.errors import (
    KeyMaterialError,
    SignatureFormatError,
    SignatureVerificationError,
)
from supplychain.signing.methods.certificate import describe_certificate
from supplychain.signing.methods.interface import SignedBundle, Signer
from supplychain.signing.methods.key import signed_envelope
from tests.conftest import RunCli

PAYLOAD = b'{"_type":"https://in-toto.io/Statement/v1"}'
NOW = datetime.datetime.now(datetime.timezone.utc)
DAY = datetime.timedelta(days=1)


def forged_bundle(leaf: Any, *chain: Any) -> Any:
    """A bundle signed with ``leaf`` without CertificateSigner's own checks (as upstream would)."""
    certificates = tuple(c.certificate.public_bytes(Encoding.DER) for c in (leaf, *chain))
    return encode_bundle(CertificateChainMaterial(certificates), signed_envelope(leaf.key, PAYLOAD))


def test_leaf_and_chain_verify_against_the_root(pki: Any) -> None:
    leaf = pki.leaf()
    signer = CertificateSigner.from_files(
        leaf.key_path, leaf.cert_path, [pki.intermediate.cert_path]
    )
    signed = signer.sign(PAYLOAD)
    material = signed.bundle.material
    assert isinstance(material, CertificateChainMaterial)
    assert material.certificates == (
        leaf.certificate.public_bytes(Encoding.DER),
        pki.intermediate.certificate.public_bytes(Encoding.DER),
    )
    verified = CertificateVerifier.from_files([pki.root.cert_path]).verify(
        parse_bundle(signed.bundle.encoded)
    )
    assert verified.payload == PAYLOAD
    assert verified.signer.details["subject"] == "CN=leaf"
    assert verified.signer.details["issuer"] == "CN=intermediate-ca"


def test_untrusted_root_is_rejected(pki: Any) -> None:
    leaf = pki.leaf()
    signed = CertificateSigner(leaf.key, leaf.certificate, [pki.intermediate.certificate]).sign(
        PAYLOAD
    )
    with pytest.raises(SignatureVerificationError, match="does not chain to a trusted root"):
        CertificateVerifier([pki.other_root().certificate]).verify(signed.bundle)


def test_missing_intermediate_is_rejected(pki: Any) -> None:
    leaf = pki.leaf()
    signed = CertificateSigner(leaf.key, leaf.certificate).sign(PAYLOAD)
    with pytest.raises(SignatureVerificationError, match="does not chain"):
        CertificateVerifier([pki.root.certificate]).verify(signed.bundle)


def test_expired_leaf_is_rejected(pki: Any) -> None:
    """Stricter: model-signing 1.1.1 validates at the leaf's notBefore, so it accepts this."""
    leaf = pki.leaf("expired", not_before=NOW - 30 * DAY, not_after=NOW - DAY)
    with pytest.raises(KeyMaterialError, match="expired on"):
        CertificateSigner(leaf.key, leaf.certificate, [pki.intermediate.certificate])
    bundle = forged_bundle(leaf, pki.intermediate)
    with pytest.raises(SignatureVerificationError, match="expired on"):
        CertificateVerifier([pki.root.certificate]).verify(bundle)
    # Auditing a signature as of a past moment is possible, explicitly.
    then = NOW - 10 * DAY
    assert CertificateVerifier([pki.root.certificate], at=then).verify(bundle).payload == PAYLOAD


def test_not_yet_valid_leaf_is_rejected(pki: Any) -> None:
    leaf = pki.leaf("future", not_before=NOW + DAY, not_after=NOW + 30 * DAY)
    with pytest.raises(SignatureVerificationError, match="not valid before"):
        CertificateVerifier([pki.root.certificate]).verify(forged_bundle(leaf, pki.intermediate))


@pytest.mark.parametrize(
    ("usage", "extended", "message"),
    [
        # Stricter: upstream accepts either condition alone; we require both that are present.
        (
            {"key_encipherment": True},
            [ExtendedKeyUsageOID.CODE_SIGNING],
            "does not allow digitalSignature",
        ),
        (
            {"digital_signature": True},
            [ExtendedKeyUsageOID.SERVER_AUTH],
            "does not include codeSigning",
        ),
        (None, None, "declares no KeyUsage or ExtendedKeyUsage"),
    ],
)
def test_wrong_key_usage_is_rejected(pki: Any, usage: Any, extended: Any, message: str) -> None:
    key_usage = pki.usage(**usage) if usage is not None else None
    leaf = pki.leaf("wrong-usage", key_usage=key_usage, extended=extended)
    with pytest.raises(KeyMaterialError, match=message):
        CertificateSigner(leaf.key, leaf.certificate, [pki.intermediate.certificate])
    with pytest.raises(SignatureVerificationError, match=message):
        CertificateVerifier([pki.root.certificate]).verify(forged_bundle(leaf, pki.intermediate))


@pytest.mark.parametrize(
    ("usage", "extended"),
    [({"digital_signature": True}, None), (None, [ExtendedKeyUsageOID.CODE_SIGNING])],
)
def test_either_usage_alone_is_enough(pki: Any, usage: Any, extended: Any) -> None:
    key_usage = pki.usage(**usage) if usage is not None else None
    leaf = pki.leaf("one-usage", key_usage=key_usage, extended=extended)
    signed = CertificateSigner(leaf.key, leaf.certificate, [pki.intermediate.certificate]).sign(
        PAYLOAD
    )
    assert CertificateVerifier([pki.root.certificate]).verify(signed.bundle).payload == PAYLOAD


def test_certificate_must_match_the_key(pki: Any) -> None:
    leaf = pki.leaf()
    with pytest.raises(KeyMaterialError, match="does not certify this private key"):
        CertificateSigner(ec.generate_private_key(ec.SECP384R1()), leaf.certificate)


def test_tampered_payload_fails(pki: Any) -> None:
    leaf = pki.leaf()
    signed = CertificateSigner(leaf.key, leaf.certificate, [pki.intermediate.certificate]).sign(
        PAYLOAD
    )
    document = json.loads(signed.bundle.encoded)
    document["dsseEnvelope"]["payload"] = base64.b64encode(PAYLOAD + b" ").decode()
    with pytest.raises(SignatureVerificationError, match="does not verify"):
        CertificateVerifier([pki.root.certificate]).verify(
            parse_bundle(json.dumps(document).encode())
        )


def test_unreadable_certificate_in_bundle(pki: Any) -> None:
    leaf = pki.leaf()
    bundle = encode_bundle(CertificateChainMaterial((b"junk",)), signed_envelope(leaf.key, PAYLOAD))
    with pytest.raises(SignatureFormatError, match="certificate is unreadable"):
        CertificateVerifier([pki.root.certificate]).verify(bundle)


def test_trust_anchors_are_required(tmp_path: Any) -> None:
    with pytest.raises(KeyMaterialError, match="no trusted certificate"):
        CertificateVerifier([])
    empty = tmp_path / "empty.pem"
    empty.write_text("no certificates here")
    with pytest.raises(KeyMaterialError, match="no PEM certificate"):
        CertificateVerifier.from_files([empty])


# --- CA certificates are authorities, not signers (stricter than model-signing 1.1.1) ------


def _ca_usage(*, issue: bool) -> x509.KeyUsage:
    return x509.KeyUsage(True, False, False, False, False, issue, issue, False, False)


def ca_signer(pki: Any, name: str, *, issue: bool) -> Any:
    """A code-signing certificate under the intermediate that says basicConstraints CA:TRUE."""
    key = ec.generate_private_key(ec.SECP384R1())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(pki.intermediate.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - DAY)
        .not_valid_after(NOW + DAY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_ca_usage(issue=issue), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
        .sign(pki.intermediate.key, hashes.SHA256())
    )
    return SimpleNamespace(certificate=certificate, key=key)


def test_ca_leaf_that_may_issue_is_refused(pki: Any) -> None:
    leaf = ca_signer(pki, "issuing-ca", issue=True)
    with pytest.raises(KeyMaterialError, match=r"CA certificate \(basicConstraints CA:TRUE"):
        CertificateSigner(leaf.key, leaf.certificate, [pki.intermediate.certificate])
    with pytest.raises(SignatureVerificationError, match="certificate authority, not a signer"):
        CertificateVerifier([pki.root.certificate]).verify(forged_bundle(leaf, pki.intermediate))


def test_root_itself_as_signing_certificate_is_refused() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "root")])
    root = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - DAY)
        .not_valid_after(NOW + DAY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_ca_usage(issue=True), critical=True)
        .sign(key, hashes.SHA256())
    )
    with pytest.raises(SignatureVerificationError, match="key of the trusted root CN=root"):
        CertificateVerifier([root]).verify(_signed_by(key, root))


def test_intermediate_as_signing_certificate_is_refused(pki: Any) -> None:
    intermediate = pki.intermediate
    with pytest.raises(KeyMaterialError, match="CA certificate"):
        CertificateSigner(intermediate.key, intermediate.certificate, [pki.root.certificate])
    with pytest.raises(SignatureVerificationError, match="certificate authority, not a signer"):
        CertificateVerifier([pki.root.certificate]).verify(forged_bundle(intermediate))


def test_leaf_sharing_a_key_with_its_chain_is_refused(pki: Any) -> None:
    """A CA:FALSE certificate for the intermediate's own key: the CA key would sign models."""
    twin = pki.leaf("twin")
    twin = SimpleNamespace(
        certificate=_reissue(twin.certificate, pki.intermediate.key, pki.intermediate.key),
        key=pki.intermediate.key,
    )
    with pytest.raises(KeyMaterialError, match="its key is the key of chain CA CN=intermediate-ca"):
        CertificateSigner(twin.key, twin.certificate, [pki.intermediate.certificate])
    with pytest.raises(SignatureVerificationError, match="key of the chain certificate"):
        CertificateVerifier([pki.root.certificate]).verify(forged_bundle(twin, pki.intermediate))


def test_ca_marked_leaf_that_cannot_issue_verifies_with_a_warning(pki: Any) -> None:
    """The shape of model-signing's test PKI and the OMS certificate test vector."""
    leaf = ca_signer(pki, "marked-ca", issue=False)
    with pytest.raises(KeyMaterialError, match="marked CA:TRUE"):
        CertificateSigner(leaf.key, leaf.certificate, [pki.intermediate.certificate])
    verified = CertificateVerifier([pki.root.certificate]).verify(
        forged_bundle(leaf, pki.intermediate)
    )
    assert verified.payload == PAYLOAD
    assert verified.warnings == (
        "the signing certificate is marked CA:TRUE, though its KeyUsage forbids issuing "
        "certificates; re-issue it as an end-entity certificate (CA:FALSE)",
    )


def _signed_by(key: Any, *certificates: Any) -> Any:
    chain = tuple(c.public_bytes(Encoding.DER) for c in certificates)
    return encode_bundle(CertificateChainMaterial(chain), signed_envelope(key, PAYLOAD))


def _reissue(template: Any, subject_key: Any, issuer_key: Any) -> Any:
    """``template`` with another public key, signed again by ``issuer_key``."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(template.subject)
        .issuer_name(template.issuer)
        .public_key(subject_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(template.not_valid_before_utc)
        .not_valid_after(template.not_valid_after_utc)
    )
    for extension in template.extensions:
        if extension.oid in (ExtensionOID.BASIC_CONSTRAINTS, ExtensionOID.KEY_USAGE):
            builder = builder.add_extension(extension.value, extension.critical)
    builder = builder.add_extension(
        x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False
    )
    return builder.sign(issuer_key, hashes.SHA256())


class _UncheckedSigner(Signer):
    """Signs like model-signing 1.1.1 would, without refusing CA certificates."""

    method = CERTIFICATE

    def __init__(self, key: Any, *certificates: Any) -> None:
        self._key, self._certificates = key, certificates

    def sign(self, statement: bytes) -> SignedBundle:
        chain = tuple(c.public_bytes(Encoding.DER) for c in self._certificates)
        bundle = encode_bundle(
            CertificateChainMaterial(chain), signed_envelope(self._key, statement)
        )
        return SignedBundle(bundle, describe_certificate(self._certificates[0]))


def test_cli_refuses_ca_certificates_with_documented_exit_codes(
    run_cli: RunCli, pki: Any, tmp_path: Path
) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.bin").write_bytes(b"w" * 64)
    leaf = ca_signer(pki, "issuing-ca", issue=True)
    key_path, cert_path = tmp_path / "ca.key", tmp_path / "ca.pem"
    key_path.write_bytes(leaf.key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    cert_path.write_bytes(leaf.certificate.public_bytes(Encoding.PEM))
    signature = tmp_path / "model.sig"
    args = ("--key", key_path, "--certificate", cert_path, "--chain", pki.intermediate.cert_path)
    refused = run_cli("sign", model, *args, "-s", signature)
    assert refused.exit_code == 2, refused  # an input error: nothing is written
    assert "CA certificate" in refused.stderr and not signature.exists()

    sign(
        model,
        _UncheckedSigner(leaf.key, leaf.certificate, pki.intermediate.certificate),
        signature=signature,
        progress=False,
    )
    result = run_cli("verify", model, "-s", signature, "--certificate-chain", pki.root.cert_path)
    assert result.exit_code == 1, result  # verification failed
    assert "certificate authority, not a signer" in result.stderr + result.stdout
