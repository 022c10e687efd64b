"""The Sigstore bundle (v0.3 JSON) that carries an OMS signature, as typed values.

A bundle is parsed once, here, from untrusted bytes into frozen dataclasses;
everything downstream works on those. Parsing is tolerant of everything
model-signing 1.x wrote (``publicKey.rawBytes`` + ``keyDetails`` instead of a
``hint``, ``keyid`` empty, null or absent, no ``tlogEntries`` for the key and
certificate methods) and strict about everything else: a malformed bundle is a
:class:`SignatureFormatError` naming the offending field.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from supplychain._internal.safeopen import MAX_NESTING, SIGNATURE, json_nesting, read_bytes
from supplychain.signing.dsse import IN_TOTO_PAYLOAD_TYPE
from supplychain.signing.errors import SignatureFormatError

BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
#: The same version under the older spelling sigstore-python also reads.
_ACCEPTED_MEDIA_TYPES = frozenset(
    {BUNDLE_MEDIA_TYPE, "application/vnd.dev.sigstore.bundle+json;version=0.3"}
)

Method = Literal["key", "certificate", "sigstore"]
KEY: Method = "key"
CERTIFICATE: Method = "certificate"
SIGSTORE: Method = "sigstore"


@dataclass(frozen=True)
class DsseSignature:
    sig: bytes
    #: Ignored by every OMS verifier; model-signing writes "" (key) or nothing (Sigstore).
    keyid: str | None = None


@dataclass(frozen=True)
class DsseEnvelope:
    payload: bytes
    payload_type: str
    signatures: tuple[DsseSignature, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "payload": _b64(self.payload),
            "payloadType": self.payload_type,
            "signatures": [
                {"sig": _b64(s.sig), **({"keyid": s.keyid} if s.keyid is not None else {})}
                for s in self.signatures
            ],
        }


@dataclass(frozen=True)
class PublicKeyMaterial:
    """Key method: which key signed, as a hint (1.1+) or as the key itself (<= 1.0.1)."""

    #: Lowercase hex SHA-256 of the signer's public key as PEM SubjectPublicKeyInfo text.
    hint: str | None
    #: model-signing <= 1.0.1 embedded the public key (PEM text) instead of a hint.
    legacy_key: bytes | None = None

    method = KEY

    def to_json(self) -> dict[str, Any]:
        if self.legacy_key is not None:
            return {"publicKey": {"rawBytes": _b64(self.legacy_key)}, "tlogEntries": []}
        return {"publicKey": {"hint": self.hint}, "tlogEntries": []}


@dataclass(frozen=True)
class CertificateChainMaterial:
    """Certificate method: the signing certificate, then the chain given at signing (DER)."""

    certificates: tuple[bytes, ...]

    method = CERTIFICATE

    def to_json(self) -> dict[str, Any]:
        return {
            "x509CertificateChain": {
                "certificates": [{"rawBytes": _b64(der)} for der in self.certificates]
            },
            "tlogEntries": [],
        }


@dataclass(frozen=True)
class KeylessMaterial:
    """Sigstore keyless: a short-lived Fulcio certificate and transparency log proof.

    Only what we show is modelled; sigstore-python verifies the rest from the
    original document (:attr:`Bundle.encoded`).
    """

    certificate: bytes
    tlog_entries: int

    method = SIGSTORE


VerificationMaterial = PublicKeyMaterial | CertificateChainMaterial | KeylessMaterial


@dataclass(frozen=True)
class Bundle:
    """An OMS signature: verification material plus a DSSE envelope over a statement."""

    media_type: str
    material: VerificationMaterial
    envelope: DsseEnvelope
    #: The document exactly as read or written (what goes to disk and to sigstore-python).
    encoded: bytes

    @property
    def method(self) -> Method:
        return self.material.method


def encode_bundle(
    material: PublicKeyMaterial | CertificateChainMaterial, envelope: DsseEnvelope
) -> Bundle:
    """Serialize a key or certificate bundle (compact, sorted keys) and parse it back.

    Parsing our own output means a bundle we write has passed the same checks
    as one we read.
    """
    document = {
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": material.to_json(),
        "dsseEnvelope": envelope.to_json(),
    }
    encoded = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return parse_bundle(encoded.encode("utf-8"))


def read_bundle(path: str | os.PathLike[str]) -> Bundle:
    """Read and parse a signature file (unreadable: input error; malformed: format error)."""
    source = Path(path)
    data = read_bytes(
        source,
        SIGNATURE,
        missing_hint="pass the bundle written by `sign` (model-signing's default is ./model.sig)",
    )
    try:
        return parse_bundle(data)
    except SignatureFormatError as exc:
        raise SignatureFormatError(exc.problem, path=source, hint=exc.hint) from None


def parse_bundle(data: bytes) -> Bundle:
    """Parse an OMS Sigstore bundle from untrusted bytes."""
    if not data.strip():
        raise _bad("the signature file is empty")
    if json_nesting(data) > MAX_NESTING:
        raise _bad(f"the signature file nests more than {MAX_NESTING} levels deep")
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise _bad(f"the signature file is not JSON ({exc})") from None
    root = _mapping(document, "the bundle")
    media_type = _string(root, "mediaType", "bundle")
    if media_type not in _ACCEPTED_MEDIA_TYPES:
        raise _bad(
            f"unsupported bundle media type {media_type!r}",
            hint=f"OMS signatures are Sigstore bundles of type {BUNDLE_MEDIA_TYPE}",
        )
    if "verificationMaterial" not in root:
        raise _bad("the bundle has no verificationMaterial (who signed it is unknown)")
    material = _parse_material(_mapping(root["verificationMaterial"], "verificationMaterial"))
    if "dsseEnvelope" not in root:
        raise _bad(
            "the bundle has no dsseEnvelope",
            hint="OMS signs an in-toto statement in a DSSE envelope; "
            "a bundle with a messageSignature is not a model signature",
        )
    envelope = _parse_envelope(_mapping(root["dsseEnvelope"], "dsseEnvelope"))
    return Bundle(media_type, material, envelope, bytes(data))


def _parse_material(material: Mapping[str, Any]) -> VerificationMaterial:
    where = "verificationMaterial"
    kinds = [k for k in ("publicKey", "x509CertificateChain", "certificate") if k in material]
    if len(kinds) != 1:
        raise _bad(
            f"{where} must hold exactly one of publicKey, x509CertificateChain or certificate"
            f" (found {', '.join(kinds) or 'none'})"
        )
    kind = kinds[0]
    tlog = material.get("tlogEntries")
    if tlog is not None and not isinstance(tlog, list):
        raise _bad(f"{where}.tlogEntries must be a list")
    if kind == "publicKey":
        key = _mapping(material[kind], f"{where}.publicKey")
        hint = key.get("hint")
        if hint is not None and not isinstance(hint, str):
            raise _bad(f"{where}.publicKey.hint must be a string")
        legacy = None
        if "rawBytes" in key:
            legacy = _base64(key, "rawBytes", f"{where}.publicKey")
        if not hint and legacy is None:
            hint = None
        return PublicKeyMaterial(hint.lower() if hint else None, legacy)
    if kind == "x509CertificateChain":
        chain = _mapping(material[kind], f"{where}.x509CertificateChain")
        certificates = chain.get("certificates")
        if not isinstance(certificates, list) or not certificates:
            raise _bad(f"{where}.x509CertificateChain.certificates must be a non-empty list")
        places = [
            f"{where}.x509CertificateChain.certificates[{i}]" for i in range(len(certificates))
        ]
        return CertificateChainMaterial(
            tuple(
                _base64(_mapping(entry, place), "rawBytes", place)
                for entry, place in zip(certificates, places, strict=True)
            )
        )
    certificate = _base64(
        _mapping(material[kind], f"{where}.certificate"), "rawBytes", f"{where}.certificate"
    )
    if not tlog:
        raise _bad(
            "the Sigstore bundle has no transparency log entry (tlogEntries)",
            hint="a keyless signature is only trustworthy with its Rekor entry; re-sign, or "
            "obtain the complete bundle",
        )
    return KeylessMaterial(certificate, len(tlog))


def _parse_envelope(envelope: Mapping[str, Any]) -> DsseEnvelope:
    payload = _base64(envelope, "payload", "dsseEnvelope", allow_empty=False)
    payload_type = _string(envelope, "payloadType", "dsseEnvelope")
    if payload_type != IN_TOTO_PAYLOAD_TYPE:
        raise _bad(
            f"dsseEnvelope.payloadType is {payload_type!r}, expected {IN_TOTO_PAYLOAD_TYPE!r}"
        )
    raw_signatures = envelope.get("signatures")
    if not isinstance(raw_signatures, list) or not raw_signatures:
        raise _bad("dsseEnvelope.signatures must be a non-empty list")
    signatures = []
    for index, raw in enumerate(raw_signatures):
        where = f"dsseEnvelope.signatures[{index}]"
        entry = _mapping(raw, where)
        keyid = entry.get("keyid")
        if keyid is not None and not isinstance(keyid, str):
            raise _bad(f"{where}.keyid must be a string")
        signatures.append(DsseSignature(_base64(entry, "sig", where, allow_empty=False), keyid))
    return DsseEnvelope(payload, payload_type, tuple(signatures))


def _bad(problem: str, *, hint: str | None = None) -> SignatureFormatError:
    return SignatureFormatError(
        f"not a valid OMS signature: {problem}",
        hint=hint
        or "make sure this is the signature file (e.g. model.sig) and that it is complete",
    )


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise _bad(f"{where} must be a JSON object")
    return value


def _string(container: Mapping[str, Any], key: str, where: str) -> str:
    value = container.get(key)
    if not isinstance(value, str) or not value:
        raise _bad(f"{where}.{key} is missing or not a string")
    return value


def _base64(
    container: Mapping[str, Any], key: str, where: str, *, allow_empty: bool = False
) -> bytes:
    value = container.get(key)
    if not isinstance(value, str) or (not value and not allow_empty):
        raise _bad(f"{where}.{key} is missing or not a base64 string")
    # Standard alphabet with padding is what Sigstore writes; protobuf's JSON
    # mapping also accepts the URL-safe alphabet and missing padding.
    normalized = value.translate(_URLSAFE_TO_STANDARD)
    try:
        return base64.b64decode(normalized + "=" * (-len(normalized) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise _bad(f"{where}.{key} is not valid base64") from None


_URLSAFE_TO_STANDARD = str.maketrans("-_", "+/")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
