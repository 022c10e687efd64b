"""Sigstore keyless: offline verification of real bundles, and signing up to the network.

Verification uses the trust configuration pinned in tests/signing/data (built
from the trusted root and signing config shipped in the sigstore wheel), so no
network is needed. Signing goes through sigstore-python's real signing API
against a trust configuration whose services sit on a closed local port: the
test proves the flow reaches the Fulcio request and fails cleanly there,
writing nothing.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest

from supplychain.hashing import hash_model
from supplychain.signing import SigningError, SigstoreSigner, SigstoreVerifier, sign
from supplychain.signing.bundle import parse_bundle, read_bundle
from supplychain.signing.errors import KeyMaterialError, SignatureVerificationError
from supplychain.signing.statement import encode_statement
from tests.signing.conftest import identity_token

TRUST_CONFIG = Path(__file__).parents[1] / "data" / "sigstore-trust-config.json"
SAMPLE = "fixtures/oms/model-transparency/v1.1.0-sigstore/model.sig"
IDENTITY = "stefanb@us.ibm.com"
ISSUER = "https://sigstore.verify.ibm.com/oauth2"


def test_real_keyless_bundle_verifies_offline(shared: Path) -> None:
    bundle = read_bundle(shared / SAMPLE)
    verified = SigstoreVerifier(identity=IDENTITY, issuer=ISSUER, trust_config=TRUST_CONFIG).verify(
        bundle
    )
    assert json.loads(verified.payload)["subject"][0]["name"] == "v1.1.0-sigstore"
    assert verified.signer.details == {
        "identity": IDENTITY,
        "issuer": ISSUER,
        "tlog_entries": 1,
        "expected_identity": IDENTITY,
        "expected_issuer": ISSUER,
    }


@pytest.mark.parametrize(
    ("identity", "issuer"),
    [("*@us.ibm.com", ISSUER), (IDENTITY, "https://sigstore.verify.ibm.com/*"), ("stefan?@*", "*")],
)
def test_wildcard_identity_and_issuer_match(shared: Path, identity: str, issuer: str) -> None:
    verifier = SigstoreVerifier(identity=identity, issuer=issuer, trust_config=TRUST_CONFIG)
    verified = verifier.verify(read_bundle(shared / SAMPLE))
    # The report names who actually signed, not the pattern.
    assert verified.signer.details["identity"] == IDENTITY
    assert verified.signer.details["expected_identity"] == identity


@pytest.mark.parametrize(
    ("identity", "issuer", "message"),
    [
        ("*@example.com", ISSUER, "identity 'stefanb@us.ibm.com' does not match '\\*@example.com'"),
        (
            IDENTITY,
            "https://accounts.*",
            "issuer 'https://sigstore.verify.ibm.com/oauth2' does not",
        ),
    ],
)
def test_wildcard_mismatch_names_the_actual_signer(
    shared: Path, identity: str, issuer: str, message: str
) -> None:
    verifier = SigstoreVerifier(identity=identity, issuer=issuer, trust_config=TRUST_CONFIG)
    with pytest.raises(SignatureVerificationError, match=message):
        verifier.verify(read_bundle(shared / SAMPLE))


@pytest.mark.parametrize(
    ("identity", "issuer", "message"),
    [
        ("someone@example.com", ISSUER, "SANs do not match"),
        (IDENTITY, "https://accounts.google.com", "OIDCIssuer does not match"),
    ],
)
def test_wrong_identity_or_issuer_fails(
    shared: Path, identity: str, issuer: str, message: str
) -> None:
    verifier = SigstoreVerifier(identity=identity, issuer=issuer, trust_config=TRUST_CONFIG)
    with pytest.raises(SignatureVerificationError, match=message):
        verifier.verify(read_bundle(shared / SAMPLE))


def test_tampered_keyless_payload_fails(shared: Path) -> None:
    document = json.loads((shared / SAMPLE).read_bytes())
    statement = json.loads(base64.b64decode(document["dsseEnvelope"]["payload"]))
    statement["predicate"]["resources"][0]["digest"] = "00" * 32
    document["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    verifier = SigstoreVerifier(identity=IDENTITY, issuer=ISSUER, trust_config=TRUST_CONFIG)
    with pytest.raises(SignatureVerificationError, match="does not verify"):
        verifier.verify(parse_bundle(json.dumps(document).encode()))


def test_bad_trust_config_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "trust.json"
    path.write_text('{"mediaType": "nope"}')
    with pytest.raises(KeyMaterialError, match="not a Sigstore ClientTrustConfig"):
        SigstoreVerifier(identity=IDENTITY, issuer=ISSUER, trust_config=path)
    with pytest.raises(KeyMaterialError, match="trust configuration not found"):
        SigstoreVerifier(identity=IDENTITY, issuer=ISSUER, trust_config=tmp_path / "absent.json")


def test_identity_and_issuer_are_both_required() -> None:
    with pytest.raises(KeyMaterialError, match="both the expected identity and its OIDC issuer"):
        SigstoreVerifier(identity=IDENTITY, issuer="", trust_config=TRUST_CONFIG)


# --- signing, up to the network boundary ---------------------------------------------------


def test_signing_reaches_fulcio_and_fails_cleanly(
    unreachable_trust_config: Path, tmp_path: Path
) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.bin").write_bytes(b"w" * 100)
    signer = SigstoreSigner(
        identity_token=identity_token(),
        trust_config=unreachable_trust_config,
        use_ambient_credentials=False,
        interactive=False,
    )
    signature = tmp_path / "model.sig"
    with pytest.raises(SigningError, match="Sigstore signing failed") as caught:
        sign(model, signer, signature=signature)
    assert "127.0.0.1" in caught.value.problem
    assert "no signature was written" in (caught.value.hint or "")
    assert not signature.exists()
    assert list(tmp_path.glob(".model.sig.*")) == []


def test_statement_is_accepted_by_sigstore_before_the_network(
    unreachable_trust_config: Path, tmp_path: Path
) -> None:
    """Our payload passes sigstore-python's in-toto validation: the failure is the connection."""
    (tmp_path / "f").write_bytes(b"x")
    statement = encode_statement(hash_model(tmp_path / "f").manifest)
    signer = SigstoreSigner(
        identity_token=identity_token(),
        trust_config=unreachable_trust_config,
        use_ambient_credentials=False,
        interactive=False,
    )
    with pytest.raises(SigningError) as caught:
        signer.sign(statement)
    assert "malformed" not in caught.value.problem
    assert "Connection" in caught.value.problem or "connect" in caught.value.problem.lower()


