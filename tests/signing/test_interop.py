"""Interoperability with model-signing 1.1.1, both ways, for every model shape.

model-signing signs (key and certificate methods, its Python API and CLI) and
we verify; we sign and model-signing verifies. Shapes: multi-file, nested,
unicode, empty files, a single file, and ignored paths (plus git metadata).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from supplychain.hashing import hash_model
from supplychain.signing import (
    CertificateSigner,
    CertificateVerifier,
    IntegrityError,
    KeySigner,
    KeyVerifier,
    sign,
    verify,
)
from tests.conftest import RunCli
from tests.signing.conftest import IGNORED, KeyPair, MakeModel

ms = pytest.importorskip("model_signing")

SHAPES = ["multi-file", "nested", "unicode", "empty-file", "single-file", "ignore-path"]
MODEL_SIGNING_CLI = [sys.executable, "-c", "from model_signing._cli import main; main()"]


def ignores(model: Path, shape: str) -> list[str]:
    return list(IGNORED) if shape == "ignore-path" else []


def their_hashing(model: Path, shape: str) -> Any:
    # model-signing resolves ignore paths against the CWD: give it absolute ones.
    return ms.hashing.Config().set_ignored_paths(paths=[model / p for p in ignores(model, shape)])


def their_key_signature(model: Path, shape: str, pair: KeyPair, signature: Path) -> None:
    config = ms.signing.Config().use_elliptic_key_signer(private_key=pair.private)
    config.set_hashing_config(their_hashing(model, shape)).sign(model, signature)


@pytest.mark.parametrize("shape", SHAPES)
def test_they_sign_with_a_key_we_verify(
    make_model: MakeModel, key_pair: KeyPair, tmp_path: Path, shape: str
) -> None:
    model = make_model(shape)
    signature = tmp_path / "theirs.sig"
    their_key_signature(model, shape, key_pair, signature)
    result = verify(model, signature, KeyVerifier.from_file(key_pair.public))
    assert (
        result.manifest.root_digest
        == hash_model(model, ignore=ignores(model, shape)).manifest.root_digest
    )
    assert result.warnings == ()


@pytest.mark.parametrize("shape", SHAPES)
def test_we_sign_with_a_key_they_verify(
    make_model: MakeModel, key_pair: KeyPair, tmp_path: Path, shape: str
) -> None:
    model = make_model(shape)
    signature = tmp_path / "ours.sig"
    sign(
        model,
        KeySigner.from_file(key_pair.private),
        signature=signature,
        ignore=ignores(model, shape),
    )
    # No hashing config: model-signing takes it (and the ignored paths) from our signature.
    ms.verifying.Config().use_elliptic_key_verifier(public_key=key_pair.public).verify(
        model, signature
    )


@pytest.mark.parametrize("shape", SHAPES)
def test_they_sign_with_a_certificate_we_verify(
    make_model: MakeModel, pki: Any, tmp_path: Path, shape: str
) -> None:
    model = make_model(shape)
    leaf = pki.leaf()
    signature = tmp_path / "theirs.sig"
    config = ms.signing.Config().use_certificate_signer(
        private_key=leaf.key_path,
        signing_certificate=leaf.cert_path,
        certificate_chain=[pki.intermediate.cert_path],
    )
    config.set_hashing_config(their_hashing(model, shape)).sign(model, signature)
    result = verify(model, signature, CertificateVerifier.from_files([pki.root.cert_path]))
    assert result.signer.details["subject"] == "CN=leaf"


@pytest.mark.parametrize("shape", SHAPES)
def test_we_sign_with_a_certificate_they_verify(
    make_model: MakeModel, pki: Any, tmp_path: Path, shape: str
) -> None:
    model = make_model(shape)
    leaf = pki.leaf()
    signature = tmp_path / "ours.sig"
    signer = CertificateSigner.from_files(
        leaf.key_path, leaf.cert_path, [pki.intermediate.cert_path]
    )
    sign(model, signer, signature=signature, ignore=ignores(model, shape))
    config = ms.verifying.Config().use_certificate_verifier(certificate_chain=[pki.root.cert_path])
    config.verify(model, signature)


@pytest.mark.parametrize("curve", ["P-384", "P-521"])
def test_other_curves_and_encrypted_keys(
    run_cli: RunCli,
    tmp_path: Path,
    make_model: MakeModel,
    monkeypatch: pytest.MonkeyPatch,
    curve: str,
) -> None:
    """A key from `supplychain keygen` (encrypted) signs with model-signing, and back."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KEY_PASSPHRASE", "s3cret")
    assert (
        run_cli(
            "keygen", "release", "--curve", curve, "--passphrase-env", "KEY_PASSPHRASE"
        ).exit_code
        == 0
    )
    model = make_model("nested")
    ms.signing.Config().use_elliptic_key_signer(private_key="release.key", password=b"s3cret").sign(
        model, "theirs.sig"
    )
    assert verify(model, "theirs.sig", KeyVerifier.from_file("release.pub")).verified
    signer = KeySigner.from_file("release.key", b"s3cret")
    sign(model, signer, signature="ours.sig")
    ms.verifying.Config().use_elliptic_key_verifier(public_key="release.pub").verify(
        model, "ours.sig"
    )


