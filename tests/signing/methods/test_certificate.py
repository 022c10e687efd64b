"""Certificate method, with a test PKI (root -> intermediate -> leaf) made here.

Each check marked "stricter" is one model-signing 1.1.1 does not make.
"""

from __future__ import annotations

import base64
import datetime
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

from supplychain.signing import CertificateSigner, CertificateVerifier
from supplychain.signing.bundle import CertificateChainMaterial, encode_bundle, parse_bundle
from supplychain.signing.errors import (
    KeyMaterialError,
    SignatureFormatError,
    SignatureVerificationError,
)
from supplychain.signing.methods.key import signed_envelope

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
