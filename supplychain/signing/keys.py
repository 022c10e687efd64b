"""ECDSA key material for OMS: loading, generating, and the identifiers OMS records.

OMS (and model-signing 1.x) sign with ECDSA on P-256, P-384 or P-521 only, each
with its own hash. A private key may be encrypted; its passphrase comes from a
callable so the CLI can prompt only when a key actually needs one.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from supplychain._internal.safeopen import CERTIFICATE, KEY, read_bytes
from supplychain.signing.errors import KeyMaterialError

#: OMS curve name -> (cryptography curve, signature hash).
CURVES: dict[str, tuple[type[ec.EllipticCurve], type[hashes.HashAlgorithm]]] = {
    "P-256": (ec.SECP256R1, hashes.SHA256),
    "P-384": (ec.SECP384R1, hashes.SHA384),
    "P-521": (ec.SECP521R1, hashes.SHA512),
}
_BY_CRYPTOGRAPHY_NAME = {curve().name: name for name, (curve, _) in CURVES.items()}

#: A passphrase, or something that asks for one when (and only when) it is needed.
Passphrase = bytes | Callable[[], bytes] | None


def curve_name(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> str:
    return _BY_CRYPTOGRAPHY_NAME[key.curve.name]


def signature_hash(
    key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey,
) -> hashes.HashAlgorithm:
    """The hash OMS pairs with the key's curve (P-256: SHA-256, P-384: SHA-384, P-521: SHA-512)."""
    return CURVES[curve_name(key)][1]()


def public_key_pem(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def public_key_hint(key: ec.EllipticCurvePublicKey) -> str:
    """What model-signing records as ``publicKey.hint``: SHA-256 of the PEM SPKI text, hex."""
    return hashlib.sha256(public_key_pem(key)).hexdigest()


def describe_key(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> str:
    public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    return f"ECDSA {curve_name(key)} key sha256:{public_key_hint(public)[:16]}…"


def check_supported(key: object, *, path: Path | None = None, what: str = "key") -> None:
    """Raise unless ``key`` is an ECDSA key on a curve OMS supports."""
    if not isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        kind = type(key).__name__.lstrip("_").replace("PrivateKey", "").replace("PublicKey", "")
        raise KeyMaterialError(
            f"the {what} is not an elliptic-curve key ({kind or 'unknown type'})",
            path=path,
            hint="OMS signatures use ECDSA keys on P-256, P-384 or P-521; "
            "create one with `supplychain keygen`",
        )
    if key.curve.name not in _BY_CRYPTOGRAPHY_NAME:
        raise KeyMaterialError(
            f"the {what} uses curve {key.curve.name}, which OMS does not support",
            path=path,
            hint="use P-256, P-384 or P-521 (`supplychain keygen --curve P-256`)",
        )


def read_key_file(path: str | os.PathLike[str], what: str) -> bytes:
    """The bytes of a key or certificate file: a regular file of at most 1 MiB."""
    kind = CERTIFICATE if "certificate" in what else KEY
    return read_bytes(path, kind, what=what, error=KeyMaterialError)


def load_private_key(
    path: str | os.PathLike[str], passphrase: Passphrase = None
) -> ec.EllipticCurvePrivateKey:
    """Load a PEM private key, asking ``passphrase`` only if the key is encrypted."""
    source = Path(path)
    data = read_key_file(source, "private key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:  # encrypted: now (and only now) ask for the passphrase
        if passphrase is None:
            raise KeyMaterialError(
                "the private key is encrypted and no passphrase was given",
                path=source,
                hint="type it at the prompt, or name an environment variable holding it "
                "with --passphrase-env NAME",
            ) from None
        secret = passphrase() if callable(passphrase) else passphrase
        try:
            key = serialization.load_pem_private_key(data, password=secret)
        except ValueError:
            raise KeyMaterialError(
                "cannot decrypt the private key: wrong passphrase (or a corrupt key)",
                path=source,
            ) from None
    except ValueError as exc:
        raise KeyMaterialError(
            f"not a PEM private key ({exc})",
            path=source,
            hint="pass the private key (-----BEGIN PRIVATE KEY----- or EC PRIVATE KEY) file",
        ) from None
    except Exception as exc:  # cryptography raises UnsupportedAlgorithm for odd keys
        raise KeyMaterialError(f"cannot load the private key: {exc}", path=source) from None
    check_supported(key, path=source, what="private key")
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def load_public_key(path: str | os.PathLike[str]) -> ec.EllipticCurvePublicKey:
    """Load a PEM public key (text around the PEM block, as certtool writes, is fine)."""
    source = Path(path)
    data = read_key_file(source, "public key")
    key = parse_public_key(data, path=source)
    return key


def parse_public_key(data: bytes, *, path: Path | None = None) -> ec.EllipticCurvePublicKey:
    """A public key from PEM (or DER) bytes."""
    try:
        if b"-----BEGIN" in data:
            key = serialization.load_pem_public_key(data[data.index(b"-----BEGIN") :])
        else:
            key = serialization.load_der_public_key(data)
    except Exception as exc:
        raise KeyMaterialError(
            f"not a public key ({exc})",
            path=path,
            hint="pass the PEM public key (-----BEGIN PUBLIC KEY-----) paired with the signing key",
        ) from None
    check_supported(key, path=path, what="public key")
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return key


def generate_private_key(curve: str = "P-256") -> ec.EllipticCurvePrivateKey:
    try:
        curve_type = CURVES[curve.upper()][0]
    except KeyError:
        raise KeyMaterialError(
            f"unknown curve {curve!r}", hint=f"choose one of: {', '.join(CURVES)}"
        ) from None
    return ec.generate_private_key(curve_type())


def private_key_pem(key: ec.EllipticCurvePrivateKey, passphrase: bytes | None) -> bytes:
    """PKCS#8 PEM, encrypted with the best available scheme when a passphrase is given."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
