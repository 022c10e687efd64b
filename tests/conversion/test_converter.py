"""End to end with real torch 2.13 checkpoints: our output, loaded with safetensors.torch, equals
what torch.load(weights_only=True) returns, tensor for tensor (in-memory tensors where torch
itself cannot load the file)."""

from __future__ import annotations

import collections
import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from supplychain.conversion import (
    ConvertExit,
    UnsafeCheckpointError,
    UnsupportedContentError,
    convert,
)
from supplychain.errors import InputError, SupplychainError
from tests.conversion import checkpoints
from tests.conversion.reading import read_safetensors

torch = pytest.importorskip("torch")
safetensors_torch = pytest.importorskip("safetensors.torch")

#: safetensors.torch 0.8 cannot load these (its dtype table lacks them): compare raw bytes.
RAW_ONLY = {"F8_E8M0", "F4"}


def load_ours(path: Path) -> dict[str, Any]:
    """Our output as safetensors.torch loads it (raw bytes for the dtypes it cannot load)."""
    from safetensors import safe_open

    _, raw = read_safetensors(path)
    loaded: dict[str, Any] = {}
    with safe_open(str(path), framework="pt") as reader:
        for name, entry in raw.items():
            loaded[name] = entry["data"] if entry["dtype"] in RAW_ONLY else reader.get_tensor(name)
    return loaded


def assert_same(ours: dict[str, Any], reference: dict[str, Any], aliases: dict[str, str]) -> None:
    """Every reference tensor is in our output (directly or as an alias), bit for bit."""
    for name, tensor in reference.items():
        kept = aliases.get(name, name)
        assert kept in ours, name
        got = ours[kept]
        if isinstance(got, bytes):
            assert got == checkpoints.raw_bytes(torch, tensor), name
            continue
        want = tensor.detach().resolve_conj().resolve_neg()
        assert got.dtype == want.dtype, name
        assert got.shape == want.shape, name
        assert checkpoints.raw_bytes(torch, got) == checkpoints.raw_bytes(torch, want), name


def save(obj: object, path: Path, **kwargs: Any) -> Path:
    torch.save(obj, path, **kwargs)
    return path


def converted(source: Path, tmp_path: Path, **options: Any) -> tuple[Any, dict[str, Any], dict]:
    out = tmp_path / "out.safetensors"
    report = convert(source, out, **options)
    metadata, _ = read_safetensors(out)
    return report.files[0], load_ours(out), metadata


# -- dtypes, views, ties ---------------------------------------------------------------------------
def test_every_dtype_matches_torch_load(tmp_path: Path) -> None:
    state = checkpoints.dtype_tensors(torch)
    source = save(state, tmp_path / "dtypes.pt")
    conversion, ours, metadata = converted(source, tmp_path)
    assert_same(ours, torch.load(source, weights_only=True), {})
    assert metadata == {"format": "pt"}
    _, raw = read_safetensors(tmp_path / "out.safetensors")
    assert raw["float4_e2m1fn_x2"]["shape"] == [2, 4]  # two values per byte, as safetensors counts
    assert all(t.layout == "copied" for t in conversion.tensors)


def test_views_strides_scalars_empty_conj_neg_match_torch_load(tmp_path: Path) -> None:
    state = checkpoints.view_tensors(torch)
    source = save(state, tmp_path / "views.pt")
    conversion, ours, metadata = converted(source, tmp_path)
    aliases = {"tied_a": "base", "tied_b": "base", "weight_tied": "weight"}
    assert metadata == {"format": "pt", **aliases}
    assert conversion.aliases == aliases
    assert_same(ours, torch.load(source, weights_only=True), aliases)
    layouts = {t.name: t.layout for t in conversion.tensors}
    assert layouts["rows"] == "copied" and layouts["transposed"] == "gathered"
    assert layouts["conj"] == layouts["neg"] == layouts["expanded"] == "gathered"
    # 90 floats of the saved slice and the real halves under conj_imag are in no tensor
    assert conversion.unreferenced_bytes == 90 * 4 + 3 * 4


