"""Key loading, OMS key identifiers, supported curves and passphrases."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from supplychain.signing.errors import KeyMaterialError
from supplychain.signing.keys import (
    generate_private_key,
    load_private_key,
    load_public_key,
    private_key_pem,
    public_key_hint,
    public_key_pem,
    signature_hash,
)


def test_hint_is_sha256_of_the_pem_text(new_key_pair: Any) -> None:
    pair = new_key_pair()
    assert (
        public_key_hint(pair.key.public_key())
        == hashlib.sha256(pair.public.read_bytes()).hexdigest()
    )


@pytest.mark.parametrize(
    ("curve", "hash_name"), [("P-256", "sha256"), ("P-384", "sha384"), ("P-521", "sha512")]
)
def test_curve_hashes(curve: str, hash_name: str) -> None:
    assert signature_hash(generate_private_key(curve)).name == hash_name


def test_encrypted_key_asks_only_when_needed(new_key_pair: Any) -> None:
    asked: list[int] = []

    def passphrase() -> bytes:
        asked.append(1)
        return b"correct horse"

    plain = new_key_pair("plain")
    load_private_key(plain.private, passphrase)
    assert asked == []
    encrypted = new_key_pair("enc", passphrase=b"correct horse")
    assert (
        load_private_key(encrypted.private, passphrase).public_key() == encrypted.key.public_key()
    )
    assert asked == [1]


def test_encrypted_key_errors(new_key_pair: Any) -> None:
    encrypted = new_key_pair("enc", passphrase=b"secret")
    with pytest.raises(KeyMaterialError, match="encrypted and no passphrase"):
        load_private_key(encrypted.private)
    with pytest.raises(KeyMaterialError, match="wrong passphrase"):
        load_private_key(encrypted.private, b"guess")


def test_generated_keys_round_trip(tmp_path: Path) -> None:
    key = generate_private_key("P-384")
    path = tmp_path / "k.pem"
    path.write_bytes(private_key_pem(key, b"pw"))
    assert b"ENCRYPTED" in path.read_bytes()
    assert load_private_key(path, b"pw").public_key() == key.public_key()
    (tmp_path / "k.pub").write_bytes(public_key_pem(key.public_key()))
    assert load_public_key(tmp_path / "k.pub") == key.public_key()


def test_public_key_with_text_around_the_pem_block(tmp_path: Path) -> None:
    # certtool writes a human description before the PEM block (model-transparency's test key).
    key = generate_private_key("P-384")
    path = tmp_path / "k.pub"
    path.write_bytes(
        b"Public Key Information:\n\tCurve: SECP384R1\n\n" + public_key_pem(key.public_key())
    )
    assert load_public_key(path) == key.public_key()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: ed25519.Ed25519PrivateKey.generate(), "not an elliptic-curve key"),
        (
            lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
            "not an elliptic-curve key",
        ),
        (lambda: ec.generate_private_key(ec.SECP256K1()), "secp256k1"),
    ],
)
def test_unsupported_keys(tmp_path: Path, make: object, message: str) -> None:
    key = make()  # type: ignore[operator]
    path = tmp_path / "k.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(KeyMaterialError, match=message) as caught:
        load_private_key(path)
    assert "P-256" in (caught.value.hint or "")
    public = tmp_path / "k.pub"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    with pytest.raises(KeyMaterialError, match=message):
        load_public_key(public)


def test_missing_and_garbage_files(tmp_path: Path) -> None:
    with pytest.raises(KeyMaterialError, match="not found"):
        load_private_key(tmp_path / "nope.pem")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("hello")
    with pytest.raises(KeyMaterialError, match="not a PEM private key"):
        load_private_key(garbage)
    with pytest.raises(KeyMaterialError, match="not a public key"):
        load_public_key(garbage)
