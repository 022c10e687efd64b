"""Key method: sign and verify with ECDSA keys; wrong keys and tampering fail clearly."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from supplychain.signing import CertificateVerifier, KeySigner, KeyVerifier
from supplychain.signing.bundle import PublicKeyMaterial, encode_bundle, parse_bundle
from supplychain.signing.errors import SignatureFormatError, SignatureVerificationError
from supplychain.signing.keys import public_key_hint, public_key_pem
from supplychain.signing.methods.key import signed_envelope

PAYLOAD = b'{"_type":"https://in-toto.io/Statement/v1"}'


@pytest.mark.parametrize("curve", [ec.SECP256R1(), ec.SECP384R1(), ec.SECP521R1()])
def test_round_trip_on_every_oms_curve(curve: ec.EllipticCurve) -> None:
    key = ec.generate_private_key(curve)
    signed = KeySigner(key).sign(PAYLOAD)
    assert signed.bundle.material == PublicKeyMaterial(public_key_hint(key.public_key()))
    verified = KeyVerifier(key.public_key()).verify(parse_bundle(signed.bundle.encoded))
    assert verified.payload == PAYLOAD
    assert verified.warnings == ()
    assert verified.signer.details["public_key_sha256"] == public_key_hint(key.public_key())


def test_same_key_and_payload_give_the_same_bundle() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    assert (
        KeySigner(key).sign(PAYLOAD).bundle.encoded == KeySigner(key).sign(PAYLOAD).bundle.encoded
    )


def test_wrong_key_is_named_by_hint() -> None:
    signed = KeySigner(ec.generate_private_key(ec.SECP256R1())).sign(PAYLOAD)
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    with pytest.raises(SignatureVerificationError, match="different key") as caught:
        KeyVerifier(other).verify(signed.bundle)
    assert public_key_hint(other) in (caught.value.hint or "")


def tampered(encoded: bytes, payload: bytes) -> Any:
    document = json.loads(encoded)
    document["dsseEnvelope"]["payload"] = base64.b64encode(payload).decode()
    return parse_bundle(json.dumps(document).encode())


def test_tampered_payload_fails() -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    signed = KeySigner(key).sign(PAYLOAD)
    with pytest.raises(SignatureVerificationError, match="does not verify"):
        KeyVerifier(key.public_key()).verify(tampered(signed.bundle.encoded, PAYLOAD + b" "))


def test_bundle_without_hint_still_verifies_with_a_warning() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    bundle = encode_bundle(PublicKeyMaterial(None), signed_envelope(key, PAYLOAD))
    verified = KeyVerifier(key.public_key()).verify(bundle)
    assert verified.payload == PAYLOAD
    assert "older verification material" in verified.warnings[0]


def test_legacy_embedded_key_must_be_the_trusted_key() -> None:
    """model-signing <= 1.0.1 embedded the key; upstream ignores it, we check it matches."""
    key = ec.generate_private_key(ec.SECP384R1())
    legacy = PublicKeyMaterial(None, public_key_pem(key.public_key()))
    bundle = encode_bundle(legacy, signed_envelope(key, PAYLOAD))
    assert KeyVerifier(key.public_key()).verify(bundle).warnings
    impostor = ec.generate_private_key(ec.SECP384R1())
    forged = encode_bundle(
        PublicKeyMaterial(None, public_key_pem(impostor.public_key())),
        signed_envelope(key, PAYLOAD),
    )
    with pytest.raises(SignatureVerificationError, match="different key"):
        KeyVerifier(key.public_key()).verify(forged)
    garbage = encode_bundle(PublicKeyMaterial(None, b"not a key"), signed_envelope(key, PAYLOAD))
    with pytest.raises(SignatureFormatError, match="embedded public key is unreadable"):
        KeyVerifier(key.public_key()).verify(garbage)


def test_method_mismatch_says_how_to_verify(pki: Any) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    signed = KeySigner(key).sign(PAYLOAD)
    with pytest.raises(SignatureVerificationError, match="made with the key method") as caught:
        CertificateVerifier([pki.root.certificate]).verify(signed.bundle)
    assert "--public-key" in (caught.value.hint or "")


def test_only_the_first_of_several_signatures_is_checked_and_noted() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    document = json.loads(KeySigner(key).sign(PAYLOAD).bundle.encoded)
    document["dsseEnvelope"]["signatures"].append({"sig": "AAAA", "keyid": ""})
    verified = KeyVerifier(key.public_key()).verify(parse_bundle(json.dumps(document).encode()))
    assert any("only the first" in w for w in verified.warnings)
