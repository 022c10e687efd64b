"""The incremental cache: reused only for unchanged files, stored safely, never racy."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from supplychain.hashing import cache as cache_module
from supplychain.hashing import hash_model


@pytest.fixture
def model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # Files written by the test are "racily clean" for a second; shrink the
    # window so the test need not sleep (the rule itself is tested below).
    monkeypatch.setattr(cache_module, "RACY_WINDOW_NS", 0)
    root = tmp_path / "m"
    for name, size in {"a.bin": 100_000, "sub/b.bin": 50_000, "README.md": 10}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(os.urandom(size))
    return root


def test_unchanged_model_is_not_read_again(model: Path) -> None:
    first = hash_model(model, use_cache=True)
    second = hash_model(model, use_cache=True)
    assert first.bytes_hashed == 150_010 and first.cache_hits == 0
    assert second.bytes_hashed == 0 and second.cache_hits == 3
    assert second.manifest == first.manifest


def test_only_the_changed_file_is_rehashed(model: Path) -> None:
    hash_model(model, use_cache=True)
    (model / "README.md").write_bytes(b"0123456789")  # same size, new content
    result = hash_model(model, use_cache=True)
    assert result.bytes_hashed == 10 and result.cache_hits == 2
    assert result.manifest == hash_model(model).manifest


def test_cache_is_keyed_by_algorithm_and_shards(model: Path) -> None:
    hash_model(model, use_cache=True)
    shards = hash_model(model, use_cache=True, shard_size=40_000)
    assert shards.cache_hits == 0
    assert shards.manifest == hash_model(model, shard_size=40_000).manifest
    assert hash_model(model, use_cache=True, shard_size=40_000).bytes_hashed == 0


def test_without_the_flag_the_cache_is_neither_read_nor_written(model: Path) -> None:
    hash_model(model)
    assert not (cache_module.cache_dir() / "hashes").exists()
    hash_model(model, use_cache=True)
    assert hash_model(model).bytes_hashed == 150_010


def test_cache_file_is_private_and_a_corrupt_one_is_ignored(model: Path) -> None:
    hash_model(model, use_cache=True)
    files = list((cache_module.cache_dir() / "hashes").iterdir())
    assert len(files) == 1
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    files[0].write_text("{not json")
    assert hash_model(model, use_cache=True).cache_hits == 0


def test_tampered_cache_entry_for_a_changed_file_is_not_used(model: Path) -> None:
    hash_model(model, use_cache=True)
    path = next((cache_module.cache_dir() / "hashes").iterdir())
    data = json.loads(path.read_text())
    assert len(data["entries"]) == 3
    (model / "a.bin").write_bytes(b"x" * 100_000)
    result = hash_model(model, use_cache=True)
    assert result.cache_hits == 2
    assert result.manifest == hash_model(model).manifest


def test_recently_modified_files_are_not_cached(tmp_path: Path) -> None:
    (tmp_path / "fresh.bin").write_bytes(b"just written")
    hash_model(tmp_path, use_cache=True)
    assert hash_model(tmp_path, use_cache=True).cache_hits == 0
