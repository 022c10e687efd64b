"""Comparing a model on disk with a signed manifest: missing, extra and modified files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from supplychain.errors import InputError, ModelTreeError
from supplychain.hashing import hash_model
from supplychain.hashing.manifest import Manifest, Resource, Serialization
from supplychain.signing.integrity import check_integrity


def model(tmp_path: Path, files: dict[str, bytes]) -> Path:
    root = tmp_path / "model"
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content)
    return root


def test_unchanged_model_matches(tmp_path: Path) -> None:
    root = model(tmp_path, {"a": b"1", "d/b": b"2", "empty": b""})
    report = check_integrity(root, hash_model(root).manifest)
    assert report.ok and report.problems() == []
    assert report.files_checked == 3


def test_every_kind_of_difference_is_named(tmp_path: Path) -> None:
    root = model(tmp_path, {"keep": b"k", "change": b"old", "gone/file": b"g"})
    signed = hash_model(root).manifest
    (root / "change").write_bytes(b"new")
    (root / "gone/file").unlink()
    (root / "added").write_bytes(b"+")
    report = check_integrity(root, signed)
    assert (report.modified, report.missing, report.extra) == (
        ("change",),
        ("gone/file",),
        ("added",),
    )
    assert report.problems() == [
        "modified: change",
        "missing (signed, not on disk): gone/file",
        "extra (on disk, not signed): added",
    ]
    assert report.to_json()["ok"] is False


def test_shards_are_reported_per_file(tmp_path: Path) -> None:
    root = model(tmp_path, {"big": b"x" * 2500, "small": b"s", "empty": b""})
    signed = hash_model(root, shard_size=1000).manifest
    assert len(signed.resources) == 4
    data = bytearray((root / "big").read_bytes())
    data[1500] ^= 1
    (root / "big").write_bytes(bytes(data))
    (root / "new-empty").write_bytes(b"")  # cannot be signed in shards mode, so not "extra"
    report = check_integrity(root, signed)
    assert (report.modified, report.missing, report.extra) == (("big",), (), ())


def test_signature_ignore_paths_and_git_defaults_are_reapplied(tmp_path: Path) -> None:
    root = model(tmp_path, {"w.bin": b"w", "notes.txt": b"n", ".git/HEAD": b"ref"})
    signed = hash_model(root, ignore=["notes.txt"]).manifest
    assert signed.serialization.ignore_paths == (
        ".git",
        ".gitattributes",
        ".github",
        ".gitignore",
        "notes.txt",
    )
    (root / "notes.txt").write_bytes(b"changed, but ignored by the signer")
    (root / ".git/HEAD").write_bytes(b"changed")
    assert check_integrity(root, signed).ok
    # Signed with git paths included: verifying needs the same choice (as upstream).
    with_git = hash_model(root, ignore_git_paths=False).manifest
    assert ".git/HEAD" in with_git.by_name()
    assert check_integrity(root, with_git).missing == (".git/HEAD",)
    assert check_integrity(root, with_git, ignore_git_paths=False).ok


def test_ignore_unsigned_files_reads_only_signed_names(tmp_path: Path) -> None:
    root = model(tmp_path, {"signed.bin": b"s"})
    signed = hash_model(root).manifest
    os.mkfifo(root / "unsigned.fifo")  # reading it would block; walking it is refused
    (root / "unsigned.txt").write_bytes(b"u")
    with pytest.raises(ModelTreeError, match="not a regular file"):
        check_integrity(root, signed)
    report = check_integrity(root, signed, ignore_unsigned_files=True)
    assert report.ok and report.files_checked == 1 and report.ignored_unsigned


def test_ignore_unsigned_files_still_reports_missing_and_modified(tmp_path: Path) -> None:
    root = model(tmp_path, {"a": b"1", "b": b"2"})
    signed = hash_model(root).manifest
    (root / "a").write_bytes(b"changed")
    (root / "b").unlink()
    report = check_integrity(root, signed, ignore_unsigned_files=True)
    assert (report.modified, report.missing) == (("a",), ("b",))


@pytest.mark.parametrize("name", ["../escape", "/etc/hostname", "a\\b"])
def test_unsafe_names_never_reach_the_filesystem(tmp_path: Path, name: str) -> None:
    """Upstream PR #647: with ignore_unsigned_files, '../' names were read outside the model."""
    root = model(tmp_path, {"a": b"1"})
    (tmp_path / "escape").write_bytes(b"outside the model")
    manifest = Manifest("m", Serialization(), (Resource(name, "sha256", b"\x00" * 32),))
    with pytest.raises(ModelTreeError, match="unsafe resource name"):
        check_integrity(root, manifest, ignore_unsigned_files=True)


