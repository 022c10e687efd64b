"""Parsing Sigstore bundles: everything model-signing 1.x wrote, and clear errors otherwise."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from supplychain.errors import ExitCode, InputError
from supplychain.signing.bundle import (
    BUNDLE_MEDIA_TYPE,
    CertificateChainMaterial,
    DsseEnvelope,
    DsseSignature,
    KeylessMaterial,
    PublicKeyMaterial,
    encode_bundle,
    parse_bundle,
    read_bundle,
)
from supplychain.signing.errors import SignatureFormatError


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def bundle_doc(**material: Any) -> dict[str, Any]:
    return {
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": material or {"publicKey": {"hint": "ab" * 32}, "tlogEntries": []},
        "dsseEnvelope": {
            "payload": b64(b"{}"),
            "payloadType": "application/vnd.in-toto+json",
            "signatures": [{"sig": b64(b"sig"), "keyid": ""}],
        },
    }


def parse(document: dict[str, Any]) -> Any:
    return parse_bundle(json.dumps(document).encode())


def test_current_key_bundle() -> None:
    bundle = parse(bundle_doc())
    assert bundle.method == "key"
    assert bundle.material == PublicKeyMaterial("ab" * 32)
    assert bundle.envelope.payload == b"{}"
    assert bundle.envelope.signatures == (DsseSignature(b"sig", ""),)


def test_legacy_raw_bytes_key_without_tlog_entries() -> None:
    pem = b"-----BEGIN PUBLIC KEY-----\nMFk=\n-----END PUBLIC KEY-----\n"
    document = bundle_doc(publicKey={"rawBytes": b64(pem), "keyDetails": "PKIX_ECDSA_P384_SHA_384"})
    document["dsseEnvelope"]["signatures"][0]["keyid"] = None
    bundle = parse(document)
    assert bundle.material == PublicKeyMaterial(None, pem)
    assert bundle.envelope.signatures[0].keyid is None


@pytest.mark.parametrize("keyid", ["", None, "absent"])
def test_keyid_forms(keyid: str | None) -> None:
    document = bundle_doc()
    if keyid == "absent":
        del document["dsseEnvelope"]["signatures"][0]["keyid"]
    else:
        document["dsseEnvelope"]["signatures"][0]["keyid"] = keyid
    assert parse(document).envelope.signatures[0].sig == b"sig"


def test_certificate_chain_without_tlog_entries() -> None:
    bundle = parse(
        bundle_doc(
            x509CertificateChain={
                "certificates": [{"rawBytes": b64(b"leaf")}, {"rawBytes": b64(b"ca")}]
            }
        )
    )
    assert bundle.method == "certificate"
    assert bundle.material == CertificateChainMaterial((b"leaf", b"ca"))


def test_keyless_bundle_needs_a_transparency_log_entry() -> None:
    bundle = parse(
        bundle_doc(certificate={"rawBytes": b64(b"fulcio")}, tlogEntries=[{"logIndex": "1"}])
    )
    assert bundle.material == KeylessMaterial(b"fulcio", 1)
    with pytest.raises(SignatureFormatError, match="no transparency log entry"):
        parse(bundle_doc(certificate={"rawBytes": b64(b"fulcio")}))


def test_base64_alphabets_and_missing_padding() -> None:
    document = bundle_doc()
    document["dsseEnvelope"]["payload"] = (
        base64.urlsafe_b64encode(b"\xfb\xff{}").decode().rstrip("=")
    )
    assert parse(document).envelope.payload == b"\xfb\xff{}"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda d: d.update(mediaType="application/vnd.dev.sigstore.bundle.v0.1+json"),
            "media type",
        ),
        (lambda d: d.pop("mediaType"), "mediaType is missing"),
        (lambda d: d.pop("dsseEnvelope"), "no dsseEnvelope"),
        (lambda d: d.pop("verificationMaterial"), "no verificationMaterial"),
        (
            lambda d: d["verificationMaterial"].update(certificate={"rawBytes": "AA=="}),
            "exactly one of",
        ),
        (lambda d: d["verificationMaterial"].pop("publicKey"), "exactly one of"),
        (lambda d: d["dsseEnvelope"].update(payloadType="text/plain"), "payloadType"),
        (lambda d: d["dsseEnvelope"].update(signatures=[]), "non-empty list"),
        (lambda d: d["dsseEnvelope"].update(payload="not base64!"), "not valid base64"),
        (lambda d: d["dsseEnvelope"]["signatures"][0].update(keyid=7), "keyid"),
        (lambda d: d["verificationMaterial"].update(tlogEntries={}), "tlogEntries"),
    ],
)
def test_malformed_bundles_are_rejected_with_the_field(mutate: Any, message: str) -> None:
    document = bundle_doc()
    mutate(document)
    with pytest.raises(SignatureFormatError, match=message) as caught:
        parse(document)
    assert caught.value.exit_code == ExitCode.FAILED
    assert caught.value.hint


@pytest.mark.parametrize("data", [b"", b"   \n", b"not json", b"[1, 2]", b"\xff\xfe"])
def test_non_bundles(data: bytes) -> None:
    with pytest.raises(SignatureFormatError, match="not a valid OMS signature"):
        parse_bundle(data)


def test_encode_bundle_is_compact_sorted_and_parses_back() -> None:
    envelope = DsseEnvelope(b'{"x":1}', "application/vnd.in-toto+json", (DsseSignature(b"s", ""),))
    bundle = encode_bundle(PublicKeyMaterial("cd" * 32), envelope)
    text = bundle.encoded.decode()
    assert not text.endswith("\n") and ": " not in text and ", " not in text
    document = json.loads(text)
    assert list(document) == sorted(document)
    assert document["mediaType"] == BUNDLE_MEDIA_TYPE
    assert document["verificationMaterial"] == {"publicKey": {"hint": "cd" * 32}, "tlogEntries": []}
    assert document["dsseEnvelope"]["signatures"] == [{"sig": "cw==", "keyid": ""}]
    assert parse_bundle(bundle.encoded) == bundle


def test_read_bundle_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="signature file not found"):
        read_bundle(tmp_path / "absent.sig")
    bad = tmp_path / "bad.sig"
    bad.write_text("{}")
    with pytest.raises(SignatureFormatError) as caught:
        read_bundle(bad)
    assert caught.value.path == bad


def test_oversized_signature_is_refused_without_reading_it(tmp_path: Path) -> None:
    from supplychain._internal.safeopen import SIGNATURE
    from supplychain.errors import InputError

    big = tmp_path / "big.sig"
    with big.open("wb") as handle:  # sparse: the size is all that matters
        handle.truncate(SIGNATURE.max_bytes + 1)
    with pytest.raises(InputError, match="larger than"):
        read_bundle(big)