def test_expired_token_is_refused(unreachable_trust_config: Path) -> None:
    now = int(time.time())
    signer = SigstoreSigner(
        identity_token=identity_token(iat=now - 1200, exp=now - 600),
        trust_config=unreachable_trust_config,
        interactive=False,
    )
    with pytest.raises(SigningError, match="identity token is not usable"):
        signer.identity_token()


def test_no_identity_without_interaction(unreachable_trust_config: Path) -> None:
    signer = SigstoreSigner(
        trust_config=unreachable_trust_config, use_ambient_credentials=False, interactive=False
    )
    with pytest.raises(SigningError, match="no identity token") as caught:
        signer.identity_token()
    assert "id-token: write" in (caught.value.hint or "")


def test_signer_identity_comes_from_the_certificate() -> None:
    """GitHub's SAN is the workflow URI (not the token's sub); long issuers use DER long form."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding

    from supplychain.signing.bundle import KeylessMaterial
    from supplychain.signing.methods.keyless import keyless_info

    workflow = "https://github.com/org/repo/.github/workflows/release.yml@refs/tags/v1.0"
    issuer = "https://token.actions.githubusercontent.com/" + "x" * 120  # > 127 bytes
    encoded = issuer.encode()
    der = b"\x0c\x81" + bytes([len(encoded)]) + encoded
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "fulcio")]))
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(minutes=10))
        .add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(workflow)]), True
        )
        .add_extension(
            x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8"), der), False
        )
        .sign(key, hashes.SHA256())
    )
    info = keyless_info(KeylessMaterial(certificate.public_bytes(Encoding.DER), 1))
    assert info.details["identity"] == workflow
    assert info.details["issuer"] == issuer