def test_single_file_signed_as_dot_or_basename(tmp_path: Path) -> None:
    path = tmp_path / "weights.safetensors"
    path.write_bytes(b"tensor bytes")
    signed = hash_model(path).manifest
    assert [r.name for r in signed.resources] == ["."]
    assert check_integrity(path, signed).ok
    as_basename = Manifest(
        signed.model_name,
        signed.serialization,
        (Resource("weights.safetensors", "sha256", signed.resources[0].digest),),
    )
    assert check_integrity(path, as_basename).ok
    assert check_integrity(path, as_basename, ignore_unsigned_files=True).ok
    path.write_bytes(b"tensor bytez")
    assert check_integrity(path, as_basename).modified == (".",)


def test_summary_lists_are_bounded(tmp_path: Path) -> None:
    root = model(tmp_path, {f"f{i:02}": b"x" for i in range(15)})
    signed = hash_model(root).manifest
    for i in range(15):
        (root / f"f{i:02}").write_bytes(b"y")
    report = check_integrity(root, signed)
    assert report.problems()[0].endswith("and 5 more")
    assert len(report.modified) == 15
    assert "f14" in report.problems(limit=None)[0]


def test_empty_or_duplicated_manifests_are_refused(tmp_path: Path) -> None:
    root = model(tmp_path, {"a": b"1"})
    with pytest.raises(InputError, match="lists no files"):
        check_integrity(root, Manifest("m", Serialization(), ()))
    twice = Resource("a", "sha256", b"\x00" * 32)
    with pytest.raises(InputError, match="'a' more than once"):
        check_integrity(root, Manifest("m", Serialization(), (twice, twice)))


# -- hashing while the signature is checked ------------------------------------------------------


def _count_hashing(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every hashing pass integrity checks make (prehash or fallback)."""
    from supplychain.signing import integrity

    calls: list[str] = []
    real = integrity.hash_tree

    def counting(tree, serialization, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(serialization.resource_algorithm)
        return real(tree, serialization, **kwargs)

    monkeypatch.setattr(integrity, "hash_tree", counting)
    return calls


def test_prehashed_digests_are_used_for_default_signatures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from supplychain.signing.integrity import Prehash

    root = model(tmp_path, {"a.bin": b"a" * 5000, "README.md": b"# card", "sub/b": b"b"})
    # Signed without the README: the prehash hashes it too, and must drop it.
    signed = hash_model(root, ignore=["README.md"]).manifest
    calls = _count_hashing(monkeypatch)
    prehash = Prehash(root)
    report = check_integrity(root, signed, prehashed=prehash)
    assert report.ok and report.files_checked == 2
    assert calls == ["sha256"]  # one pass: the prehash's

    (root / "README.md").write_bytes(b"changed, but ignored by the signature")
    (root / "sub" / "b").write_bytes(b"B")
    report = check_integrity(root, signed, prehashed=Prehash(root))
    assert report.modified == ("sub/b",) and not report.extra


def test_other_serializations_are_hashed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from supplychain.signing.integrity import Prehash

    root = model(tmp_path, {"a.bin": b"a" * 5000})
    for options in ({"shard_size": 1000}, {"algorithm": "blake2b"}):
        signed = hash_model(root, **options).manifest  # type: ignore[arg-type]
        calls = _count_hashing(monkeypatch)
        prehash = Prehash(root)
        report = check_integrity(root, signed, prehashed=prehash)
        assert report.ok
        assert signed.serialization.resource_algorithm in calls
        assert prehash._cancel.is_set()  # the speculative pass was abandoned


def test_a_bad_signature_stops_the_prehash(tmp_path: Path) -> None:
    from supplychain.signing import KeyVerifier, verify
    from supplychain.signing.errors import SignatureFormatError
    from supplychain.signing.integrity import Prehash

    root = model(tmp_path, {"a.bin": os.urandom(64 << 20)})
    (tmp_path / "model.sig").write_text("{}")
    key = tmp_path / "k.pub"
    from supplychain.signing.keys import generate_private_key, public_key_pem

    key.write_bytes(public_key_pem(generate_private_key("P-256").public_key()))
    prehash = Prehash(root)
    with pytest.raises(SignatureFormatError):
        verify(root, tmp_path / "model.sig", KeyVerifier.from_file(key), prehashed=prehash)
    prehash._thread.join(timeout=30)
    assert not prehash._thread.is_alive()
    assert prehash._cancel.is_set() and prehash._result is None
