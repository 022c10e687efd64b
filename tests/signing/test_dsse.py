"""DSSE PAE bytes and ECDSA over them, including model-signing 0.2's legacy encoding."""

from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from supplychain.signing.dsse import pae, pae_legacy, sign_payload, verify_payload


def test_pae_is_the_dsse_v1_encoding() -> None:
    assert pae(b'{"a":1}') == b'DSSEv1 28 application/vnd.in-toto+json 7 {"a":1}'


def test_pae_counts_bytes_not_characters() -> None:
    payload = "é".encode()
    assert pae(payload) == b"DSSEv1 28 application/vnd.in-toto+json 2 " + payload


def test_legacy_pae_reproduces_the_0_2_bug() -> None:
    # Upper-case V and the Python repr of the bytes, exactly as model-signing 0.2 signed.
    assert pae_legacy(b'{"a":\n1}') == b"DSSEV1 28 application/vnd.in-toto+json 8 b'{\"a\":\\n1}'"


@pytest.mark.parametrize(
    ("curve", "digest_size"), [(ec.SECP256R1(), 32), (ec.SECP384R1(), 48), (ec.SECP521R1(), 64)]
)
def test_signature_uses_the_curve_hash(curve: ec.EllipticCurve, digest_size: int) -> None:
    key = ec.generate_private_key(curve)
    signature = sign_payload(key, b"payload")
    hash_by_size = {32: hashes.SHA256(), 48: hashes.SHA384(), 64: hashes.SHA512()}
    key.public_key().verify(signature, pae(b"payload"), ec.ECDSA(hash_by_size[digest_size]))
    assert (
        verify_payload(key.public_key(), signature, b"payload", legacy_hash=hashes.SHA256())
        is False
    )


def test_signatures_are_deterministic() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    assert sign_payload(key, b"same") == sign_payload(key, b"same")


def test_legacy_signature_is_accepted_and_reported() -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    legacy = key.sign(pae_legacy(b"old"), ec.ECDSA(hashes.SHA256()))
    assert verify_payload(key.public_key(), legacy, b"old", legacy_hash=hashes.SHA256()) is True
    with pytest.raises(InvalidSignature):
        verify_payload(key.public_key(), legacy, b"other", legacy_hash=hashes.SHA256())
