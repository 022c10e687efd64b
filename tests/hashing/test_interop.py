"""Our manifests and root digests equal model-signing 1.1.1's, computed by its own hashing."""

from __future__ import annotations

import hashlib
import string
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supplychain.hashing import hash_model

ms = pytest.importorskip("model_signing")


def reference(
    model: Path,
    algorithm: str = "sha256",
    shard_size: int | None = None,
    ignore: tuple[str, ...] = (),
) -> tuple[list[tuple[str, str, str]], str, dict[str, Any]]:
    """model-signing's resources, root digest and serialization parameters."""
    api_name = "blake2" if algorithm == "blake2b" else algorithm
    config = ms.hashing.Config()
    if shard_size is None:
        config.use_file_serialization(hashing_algorithm=api_name)
    else:
        config.use_shard_serialization(hashing_algorithm=api_name, shard_size=shard_size)
    # model-signing resolves ignore paths against the CWD; give it absolute ones.
    config.set_ignored_paths(paths=[model / p for p in ignore], ignore_git_paths=True)
    manifest = config.hash(model)
    descriptors = list(manifest.resource_descriptors())
    resources = [(d.identifier, d.digest.algorithm, d.digest.digest_hex) for d in descriptors]
    root = hashlib.sha256(b"".join(d.digest.digest_value for d in descriptors)).hexdigest()
    return resources, root, manifest.serialization_type


def ours(
    model: Path,
    algorithm: str = "sha256",
    shard_size: int | None = None,
    ignore: tuple[str, ...] = (),
) -> tuple[list[tuple[str, str, str]], str, dict[str, Any]]:
    result = hash_model(model, algorithm=algorithm, shard_size=shard_size, ignore=ignore)
    resources = [(r.name, r.algorithm, r.hex) for r in result.manifest.resources]
    return resources, result.root_digest_hex, result.manifest.serialization.to_json()


def assert_same(model: Path, **kwargs: Any) -> None:
    theirs = reference(model, **kwargs)
    mine = ours(model, **kwargs)
    assert mine[0] == theirs[0]
    assert mine[1] == theirs[1]
    their_serialization = dict(theirs[2])
    their_serialization["ignore_paths"] = sorted(their_serialization.get("ignore_paths", []))
    assert mine[2] == their_serialization


@pytest.fixture
def tricky_model(tmp_path: Path) -> Path:
    files = {
        "tok.json": b'{"a": 1}',
        "tok/vocab.txt": b"a\nb\n",
        "tok/merges/x": b"m" * 3000,
        "x y/w.bin": bytes(range(256)) * 40,
        "x-y.bin": b"-",
        "x.y": b".",
        "caf\u00e9/\u6a21\u578b.safetensors": b"\x00" * 2501,
        "empty.bin": b"",
        "nested/deep/er/model.bin": b"n" * 10_000,
        "README.md": b"# card\n",
        ".gitattributes": b"*.bin filter=lfs\n",
        ".git/config": b"[core]\n",
    }
    for name, data in files.items():
        path = tmp_path / "model" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return tmp_path / "model"


@pytest.mark.parametrize("algorithm", ["sha256", "blake2b", "blake3"])
def test_files_mode_matches(tricky_model: Path, algorithm: str) -> None:
    assert_same(tricky_model, algorithm=algorithm)


@pytest.mark.parametrize("algorithm", ["sha256", "blake2b"])
@pytest.mark.parametrize("shard_size", [1, 1000, 4096, 1_000_000_000])
def test_shards_mode_matches(tricky_model: Path, algorithm: str, shard_size: int) -> None:
    assert_same(tricky_model, algorithm=algorithm, shard_size=shard_size)


def test_ignore_paths_match(tricky_model: Path) -> None:
    assert_same(tricky_model, ignore=("tok", "README.md", "x y/w.bin"))


@pytest.mark.parametrize("shard_size", [None, 1000])
def test_single_file_model_matches(tricky_model: Path, shard_size: int | None) -> None:
    single = tricky_model / "x y" / "w.bin"
    assert_same(single, shard_size=shard_size)
    assert ours(single)[0][0][0] == "."


def test_digest_equals_model_signing_root(tricky_model: Path, run_cli: Any) -> None:
    result = run_cli("digest", tricky_model)
    assert result.exit_code == 0, result
    assert result.stdout.strip() == f"sha256:{reference(tricky_model)[1]}"


_NAME = st.text(
    alphabet=string.ascii_letters + string.digits + " -._é", min_size=1, max_size=6
).filter(lambda s: s not in (".", "..") and not s.startswith(".git"))


@st.composite
def trees(draw: st.DrawFn) -> dict[str, bytes]:
    paths = draw(st.lists(st.lists(_NAME, min_size=1, max_size=3), min_size=1, max_size=12))
    files: dict[str, bytes] = {}
    for parts in paths:
        name = "/".join(parts)
        # A path cannot be both a file and a directory.
        if any(name.startswith(f + "/") or f.startswith(name + "/") for f in files):
            continue
        files[name] = draw(st.binary(max_size=3000))
    return files


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(files=trees(), shard_size=st.sampled_from([None, 7, 1000]))
def test_random_trees_match(
    tmp_path_factory: pytest.TempPathFactory, files: dict[str, bytes], shard_size: int | None
) -> None:
    root = tmp_path_factory.mktemp("random")
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    assert_same(root, shard_size=shard_size)