def test_tampering_is_caught_both_ways(
    make_model: MakeModel, key_pair: KeyPair, tmp_path: Path
) -> None:
    model = make_model("multi-file")
    their_key_signature(model, "multi-file", key_pair, tmp_path / "theirs.sig")
    sign(model, KeySigner.from_file(key_pair.private), signature=tmp_path / "ours.sig")
    (model / "config.json").write_bytes(b'{"a": 2}')
    with pytest.raises(IntegrityError) as caught:
        verify(model, tmp_path / "theirs.sig", KeyVerifier.from_file(key_pair.public))
    assert caught.value.report.modified == ("config.json",)
    with pytest.raises(ValueError, match=r"Hash mismatch for .*config\.json"):
        ms.verifying.Config().use_elliptic_key_verifier(public_key=key_pair.public).verify(
            model, tmp_path / "ours.sig"
        )


# --- model-signing's CLI, as a user would run it ---------------------------------------------


def model_signing(*args: str | os.PathLike[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [*MODEL_SIGNING_CLI, *(os.fspath(a) for a in args)]
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def test_model_signing_cli_verifies_our_key_signature(
    make_model: MakeModel, key_pair: KeyPair, tmp_path: Path, run_cli: RunCli
) -> None:
    model = make_model("ignore-path")
    shutil.copy(key_pair.private, tmp_path / "k.pem")
    result = run_cli(
        "sign",
        model,
        "--key",
        key_pair.private,
        "-s",
        model / "model.sig",
        "--ignore",
        "README.md",
        "--ignore",
        "logs",
    )
    assert result.exit_code == 0, result
    # The signature sits inside the model: it recorded itself as ignored.
    checked = model_signing(
        "verify",
        "key",
        model,
        "--signature",
        model / "model.sig",
        "--public_key",
        key_pair.public,
        cwd=tmp_path,
    )
    assert checked.returncode == 0, checked.stderr
    assert "Verification succeeded" in checked.stdout
    (model / "model.bin").write_bytes(b"evil weights")
    checked = model_signing(
        "verify",
        "key",
        model,
        "--signature",
        model / "model.sig",
        "--public_key",
        key_pair.public,
        cwd=tmp_path,
    )
    assert checked.returncode == 1 and "model.bin" in checked.stdout + checked.stderr


def test_we_verify_the_model_signing_cli_signature(
    make_model: MakeModel, key_pair: KeyPair, tmp_path: Path, run_cli: RunCli
) -> None:
    model = make_model("unicode")
    signed = model_signing(
        "sign",
        "key",
        model,
        "--private_key",
        key_pair.private,
        "--signature",
        tmp_path / "theirs.sig",
        cwd=tmp_path,
    )
    assert signed.returncode == 0, signed.stderr
    result = run_cli(
        "verify", model, "-s", tmp_path / "theirs.sig", "--public-key", key_pair.public
    )
    assert result.exit_code == 0, result
    assert "verified" in result.stdout


def test_model_signing_cli_verifies_our_certificate_signature(
    make_model: MakeModel, pki: Any, tmp_path: Path, run_cli: RunCli
) -> None:
    model = make_model("single-file")
    leaf = pki.leaf()
    result = run_cli(
        "sign",
        model,
        "--certificate",
        leaf.cert_path,
        "--chain",
        pki.intermediate.cert_path,
        "--key",
        leaf.key_path,
        "-s",
        tmp_path / "ours.sig",
    )
    assert result.exit_code == 0, result
    checked = model_signing(
        "verify",
        "certificate",
        model,
        "--signature",
        tmp_path / "ours.sig",
        "--certificate_chain",
        pki.root.cert_path,
        cwd=tmp_path,
    )
    assert checked.returncode == 0, checked.stderr


@pytest.mark.parametrize(
    ("their_config", "ours"),
    [
        (
            {"method": "shards", "hashing_algorithm": "sha256", "shard_size": 1000},
            {"shard_size": 1000},
        ),
        ({"method": "files", "hashing_algorithm": "blake2"}, {"algorithm": "blake2b"}),
        ({"method": "files", "hashing_algorithm": "blake3"}, {"algorithm": "blake3"}),
    ],
)
def test_other_serializations_both_ways(
    make_model: MakeModel,
    key_pair: KeyPair,
    tmp_path: Path,
    their_config: dict[str, Any],
    ours: dict[str, Any],
) -> None:
    """Shards (model-signing writes shard_size as a float), blake2b and blake3."""
    model = make_model("multi-file")
    options = dict(their_config)
    hashing = ms.hashing.Config()
    if options.pop("method") == "shards":
        hashing.use_shard_serialization(**options)
    else:
        hashing.use_file_serialization(**options)
    config = ms.signing.Config().use_elliptic_key_signer(private_key=key_pair.private)
    config.set_hashing_config(hashing).sign(model, tmp_path / "theirs.sig")
    verifier = KeyVerifier.from_file(key_pair.public)
    assert verify(model, tmp_path / "theirs.sig", verifier).verified
    sign(model, KeySigner.from_file(key_pair.private), signature=tmp_path / "ours.sig", **ours)
    their_verifier = ms.verifying.Config().use_elliptic_key_verifier(public_key=key_pair.public)
    their_verifier.set_hashing_config(hashing).verify(model, tmp_path / "ours.sig")
