"""The committed fixtures (made by make_fixtures.py with torch) convert exactly, without torch."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from supplychain.conversion import convert
from supplychain.errors import InputError
from tests.conversion.reading import header_order, read_safetensors

FIXTURES = Path(__file__).with_name("fixtures")
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())
SINGLE_FILES = sorted(name for name in EXPECTED if name != "sharded")
#: nested.pt holds three state dicts beside a step and optimizer state: each is chosen by --key.
NESTED_KEYS = ("model", "ema", "extra")


def _assert_matches(metadata: dict[str, str], tensors: dict[str, dict], expected: dict) -> None:
    assert metadata == {"format": "pt", **expected["aliases"]}
    assert sorted(tensors) == sorted(expected["tensors"])
    for name, want in expected["tensors"].items():
        got = tensors[name]
        assert (got["dtype"], got["shape"], got["blake3"]) == (
            want["dtype"],
            want["shape"],
            want["blake3"],
        ), name


@pytest.mark.parametrize("name", SINGLE_FILES)
def test_fixture_converts_to_the_expected_tensors(name: str, tmp_path: Path) -> None:
    source = tmp_path / name
    shutil.copyfile(FIXTURES / name, source)
    before = hashlib.sha256(source.read_bytes()).hexdigest()

    if name == "nested.pt":
        _assert_nested(source, tmp_path)
        return
    report = convert(source, tmp_path / "out.safetensors")

    metadata, tensors = read_safetensors(tmp_path / "out.safetensors")
    _assert_matches(metadata, tensors, EXPECTED[name])
    assert hashlib.sha256(source.read_bytes()).hexdigest() == before
    (conversion,) = report.files
    assert conversion.source_sha256 == before
    assert (
        conversion.output_sha256
        == hashlib.sha256((tmp_path / "out.safetensors").read_bytes()).hexdigest()
    )
    assert conversion.self_check.tensors == len(EXPECTED[name]["tensors"])


def _assert_nested(source: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError) as choose:
        convert(source, tmp_path / "out.safetensors")
    assert all(f"--key {key} " in choose.value.problem for key in NESTED_KEYS)
    for key in NESTED_KEYS:
        output = tmp_path / f"{key}.safetensors"
        report = convert(source, output, key=key)
        assert report.files[0].selected == (key,)
        metadata, tensors = read_safetensors(output)
        expected = {
            name.removeprefix(f"{key}."): want
            for name, want in EXPECTED["nested.pt"]["tensors"].items()
            if name.startswith(f"{key}.")
        }
        _assert_matches(metadata, tensors, {"tensors": expected, "aliases": {}})


def test_header_is_sorted_like_the_reference_writer(tmp_path: Path) -> None:
    convert(FIXTURES / "dtypes.pt", tmp_path / "out.safetensors")
    order = header_order(tmp_path / "out.safetensors")
    _, tensors = read_safetensors(tmp_path / "out.safetensors")
    assert order[0] == "__metadata__"
    ranks = [
        "U64",
        "I64",
        "F64",
        "C64",
        "F32",
        "U32",
        "I32",
        "BF16",
        "F16",
        "U16",
        "I16",
        "F8_E5M2FNUZ",
        "F8_E4M3FNUZ",
        "F8_E8M0",
        "F8_E4M3",
        "F8_E5M2",
        "I8",
        "U8",
        "F4",
        "BOOL",
    ]
    keys = [(ranks.index(tensors[n]["dtype"]), n.encode()) for n in order[1:]]
    assert keys == sorted(keys)


def test_output_is_deterministic(tmp_path: Path) -> None:
    first = convert(FIXTURES / "views.pt", tmp_path / "a.safetensors").files[0]
    second = convert(FIXTURES / "views.pt", tmp_path / "b.safetensors").files[0]
    assert (tmp_path / "a.safetensors").read_bytes() == (tmp_path / "b.safetensors").read_bytes()
    assert first.output_sha256 == second.output_sha256


def test_sharded_fixture_gets_a_recomputed_index(tmp_path: Path) -> None:
    model = tmp_path / "model"
    shutil.copytree(FIXTURES / "sharded", model)

    report = convert(model)

    index = json.loads((model / "model.safetensors.index.json").read_text())
    shards = {}
    for shard in ("model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"):
        metadata, tensors = read_safetensors(model / shard)
        shards[shard] = (metadata, tensors)
    written = {name: shard for shard, (_, tensors) in shards.items() for name in tensors}
    assert index["weight_map"] == written
    assert index["metadata"]["total_size"] == sum(
        len(t["data"]) for _, tensors in shards.values() for t in tensors.values()
    )
    assert index["metadata"]["lm_head.weight"] == "embed.weight"
    all_tensors = {name: t for _, tensors in shards.values() for name, t in tensors.items()}
    _assert_matches(
        {"format": "pt", **EXPECTED["sharded"]["aliases"]}, all_tensors, EXPECTED["sharded"]
    )
    assert shards["model-00001-of-00002.safetensors"][0] == {
        "format": "pt",
        "lm_head.weight": "embed.weight",
    }
    assert [i.output_name for i in report.indexes] == ["model.safetensors.index.json"]
    assert (model / "pytorch_model-00001-of-00002.bin").read_bytes() == (
        FIXTURES / "sharded" / "pytorch_model-00001-of-00002.bin"
    ).read_bytes()


def test_fixtures_stay_small() -> None:
    total = sum(p.stat().st_size for p in FIXTURES.rglob("*") if p.is_file())
    assert total < 100_000
