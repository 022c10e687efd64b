"""Hugging Face cache snapshots: detection, the blobs boundary, and offline blob checks."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from supplychain.errors import ModelTreeError
from supplychain.model.hfcache import check_blobs, detect_snapshot, walk_snapshot


def git_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def make_snapshot(root: Path, files: dict[str, tuple[bytes, bool]]) -> Path:
    """A cache repo; each file is (content, stored_with_lfs)."""
    repo = root / "hub" / "models--acme--tiny-model"
    snapshot = repo / "snapshots" / ("c0ffee" * 6 + "abcd")
    (repo / "blobs").mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(snapshot.name)
    for name, (data, lfs) in files.items():
        blob = hashlib.sha256(data).hexdigest() if lfs else git_sha1(data)
        (repo / "blobs" / blob).write_bytes(data)
        link = snapshot / name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(repo / "blobs" / blob, link.parent))
    return snapshot


@pytest.fixture
def snapshot(tmp_path: Path) -> Path:
    return make_snapshot(
        tmp_path,
        {
            "config.json": (b'{"a": 1}', False),
            "model.safetensors": (os.urandom(5000), True),
            "tokenizer/vocab.json": (b"{}", False),
        },
    )


def test_snapshot_is_recognised(snapshot: Path) -> None:
    info = detect_snapshot(snapshot)
    assert info is not None
    assert info.repo_id == "acme/tiny-model" and info.repo_type == "model"
    assert info.revision == snapshot.name
    assert detect_snapshot(snapshot.parent) is None


def test_walk_follows_links_into_blobs_only(snapshot: Path, tmp_path: Path) -> None:
    info = detect_snapshot(snapshot)
    assert info is not None
    tree = walk_snapshot(info)
    assert [f.name for f in tree.files] == [
        "config.json",
        "model.safetensors",
        "tokenizer/vocab.json",
    ]
    (tmp_path / "evil").write_text("x")
    (snapshot / "escape.bin").symlink_to(tmp_path / "evil")
    with pytest.raises(ModelTreeError, match="points outside the model") as err:
        walk_snapshot(info)
    assert "escape.bin" in err.value.diagnostics()


def test_intact_blobs_pass(snapshot: Path) -> None:
    info = detect_snapshot(snapshot)
    assert info is not None
    checks = check_blobs(walk_snapshot(info))
    assert [(c.name, c.kind, c.ok) for c in checks] == [
        ("config.json", "git-sha1", True),
        ("model.safetensors", "sha256", True),
        ("tokenizer/vocab.json", "git-sha1", True),
    ]


def test_corrupted_lfs_and_git_blobs_are_caught(snapshot: Path) -> None:
    info = detect_snapshot(snapshot)
    assert info is not None
    weights = Path(os.path.realpath(snapshot / "model.safetensors"))
    data = bytearray(weights.read_bytes())
    data[100] ^= 1
    weights.write_bytes(bytes(data))
    Path(os.path.realpath(snapshot / "config.json")).write_bytes(b'{"a": 2}')
    bad = [c for c in check_blobs(walk_snapshot(info)) if c.ok is False]
    assert [c.name for c in bad] == ["config.json", "model.safetensors"]
    assert bad[1].problem is not None and weights.name in bad[1].problem


def test_known_digests_avoid_a_second_read(snapshot: Path) -> None:
    info = detect_snapshot(snapshot)
    assert info is not None
    tree = walk_snapshot(info)
    wrong = {"model.safetensors": b"\x00" * 32}
    check = next(c for c in check_blobs(tree, wrong) if c.name == "model.safetensors")
    assert check.ok is False and check.actual == "00" * 32