def test_tied_weights_are_dropped_like_convert_py(tmp_path: Path) -> None:
    class Model(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = torch.nn.Embedding(10, 4)
            self.lm_head = torch.nn.Linear(4, 10, bias=False)
            self.lm_head.weight = self.embed.weight
            self.norm = torch.nn.LayerNorm(4)

    state = Model().state_dict()
    source = save(state, tmp_path / "pytorch_model.bin")
    conversion, ours, metadata = converted(source, tmp_path)
    loaded = torch.load(source, weights_only=True)
    reference_dropped = safetensors_torch._remove_duplicate_names(loaded)
    expected = {name: kept for kept, names in reference_dropped.items() for name in names}
    assert conversion.aliases == expected == {"lm_head.weight": "embed.weight"}
    assert metadata == {"format": "pt", **expected}
    assert_same(ours, loaded, expected)
    assert any(s.path == "[attribute _metadata]" for s in conversion.skipped)


def test_partial_views_of_one_storage_are_each_materialized(tmp_path: Path) -> None:
    base = torch.arange(40.0)
    state = {"full": base, "head": base[:10], "tail": base[30:], "every_other": base[::2]}
    source = save(state, tmp_path / "partial.pt")
    conversion, ours, metadata = converted(source, tmp_path)
    assert metadata == {"format": "pt"} and not conversion.aliases
    assert_same(ours, torch.load(source, weights_only=True), {})


def test_uint8_storage_shared_with_float8_views(tmp_path: Path) -> None:
    raw = torch.arange(8, dtype=torch.uint8)
    state = {
        "raw": raw,
        "f8": raw.view(torch.float8_e4m3fn),
        "f8_tail": raw[4:].view(torch.float8_e5m2),
    }
    source = save(state, tmp_path / "shared.pt")
    _, ours, _ = converted(source, tmp_path)
    assert_same(ours, torch.load(source, weights_only=True), {})


def test_large_non_contiguous_tensor_is_gathered_in_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from supplychain.conversion import gather

    matrix = torch.randn(1200, 1100)  # 5 MiB transposed: several 1 MiB blocks of rows
    source = save({"t": matrix.t(), "cols": matrix[:, ::7]}, tmp_path / "big.pt")
    blocks = []
    original = gather._blocks
    monkeypatch.setattr(gather, "CHUNK", 1 << 20)
    monkeypatch.setattr(
        gather,
        "_blocks",
        lambda a, limit: blocks.extend(b.nbytes for b in original(a, limit)) or original(a, limit),
    )
    _, ours, _ = converted(source, tmp_path)
    assert_same(ours, torch.load(source, weights_only=True), {})
    assert len(blocks) > 5 and max(blocks) <= 1 << 20


# -- formats ---------------------------------------------------------------------------------------
def test_legacy_format_classic_dtypes_match_torch_load(tmp_path: Path) -> None:
    state = {k: v for k, v in checkpoints.view_tensors(torch).items()}
    source = save(state, tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    conversion, ours, _ = converted(source, tmp_path)
    assert conversion.source_format == "pytorch-legacy"
    aliases = {"tied_a": "base", "tied_b": "base", "weight_tied": "weight"}
    assert_same(ours, torch.load(source, weights_only=True), aliases)


def test_legacy_format_with_dtypes_torch_can_no_longer_load(tmp_path: Path) -> None:
    state = {k: v for k, v in checkpoints.dtype_tensors(torch).items()}
    source = save(state, tmp_path / "legacy_v3.pt", _use_new_zipfile_serialization=False)
    with pytest.raises(AttributeError):
        torch.load(source, weights_only=True)  # pytorch #169763
    _, ours, _ = converted(source, tmp_path)
    assert_same(ours, state, {})


@pytest.mark.parametrize("protocol", [4, 5])
def test_pickle_protocols_4_and_5(tmp_path: Path, protocol: int) -> None:
    state = checkpoints.view_tensors(torch)
    source = save(state, tmp_path / f"p{protocol}.pt", pickle_protocol=protocol)
    with pytest.raises(Exception, match="Unsupported operand"):
        torch.load(source, weights_only=True)
    _, ours, _ = converted(source, tmp_path)
    assert_same(ours, state, {"tied_a": "base", "tied_b": "base", "weight_tied": "weight"})


def test_lightning_checkpoint_converts_its_state_dict(tmp_path: Path) -> None:
    state = {"model.layer.weight": torch.randn(3, 2), "model.layer.bias": torch.zeros(3)}
    source = save(checkpoints.lightning_checkpoint(torch, state), tmp_path / "last.ckpt")
    with pytest.raises(Exception, match="Weights only load failed"):
        torch.load(source, weights_only=True)
    conversion, ours, _ = converted(source, tmp_path)
    assert conversion.selected == ("state_dict",)
    assert_same(ours, state, {})
    skipped = {s.path: s for s in conversion.skipped}
    assert "optimizer_states" in skipped and "2 tensor(s)" in skipped["optimizer_states"].what
    assert "AttributeDict" in skipped["hyper_parameters"].what
    assert {f.symbol for f in conversion.notes} >= {
        "pytorch_lightning.utilities.parsing.AttributeDict",
        "argparse.Namespace",
    }


def test_lightning_checkpoint_with_an_unknown_class_needs_drop_non_tensors(tmp_path: Path) -> None:
    state = {"w": torch.ones(2)}
    source = save(checkpoints.lightning_checkpoint(torch, state, custom=True), tmp_path / "c.ckpt")
    with pytest.raises(UnsafeCheckpointError) as refused:
        convert(source, tmp_path / "out.safetensors")
    assert refused.value.exit_code == ConvertExit.REFUSED_UNSAFE
    assert "my_project.config.TrainConfig" in refused.value.problem
    assert "--drop-non-tensors" in (refused.value.hint or "")
    assert not (tmp_path / "out.safetensors").exists()
    conversion, ours, _ = converted(source, tmp_path, drop_non_tensors=True)
    assert_same(ours, state, {})
    assert any(f.symbol == "my_project.config.TrainConfig" for f in conversion.waived)


def test_nested_checkpoint_keys(tmp_path: Path) -> None:
    model = {"encoder.weight": torch.randn(2, 3), "head": [torch.ones(2), torch.zeros(1)]}
    ema = {"encoder.weight": torch.randn(2, 3)}
    state = {
        "model": model,
        "ema": ema,
        "optimizer": {"state": {0: {"m": torch.ones(1)}}, "param_groups": []},
        "epoch": 4,
    }
    source = save(state, tmp_path / "nested.pt")
    conversion, ours, _ = converted(source, tmp_path, key="ema")
    assert conversion.selected == ("ema",)
    assert_same(ours, ema, {})
    _, ours, _ = converted(source, tmp_path, key="model", overwrite=True)
    assert set(ours) == {"encoder.weight", "head.0", "head.1"}
    assert torch.equal(ours["head.0"], model["head"][0])
    # a model and its EMA copy beside an epoch and optimizer state: the user chooses
    with pytest.raises(InputError) as choose:
        convert(source, tmp_path / "default.safetensors")
    assert "--key model (3 tensors)" in choose.value.problem
    assert "--key ema (1 tensors)" in choose.value.problem
    assert not (tmp_path / "default.safetensors").exists()


def test_training_checkpoint_exports_its_one_state_dict(tmp_path: Path) -> None:
    model = {"module.encoder.weight": torch.randn(2, 3), "module.bias": torch.ones(2)}
    state = {
        "epoch": 4,
        "model_state_dict": model,
        "optimizer_state_dict": {"state": {0: {"m": torch.ones(1)}}, "param_groups": []},
    }
    source = save(state, tmp_path / "train.pt")
    conversion, ours, _ = converted(source, tmp_path)
    assert conversion.selected == ("model_state_dict",)
    assert conversion.stripped_prefix == "module."
    assert_same(ours, {k.removeprefix("module."): v for k, v in model.items()}, {})
    assert {s.path for s in conversion.skipped} == {"epoch", "optimizer_state_dict"}


def test_state_dict_is_unwrapped_repeatedly(tmp_path: Path) -> None:
    inner = {"w": torch.ones(2)}
    source = save({"state_dict": {"state_dict": inner, "ema": 1}}, tmp_path / "twice.pt")
    conversion, ours, _ = converted(source, tmp_path)
    assert conversion.selected == ("state_dict", "state_dict")
    assert_same(ours, inner, {})


def test_sharded_checkpoint_and_index(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    embed = torch.randn(5, 4)
    shards = {
        "pytorch_model-00001-of-00002.bin": {"embed.weight": embed, "lm_head.weight": embed},
        "pytorch_model-00002-of-00002.bin": {"layers.0.weight": torch.randn(4, 4).t()},
    }
    weight_map = {}
    for name, state in shards.items():
        save(state, model / name)
        weight_map.update({tensor: name for tensor in state})
    (model / "pytorch_model.bin.index.json").write_text(
        json.dumps({"metadata": {"total_size": 123}, "weight_map": weight_map})
    )
    (model / "config.json").write_text("{}")

    report = convert(model)

    index = json.loads((model / "model.safetensors.index.json").read_text())
    assert index["weight_map"] == {
        "embed.weight": "model-00001-of-00002.safetensors",
        "layers.0.weight": "model-00002-of-00002.safetensors",
    }
    assert index["metadata"] == {
        "total_size": (5 * 4 + 4 * 4) * 4,
        "lm_head.weight": "embed.weight",
    }
    for name in shards:
        ours = load_ours(
            model / name.replace("pytorch_model", "model").replace(".bin", ".safetensors")
        )
        assert_same(
            ours, torch.load(model / name, weights_only=True), {"lm_head.weight": "embed.weight"}
        )
    assert len(report.files) == 2 and len(report.indexes) == 1


def test_numpy_files(tmp_path: Path) -> None:
    import numpy as np

    arrays = {
        "w": np.arange(12, dtype=">i4").reshape(3, 4),
        "f": np.asfortranarray(np.linspace(0, 1, 6, dtype=np.float16).reshape(2, 3)),
        "b": np.array([True, False, True]),
    }
    np.savez(tmp_path / "a.npz", **arrays)
    np.savez_compressed(tmp_path / "c.npz", **arrays)
    np.save(tmp_path / "w.npy", arrays["w"])
    for name in ("a.npz", "c.npz"):
        out = tmp_path / f"{name}.safetensors"
        convert(tmp_path / name, out)
        ours = load_ours(out)
        for key, array in arrays.items():
            assert (
                ours[key].numpy().tobytes()
                == np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()
            )
            assert list(ours[key].shape) == list(array.shape)
    convert(tmp_path / "w.npy", tmp_path / "w.safetensors")
    assert load_ours(tmp_path / "w.safetensors")["w"].tolist() == arrays["w"].tolist()


def test_big_endian_archive(tmp_path: Path) -> None:
    state = {
        name: checkpoints.dtype_tensors(torch)[name]
        for name in ("f64", "f32", "f16", "bf16", "i64", "c64", "u8", "u16", "u64")
    }
    little = save(state, tmp_path / "little.pt")
    big = tmp_path / "big.pt"
    checkpoints.big_endian_copy(little, big, checkpoints.swap_units(torch, state))
    conversion, ours, _ = converted(big, tmp_path)
    assert conversion.byteorder == "big"
    loaded = torch.load(big, weights_only=True)
    classic = {k: v for k, v in loaded.items() if str(v.dtype)[6:] not in checkpoints.V3_DTYPES}
    assert_same(ours, classic, {})  # torch swaps classic dtypes exactly as we do
    assert_same(ours, state, {})  # and v3 dtypes (which torch leaves unswapped) too


def test_deflated_and_zip64_records(tmp_path: Path) -> None:
    state = {"w": torch.randn(64, 8), "t": torch.randn(8, 8).t()}
    stored = save(state, tmp_path / "stored.pt")
    for label, kwargs in (("deflated", {"compress_type": zipfile.ZIP_DEFLATED}), ("zip64", {})):
        rewritten = tmp_path / f"{label}.pt"
        with zipfile.ZipFile(stored) as archive, zipfile.ZipFile(rewritten, "w") as out:
            for info in archive.infolist():
                data = archive.read(info)
                if label == "zip64":
                    with out.open(info.filename, "w", force_zip64=True) as member:
                        member.write(data)
                else:
                    out.writestr(info.filename, data, **kwargs)
        out_path = tmp_path / f"{label}.safetensors"
        convert(rewritten, out_path)
        assert_same(load_ours(out_path), state, {})


def test_whole_module_pickle_is_refused_without_running_it(tmp_path: Path) -> None:
    source = save(torch.nn.Linear(2, 2), tmp_path / "module.pt")
    with pytest.raises(UnsafeCheckpointError, match=r"torch\.nn\.modules\.linear\.Linear"):
        convert(source, tmp_path / "out.safetensors")
    with pytest.raises(UnsupportedContentError, match="no tensors"):
        convert(source, tmp_path / "out.safetensors", drop_non_tensors=True)
    assert not (tmp_path / "out.safetensors").exists()


@pytest.mark.parametrize(
    ("label", "make", "reason"),
    [
        (
            "quantized",
            lambda: torch.quantize_per_tensor(torch.ones(2), 0.1, 0, torch.quint8),
            "quantized",
        ),
        ("sparse", lambda: torch.ones(2, 2).to_sparse(), "sparse"),
        ("complex128", lambda: torch.ones(2, dtype=torch.complex128), "complex128"),
        ("meta", lambda: torch.empty(2, device="meta"), "meta tensor"),
        ("complex32", lambda: torch.ones(2, dtype=torch.complex32), "complex32"),
    ],
)
def test_unsupported_tensor_kinds_are_refused_by_name(
    tmp_path: Path, label: str, make: Any, reason: str
) -> None:
    source = save({"ok": torch.ones(1), label: make()}, tmp_path / f"{label}.pt")
    with pytest.raises(UnsupportedContentError, match=reason) as refused:
        convert(source, tmp_path / "out.safetensors")
    assert refused.value.exit_code == ConvertExit.UNSUPPORTED
    assert label in refused.value.problem
    assert not (tmp_path / "out.safetensors").exists()


def test_name_collisions_name_both_paths(tmp_path: Path) -> None:
    source = save(
        collections.OrderedDict([("a.b", torch.ones(1)), ("a", {"b": torch.zeros(1)})]),
        tmp_path / "clash.pt",
    )
    with pytest.raises(UnsupportedContentError, match=r"\['a.b'\] and \['a'\]\['b'\]"):
        convert(source, tmp_path / "out.safetensors")


# -- the torch cross-check -------------------------------------------------------------------------
def test_verify_with_torch_matches(tmp_path: Path) -> None:
    state = {**checkpoints.view_tensors(torch), **checkpoints.dtype_tensors(torch)}
    source = save(state, tmp_path / "all.pt")
    conversion, _, _ = converted(source, tmp_path, verify_with_torch=True)
    assert conversion.torch_check is not None
    assert conversion.torch_check.status == "match"
    assert conversion.torch_check.compared == len(state)


def test_verify_with_torch_reports_files_torch_cannot_load(tmp_path: Path) -> None:
    source = save({"w": torch.ones(2)}, tmp_path / "p5.pt", pickle_protocol=5)
    conversion, _, _ = converted(source, tmp_path, verify_with_torch=True)
    assert conversion.torch_check is not None
    assert conversion.torch_check.status == "torch-cannot-load"
    assert "Unsupported operand" in (conversion.torch_check.detail or "")


def test_source_is_untouched_and_digests_are_reported(tmp_path: Path) -> None:
    source = save(checkpoints.view_tensors(torch), tmp_path / "views.pt")
    before = source.read_bytes()
    conversion, _, _ = converted(source, tmp_path)
    assert source.read_bytes() == before
    assert conversion.source_sha256 == hashlib.sha256(before).hexdigest()


def test_verify_with_torch_catches_a_difference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from supplychain.conversion import converter as converter_module

    source = save({"w": torch.arange(8.0)}, tmp_path / "w.pt")
    original = converter_module.self_check

    def check_then_corrupt(
        path: Path, plan: object, digests: dict[str, str], *more: object
    ) -> object:
        result = original(path, plan, digests, *more)
        raw = bytearray(path.read_bytes())
        raw[-1] ^= 0x01
        path.write_bytes(bytes(raw))
        return result

    monkeypatch.setattr(converter_module, "self_check", check_then_corrupt)
    with pytest.raises(SupplychainError, match="torch reads the source differently") as failed:
        convert(source, tmp_path / "out.safetensors", verify_with_torch=True)
    assert failed.value.exit_code == ConvertExit.VERIFICATION_FAILED
    assert not (tmp_path / "out.safetensors").exists()


def test_output_is_byte_identical_to_the_reference_writer(tmp_path: Path) -> None:
    state = {**checkpoints.dtype_tensors(torch), "t": torch.randn(3, 5).t(), "s": torch.tensor(1)}
    source = save(state, tmp_path / "all.pt")
    convert(source, tmp_path / "ours.safetensors")
    loaded = torch.load(source, weights_only=True)
    safetensors_torch.save_file(
        {k: v.contiguous() for k, v in loaded.items()},
        str(tmp_path / "reference.safetensors"),
        metadata={"format": "pt"},
    )
    assert (tmp_path / "ours.safetensors").read_bytes() == (
        tmp_path / "reference.safetensors"
    ).read_bytes()


def test_a_bare_tensor_file(tmp_path: Path) -> None:
    tensor = torch.randn(3, 4).t()
    source = save(tensor, tmp_path / "embedding.pt")
    conversion, ours, _ = converted(source, tmp_path, verify_with_torch=True)
    assert [t.name for t in conversion.tensors] == ["embedding"]
    assert conversion.torch_check is not None and conversion.torch_check.status == "match"
    assert_same(ours, {"embedding": tensor}, {})


def test_a_refused_shard_refuses_its_whole_set_but_not_other_files(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    shards = {
        "pytorch_model-00001-of-00002.bin": {"a": torch.ones(2)},
        "pytorch_model-00002-of-00002.bin": {"b": torch.ones(2, dtype=torch.complex128)},
    }
    for name, state in shards.items():
        save(state, model / name)
    (model / "pytorch_model.bin.index.json").write_text(
        json.dumps({"metadata": {}, "weight_map": {"a": shards_name(1), "b": shards_name(2)}})
    )
    save({"w": torch.zeros(3)}, model / "extra.pt")

    report = convert(model)

    assert [f.source_name for f in report.files] == ["extra.pt"]
    assert report.exit_code == ConvertExit.PARTIAL and not report.indexes
    refused = {r.name: r for r in report.refused_files}
    assert refused[shards_name(2)].exit_code == ConvertExit.UNSUPPORTED
    assert "another shard" in refused[shards_name(1)].problem
    assert not list(model.glob("model*.safetensors*"))
    assert (model / "extra.safetensors").is_file()


def shards_name(index: int) -> str:
    return f"pytorch_model-0000{index}-of-00002.bin"
