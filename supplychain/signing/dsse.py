"""DSSE: the pre-authentication encoding (PAE) a signature covers, and ECDSA over it."""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from supplychain.signing.keys import signature_hash

#: The only payload type OMS signs: an in-toto statement.
IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"


def pae(payload: bytes, payload_type: str = IN_TOTO_PAYLOAD_TYPE) -> bytes:
    """DSSE v1 PAE: ``DSSEv1 SP len(type) SP type SP len(payload) SP payload``."""
    encoded_type = payload_type.encode("utf-8")
    header = b"DSSEv1 %d %s %d " % (len(encoded_type), encoded_type, len(payload))
    return header + payload


def pae_legacy(payload: bytes, payload_type: str = IN_TOTO_PAYLOAD_TYPE) -> bytes:
    """The PAE model-signing 0.2 signed by mistake, accepted on verification only.

    It spelled the tag ``DSSEV1`` and formatted the payload bytes with ``repr``
    (``b'...'`` with escapes) into a text string before encoding it.
    """
    text = f"DSSEV1 {len(payload_type)} {payload_type} {len(payload)} {payload!r}"
    return text.encode("utf-8")


def sign_payload(key: ec.EllipticCurvePrivateKey, payload: bytes) -> bytes:
    """DER ECDSA signature over the PAE, with the curve's hash.

    RFC 6979 deterministic nonces: the same key and payload always give the
    same signature, so re-signing an unchanged model reproduces the file.
    """
    return key.sign(pae(payload), ec.ECDSA(signature_hash(key), deterministic_signing=True))


def verify_payload(
    key: ec.EllipticCurvePublicKey,
    signature: bytes,
    payload: bytes,
    *,
    legacy_hash: hashes.HashAlgorithm,
) -> bool:
    """Check ``signature`` over ``payload``; True if it needed the legacy (0.2) PAE.

    Raises ``cryptography.exceptions.InvalidSignature`` when neither encoding verifies.
    """
    try:
        key.verify(signature, pae(payload), ec.ECDSA(signature_hash(key)))
        return False
    except InvalidSignature:
        key.verify(signature, pae_legacy(payload), ec.ECDSA(legacy_hash))
        return True
