"""Fixtures for signing tests: keys, a test PKI, model layouts and the pinned Sigstore trust."""

from __future__ import annotations

import datetime
import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DATA = Path(__file__).parent / "data"
TRUST_CONFIG = DATA / "sigstore-trust-config.json"
FIXTURES = "fixtures/oms/model-transparency"

NOW = datetime.datetime.now(datetime.timezone.utc)
DAY = datetime.timedelta(days=1)


@dataclass(frozen=True)
class KeyPair:
    private: Path
    public: Path
    key: ec.EllipticCurvePrivateKey


def write_key_pair(
    directory: Path,
    name: str = "k",
    curve: ec.EllipticCurve | None = None,
    passphrase: bytes | None = None,
) -> KeyPair:
    key = ec.generate_private_key(curve or ec.SECP256R1())
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    private = directory / f"{name}.pem"
    private.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    )
    public = directory / f"{name}.pub"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return KeyPair(private, public, key)


NewKeyPair = Callable[..., KeyPair]


@pytest.fixture
def new_key_pair(tmp_path: Path) -> NewKeyPair:
    """``new_key_pair(name="k", curve=None, passphrase=None)`` writes a key pair under tmp_path."""
    keys = tmp_path / "keys"
    keys.mkdir(exist_ok=True)

    def make(
        name: str = "k", curve: ec.EllipticCurve | None = None, passphrase: bytes | None = None
    ) -> KeyPair:
        return write_key_pair(keys, name, curve, passphrase)

    return make


@pytest.fixture
def key_pair(tmp_path: Path) -> KeyPair:
    keys = tmp_path / "keys"
    keys.mkdir()
    return write_key_pair(keys)


# --- a test PKI: root -> intermediate -> leaves ------------------------------------------


@dataclass(frozen=True)
class Issued:
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    cert_path: Path
    key_path: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _issue(
    directory: Path,
    name: str,
    issuer: Issued | None,
    *,
    ca: bool,
    not_before: datetime.datetime = NOW - DAY,
    not_after: datetime.datetime = NOW + 365 * DAY,
    key_usage: x509.KeyUsage | None = None,
    extended: list[x509.ObjectIdentifier] | None = None,
) -> Issued:
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if ca and issuer is None
        else ec.generate_private_key(ec.SECP384R1() if not ca else ec.SECP256R1())
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(_name(name) if issuer is None else issuer.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    if key_usage is not None:
        builder = builder.add_extension(key_usage, critical=True)
    if extended is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(extended), critical=False)
    signing_key = key if issuer is None else issuer.key
    certificate = builder.sign(signing_key, hashes.SHA256())
    cert_path = directory / f"{name}.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path = directory / f"{name}.key"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Issued(certificate, key, cert_path, key_path)


def _usage(
    *, digital_signature: bool = False, key_cert_sign: bool = False, key_encipherment: bool = False
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=key_encipherment,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=key_cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


@dataclass(frozen=True)
class Pki:
    directory: Path
    root: Issued
    intermediate: Issued

    def leaf(self, name: str = "leaf", **kwargs: object) -> Issued:
        """A code-signing leaf under the intermediate; kwargs override validity and usages."""
        options: dict[str, object] = {
            "key_usage": _usage(digital_signature=True),
            "extended": [ExtendedKeyUsageOID.CODE_SIGNING],
        }
        options.update(kwargs)
        return _issue(self.directory, name, self.intermediate, ca=False, **options)  # type: ignore[arg-type]

    usage = staticmethod(_usage)

    def other_root(self) -> Issued:
        return _issue(
            self.directory, "other-root", None, ca=True, key_usage=_usage(key_cert_sign=True)
        )


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    directory = tmp_path / "pki"
    directory.mkdir()
    ca_usage = _usage(key_cert_sign=True)
    since = NOW - 365 * DAY
    root = _issue(directory, "root-ca", None, ca=True, key_usage=ca_usage, not_before=since)
    intermediate = _issue(
        directory, "intermediate-ca", root, ca=True, key_usage=ca_usage, not_before=since
    )
    return Pki(directory, root, intermediate)


# --- model layouts ------------------------------------------------------------------------

#: name -> {relative path: content}; each is a shape model-signing and we must agree on.
LAYOUTS: dict[str, dict[str, bytes]] = {
    "multi-file": {
        "config.json": b'{"a": 1}',
        "model.safetensors": b"\x00" * 4096 + b"weights",
        "tokenizer.json": b"{}",
    },
    "nested": {
        "a/b/c/deep.bin": b"deep",
        "a/b.bin": b"b",
        "a-b/x": b"x",
        "tok/a": b"t",
        "tok.json": b"j",
        "x y": b"space",
    },
    "unicode": {"é.bin": b"e-acute", "日本/語.txt": "テキスト".encode(), "ñ/ü.json": b"{}"},
    "empty-file": {"empty": b"", "sub/also-empty": b"", "data.bin": b"data"},
    "ignore-path": {
        "model.bin": b"weights",
        "README.md": b"# card",
        "logs/run.txt": b"log",
        ".git/HEAD": b"ref: refs/heads/main",
        ".gitattributes": b"*.bin lfs",
        ".github/workflows/ci.yml": b"on: push",
    },
}
#: Paths the ignore-path layout is signed without (besides the git defaults).
IGNORED = ("README.md", "logs")


def write_layout(root: Path, files: dict[str, bytes]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return root


MakeModel = Callable[[str], Path]


@pytest.fixture
def make_model(tmp_path: Path) -> MakeModel:
    """Write one of :data:`LAYOUTS` (or ``single-file``) under tmp_path; returns the model path."""

    def make(layout: str) -> Path:
        if layout == "single-file":
            directory = tmp_path / "single"
            directory.mkdir(exist_ok=True)
            path = directory / "model.safetensors"
            path.write_bytes(b"single file model " * 100)
            return path
        return write_layout(tmp_path / layout, LAYOUTS[layout])

    return make


# --- keyless signing against services that are not there ----------------------------------


def closed_local_url() -> str:
    """http://127.0.0.1:PORT where nothing listens (the port was just released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def unreachable_trust_config(tmp_path: Path) -> Path:
    """The pinned trust root, with every signing service moved to a closed local port."""
    document = json.loads(TRUST_CONFIG.read_text())
    url = closed_local_url()
    for key in ("caUrls", "oidcUrls", "rekorTlogUrls", "tsaUrls"):
        for service in document["signingConfig"][key]:
            service["url"] = url
    path = tmp_path / "unreachable-trust-config.json"
    path.write_text(json.dumps(document))
    return path


def identity_token(**claims: object) -> str:
    """A syntactically valid OIDC token (only Fulcio would check its signature)."""
    import jwt

    now = int(time.time())
    body = {
        "iss": "https://oauth2.sigstore.dev/auth",
        "sub": "release@example.com",
        "email": "release@example.com",
        "aud": "sigstore",
        "iat": now,
        "exp": now + 600,
        **claims,
    }
    return jwt.encode(body, "a-test-secret-that-is-long-enough-for-hs256", algorithm="HS256")
