"""Output names (Hugging Face conventions) and shard indexes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from supplychain.conversion.errors import CheckpointFormatError
from supplychain.conversion.sharding import find_shard_sets, index_document, output_name
from supplychain.model.tree import walk_model


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("pytorch_model.bin", "model.safetensors"),
        ("pytorch_model-00001-of-00003.bin", "model-00001-of-00003.safetensors"),
        ("sub/diffusion_pytorch_model.bin", "sub/diffusion_pytorch_model.safetensors"),
        ("last.ckpt", "last.safetensors"),
        ("weights.PTH", "weights.safetensors"),
        ("arrays.npz", "arrays.safetensors"),
        (".bin", ".bin.safetensors"),
        ("noext", "noext.safetensors"),
    ],
)
def test_output_names(name: str, expected: str) -> None:
    assert output_name(name) == expected


def _model(tmp_path: Path, weight_map: dict[str, str], files: tuple[str, ...]) -> Path:
    model = tmp_path / "m"
    (model / "sub").mkdir(parents=True)
    for name in files:
        (model / name).write_bytes(b"x")
    (model / "sub" / "pytorch_model.bin.index.json").write_text(
        json.dumps({"metadata": {"total_size": 1, "note": "kept"}, "weight_map": weight_map})
    )
    return model


def test_shard_sets_resolve_names_relative_to_their_index(tmp_path: Path) -> None:
    model = _model(
        tmp_path, {"a": "s1.bin", "b": "s2.bin", "c": "s1.bin"}, ("sub/s1.bin", "sub/s2.bin")
    )
    tree = walk_model(model)
    (shard_set,) = find_shard_sets(tree, lambda f: f.path.read_text())
    assert shard_set.shards == ("sub/s1.bin", "sub/s2.bin")
    assert shard_set.output_index == "sub/model.safetensors.index.json"
    assert shard_set.metadata == {"note": "kept"}
    document = json.loads(
        index_document(
            shard_set,
            {"sub/s1.safetensors": ["a", "c"], "sub/s2.safetensors": ["b"]},
            42,
            {"d": "a"},
        )
    )
    assert document == {
        "metadata": {"d": "a", "note": "kept", "total_size": 42},
        "weight_map": {"a": "s1.safetensors", "b": "s2.safetensors", "c": "s1.safetensors"},
    }


def test_an_index_naming_a_missing_shard_is_an_error(tmp_path: Path) -> None:
    model = _model(tmp_path, {"a": "gone.bin"}, ())
    with pytest.raises(CheckpointFormatError, match=r"gone\.bin, which is not in the model"):
        find_shard_sets(walk_model(model), lambda f: f.path.read_text())


def test_a_deeply_nested_index_is_a_format_error_not_a_recursion(tmp_path: Path) -> None:
    model = _model(tmp_path, {"a": "s1.bin"}, ("s1.bin",))
    index = model / "sub" / "pytorch_model.bin.index.json"
    index.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(CheckpointFormatError, match="levels deep"):
        find_shard_sets(walk_model(model), lambda f: f.path.read_text())
