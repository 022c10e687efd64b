"""Key method: sign with an ECDSA private key, verify with its public key."""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec

from supplychain.signing.bundle import (
    KEY,
    Bundle,
    DsseEnvelope,
    DsseSignature,
    PublicKeyMaterial,
    encode_bundle,
)
from supplychain.signing.dsse import IN_TOTO_PAYLOAD_TYPE, sign_payload, verify_payload
from supplychain.signing.errors import (
    KeyMaterialError,
    SignatureFormatError,
    SignatureVerificationError,
)
from supplychain.signing.keys import (
    Passphrase,
    check_supported,
    curve_name,
    describe_key,
    load_private_key,
    load_public_key,
    parse_public_key,
    public_key_hint,
    signature_hash,
)
from supplychain.signing.methods.interface import (
    SignedBundle,
    Signer,
    SignerInfo,
    VerifiedPayload,
    Verifier,
)

LEGACY_MATERIAL_WARNING = (
    "the signature uses the older verification material format (the public key itself "
    "instead of its hint); re-sign with a current signer"
)


def key_info(key: ec.EllipticCurvePublicKey) -> SignerInfo:
    return SignerInfo(
        KEY,
        describe_key(key),
        {"curve": curve_name(key), "public_key_sha256": public_key_hint(key)},
    )


def signed_envelope(key: ec.EllipticCurvePrivateKey, statement: bytes) -> DsseEnvelope:
    """A DSSE envelope with one signature; ``keyid`` is "" as model-signing writes it."""
    return DsseEnvelope(
        statement, IN_TOTO_PAYLOAD_TYPE, (DsseSignature(sign_payload(key, statement), ""),)
    )


class KeySigner(Signer):
    """Signs with an ECDSA P-256/P-384/P-521 private key."""

    method = KEY

    def __init__(self, private_key: ec.EllipticCurvePrivateKey) -> None:
        check_supported(private_key, what="private key")
        self._key = private_key

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], passphrase: Passphrase = None) -> KeySigner:
        return cls(load_private_key(path, passphrase))

    @property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._key.public_key()

    def sign(self, statement: bytes) -> SignedBundle:
        material = PublicKeyMaterial(public_key_hint(self.public_key))
        bundle = encode_bundle(material, signed_envelope(self._key, statement))
        return SignedBundle(bundle, key_info(self.public_key))


class KeyVerifier(Verifier):
    """Verifies key-method signatures against one trusted public key."""

    method = KEY

    def __init__(self, public_key: ec.EllipticCurvePublicKey) -> None:
        check_supported(public_key, what="public key")
        self._key = public_key
        self._hint = public_key_hint(public_key)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> KeyVerifier:
        return cls(load_public_key(path))

    def _verify(self, bundle: Bundle) -> VerifiedPayload:
        material = bundle.material
        assert isinstance(material, PublicKeyMaterial)
        warnings: list[str] = []
        if material.hint is not None and material.hint != self._hint:
            raise SignatureVerificationError(
                "the signature was made with a different key",
                hint=f"the signature names key sha256:{material.hint}; the public key given is "
                f"sha256:{self._hint}. Use the public key paired with the signing key",
            )
        if material.legacy_key is not None:
            self._check_legacy_key(material.legacy_key)
        if material.hint is None:
            warnings.append(LEGACY_MATERIAL_WARNING)
        envelope = bundle.envelope
        try:
            legacy_pae = verify_payload(
                self._key,
                envelope.signatures[0].sig,
                envelope.payload,
                legacy_hash=signature_hash(self._key),
            )
        except InvalidSignature:
            raise SignatureVerificationError(
                "the signature does not verify with the given public key",
                hint="the signature file was altered, or it was made with another key",
            ) from None
        if legacy_pae:
            warnings.append("the signature uses model-signing 0.2's DSSE encoding; re-sign it")
        return VerifiedPayload(envelope.payload, key_info(self._key), tuple(warnings))

    def _check_legacy_key(self, embedded: bytes) -> None:
        """model-signing <= 1.0.1 embedded the key: it must be the one the user trusts."""
        try:
            key = parse_public_key(embedded)
        except KeyMaterialError as exc:
            raise SignatureFormatError(
                f"not a valid OMS signature: the embedded public key is unreadable ({exc.problem})"
            ) from None
        if public_key_hint(key) != self._hint:
            raise SignatureVerificationError(
                "the signature was made with a different key",
                hint=f"the signature embeds key sha256:{public_key_hint(key)}; "
                f"the public key given is sha256:{self._hint}",
            )
