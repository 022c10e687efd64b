"""``sign`` and ``verify``: results, refusals, the signature file, caching and isolation."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

import supplychain
from supplychain.errors import ExitCode, InputError
from supplychain.hashing import hash_model
from supplychain.hashing.cache import HashCache, _identity_key
from supplychain.model.tree import walk_model
from supplychain.signing import (
    IntegrityError,
    KeySigner,
    KeyVerifier,
    SignatureFormatError,
    SignatureVerificationError,
    SignResult,
    VerifyResult,
    sign,
    verify,
)


def make(root: Path, files: dict[str, bytes]) -> Path:
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content)
    return root


def test_public_api_is_exported() -> None:
    assert supplychain.sign is sign and supplychain.verify is verify
    assert supplychain.SignResult is SignResult and supplychain.VerifyResult is VerifyResult


def test_sign_then_verify(tmp_path: Path, key_pair: Any) -> None:
    root = make(tmp_path / "m", {"a.bin": b"a", "d/b.bin": b"b"})
    result = sign(root, KeySigner.from_file(key_pair.private), signature=tmp_path / "m.sig")
    assert result.signature == tmp_path / "m.sig" and result.signature.is_file()
    assert result.manifest == hash_model(root).manifest
    assert result.to_json()["root_digest"] == f"sha256:{hash_model(root).root_digest_hex}"
    verified = verify(root, tmp_path / "m.sig", KeyVerifier.from_file(key_pair.public))
    assert verified.verified and verified.integrity.files_checked == 2
    assert verified.manifest.root_digest == result.manifest.root_digest
    document = verified.to_json()
    assert document["verified"] is True and document["signer"]["method"] == "key"
    json.dumps(document)


def test_default_signature_travels_with_the_model(
    tmp_path: Path, key_pair: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make(tmp_path / "m", {"a": b"a"})
    monkeypatch.chdir(tmp_path)
    signer = KeySigner.from_file(key_pair.private)
    result = sign(root, signer)
    assert result.signature == root / "model.sig"
    assert [r.name for r in result.manifest.resources] == ["a"]  # not itself
    single = sign(root / "a", signer)
    assert single.signature == root / "a.sig"
    assert [r.name for r in single.manifest.resources] == ["."]


def test_signature_inside_the_model_is_excluded_and_recorded(tmp_path: Path, key_pair: Any) -> None:
    root = make(tmp_path / "m", {"a": b"a"})
    signature = root / "model.sig"
    signature.write_text("an old signature, about to be replaced")
    result = sign(root, KeySigner.from_file(key_pair.private), signature=signature)
    assert [r.name for r in result.manifest.resources] == ["a"]
    assert "model.sig" in result.manifest.serialization.ignore_paths
    # Re-signing (signature now present and different) verifies and reproduces the same bytes.
    first = signature.read_bytes()
    verify(root, signature, KeyVerifier.from_file(key_pair.public))
    sign(root, KeySigner.from_file(key_pair.private), signature=signature)
    assert signature.read_bytes() == first


def test_empty_models_are_refused(tmp_path: Path, key_pair: Any) -> None:
    """Stricter: model-signing 1.1.1 signs an empty directory; the OMS spec forbids it."""
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="nothing to sign"):
        sign(empty, KeySigner.from_file(key_pair.private), signature=tmp_path / "e.sig")
    only_ignored = make(tmp_path / "ignored", {".gitignore": b"*", "README.md": b"x"})
    with pytest.raises(InputError, match="once ignored paths are left out"):
        sign(
            only_ignored,
            KeySigner.from_file(key_pair.private),
            signature=tmp_path / "e.sig",
            ignore=["README.md"],
        )
    empty_files = make(tmp_path / "zeros", {"a": b"", "b/c": b""})
    with pytest.raises(InputError, match="every file is empty"):
        sign(
            empty_files,
            KeySigner.from_file(key_pair.private),
            signature=tmp_path / "e.sig",
            shard_size=1024,
        )
    assert not (tmp_path / "e.sig").exists()


def test_unwritable_signature_path_fails_before_signing(tmp_path: Path, key_pair: Any) -> None:
    root = make(tmp_path / "m", {"a": b"a"})
    calls: list[bytes] = []

    class CountingSigner(KeySigner):
        def sign(self, statement: bytes) -> Any:
            calls.append(statement)
            return super().sign(statement)

    signer = CountingSigner(KeySigner.from_file(key_pair.private)._key)
    with pytest.raises(InputError, match="directory does not exist"):
        sign(root, signer, signature=tmp_path / "missing" / "model.sig")
    with pytest.raises(InputError, match="is a directory"):
        sign(root, signer, signature=tmp_path)
    assert calls == []


def test_signature_may_not_overwrite_a_single_file_model(tmp_path: Path, key_pair: Any) -> None:
    path = make(tmp_path, {"weights.bin": b"w"}) / "weights.bin"
    with pytest.raises(InputError, match="overwrite the model"):
        sign(path, KeySigner.from_file(key_pair.private), signature=path)
    assert path.read_bytes() == b"w"


def test_other_serializations_round_trip(tmp_path: Path, key_pair: Any) -> None:
    root = make(tmp_path / "m", {"big": b"z" * 5000, "small": b"s"})
    signer, verifier = KeySigner.from_file(key_pair.private), KeyVerifier.from_file(key_pair.public)
    for options in (
        {"shard_size": 1024},
        {"algorithm": "blake3"},
        {"algorithm": "blake2b", "shard_size": 999},
    ):
        signature = tmp_path / "s.sig"
        sign(root, signer, signature=signature, **options)
        assert verify(root, signature, verifier).verified
    (root / "big").write_bytes(b"z" * 4999 + b"!")
    with pytest.raises(IntegrityError) as caught:
        verify(root, signature, verifier)
    assert caught.value.report.modified == ("big",)
    assert caught.value.exit_code == ExitCode.FAILED
    assert caught.value.signer is not None


def test_verify_failures_are_typed(tmp_path: Path, key_pair: Any, new_key_pair: Any) -> None:
    root = make(tmp_path / "m", {"a": b"a"})
    signature = tmp_path / "m.sig"
    sign(root, KeySigner.from_file(key_pair.private), signature=signature)
    with pytest.raises(SignatureVerificationError, match="different key"):
        verify(root, signature, KeyVerifier.from_file(new_key_pair("other").public))
    broken = tmp_path / "broken.sig"
    broken.write_bytes(signature.read_bytes()[:-10])
    with pytest.raises(SignatureFormatError) as caught:
        verify(root, broken, KeyVerifier.from_file(key_pair.public))
    assert caught.value.path == broken
    with pytest.raises(InputError, match="no such file"):
        verify(tmp_path / "absent", signature, KeyVerifier.from_file(key_pair.public))


def test_verify_ignores_the_hash_cache_unless_asked(tmp_path: Path, key_pair: Any) -> None:
    """A poisoned cache entry (the old digest for a modified file) is believed only when asked."""
    root = make(tmp_path / "m", {"weights.bin": b"original"})
    signature = tmp_path / "m.sig"
    signed = sign(root, KeySigner.from_file(key_pair.private), signature=signature)
    (root / "weights.bin").write_bytes(b"tampered")
    # Whoever can write the cache can make it claim the tampered file has the signed digest.
    cache = HashCache(walk_model(root).root)
    identity = walk_model(root).files[0].identity
    cache._new = {_identity_key(identity): {"sha256": signed.manifest.resources[0].hex}}
    cache.save()
    verifier = KeyVerifier.from_file(key_pair.public)
    with pytest.raises(IntegrityError, match=r"modified: weights\.bin"):
        verify(root, signature, verifier)
    assert verify(root, signature, verifier, use_cache=True).verified


def test_no_state_leaks_between_verifications(tmp_path: Path, key_pair: Any) -> None:
    """Upstream PR #650: one config reused for two models leaked the first one's ignore paths."""
    signer, verifier = KeySigner.from_file(key_pair.private), KeyVerifier.from_file(key_pair.public)
    first = make(tmp_path / "first", {"config.json": b"{}", "weights.bin": b"not signed here"})
    second = make(tmp_path / "second", {"config.json": b"{}", "weights.bin": b"signed"})
    sign(first, signer, signature=tmp_path / "first.sig", ignore=["weights.bin"])
    sign(second, signer, signature=tmp_path / "second.sig")
    assert verify(first, tmp_path / "first.sig", verifier).verified
    (second / "weights.bin").write_bytes(b"tampered")
    with pytest.raises(IntegrityError) as caught:
        verify(second, tmp_path / "second.sig", verifier)
    assert caught.value.report.modified == ("weights.bin",)


def test_copied_model_verifies_anywhere(tmp_path: Path, key_pair: Any) -> None:
    root = make(tmp_path / "m", {"a": b"a", "sub/b": b"b"})
    sign(root, KeySigner.from_file(key_pair.private), signature=root / "model.sig")
    copy = tmp_path / "elsewhere" / "renamed"
    shutil.copytree(root, copy)
    assert verify(copy, copy / "model.sig", KeyVerifier.from_file(key_pair.public)).verified
