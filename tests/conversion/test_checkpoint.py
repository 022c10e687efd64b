"""Containers: torch zip records, legacy tails, numpy files; what is refused, what is reported."""

from __future__ import annotations

import io
import tarfile
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from supplychain.conversion import convert
from supplychain.conversion.checkpoint import open_checkpoint
from supplychain.conversion.errors import (
    CheckpointFormatError,
    UnsafeCheckpointError,
    UnsupportedContentError,
)
from supplychain.conversion.tree import Mapping, TensorView, Unsupported
from tests.conftest import RunCli
from tests.conversion.pickles import OD, dumps, floats, tensor, torch_zip
from tests.formats import zipcraft

FIXTURES = Path(__file__).with_name("fixtures")


def _state() -> bytes:
    return dumps(OD((("w", tensor("0", 4, (4,), (1,))),)))


def test_unreferenced_records_and_members_are_reported(tmp_path: Path) -> None:
    source = torch_zip(tmp_path / "m.pt", _state(), {"0": floats(1, 2, 3, 4), "9": b"hidden"})
    with zipfile.ZipFile(source, "a") as archive:
        archive.writestr("archive/notes.txt", "extra")
    report = convert(source, tmp_path / "out.safetensors")
    assert report.files[0].orphans == ("archive/data/9", "archive/notes.txt")
    assert report.files[0].unexported_bytes == len(b"hidden")


def test_any_archive_prefix_and_no_byteorder_record(tmp_path: Path) -> None:
    source = torch_zip(
        tmp_path / "m.pt",
        _state(),
        {"0": floats(1, 2, 3, 4)},
        prefix="some/deep/name",
        byteorder=None,
    )
    with open_checkpoint(source) as checkpoint:
        assert checkpoint.byteorder == "little"
        assert isinstance(checkpoint.root, Mapping)
        assert checkpoint.storage_label("0") == "some/deep/name/data/0"


def test_unknown_byteorder_is_an_error(tmp_path: Path) -> None:
    source = torch_zip(tmp_path / "m.pt", _state(), {"0": floats(1, 2, 3, 4)}, byteorder="middle")
    with pytest.raises(CheckpointFormatError, match="unknown byteorder"):
        open_checkpoint(source)


def test_a_deflated_record_that_expands_past_its_declared_size_stops(tmp_path: Path) -> None:
    source = tmp_path / "bomb.pt"
    with zipfile.ZipFile(source, "w") as archive:
        archive.writestr("archive/data.pkl", _state())
        archive.writestr("archive/data/0", floats(1, 2, 3, 4), compress_type=zipfile.ZIP_DEFLATED)
    raw = bytearray(source.read_bytes())
    # make the central directory claim 16 bytes but deflate 1 MiB of zeros in its place
    bomb = zlib.compressobj(9, zlib.DEFLATED, -15)
    payload = bomb.compress(bytes(1 << 20)) + bomb.flush()
    with zipfile.ZipFile(source) as archive:
        info = archive.getinfo("archive/data/0")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    raw[start : start + info.compress_size] = payload[: info.compress_size]
    source.write_bytes(bytes(raw))
    with (
        open_checkpoint(source) as checkpoint,
        pytest.raises(CheckpointFormatError, match=r"does not inflate|inflates to"),
    ):
        checkpoint.storage("0")


def test_torchscript_and_tar_are_refused_by_name(tmp_path: Path) -> None:
    script = tmp_path / "script.pt"
    with zipfile.ZipFile(script, "w") as archive:
        archive.writestr("m/data.pkl", _state())
        archive.writestr("m/constants.pkl", dumps(()))
        archive.writestr("m/code/__torch__.py", "def forward(self): pass")
    with pytest.raises(UnsupportedContentError, match="TorchScript"):
        open_checkpoint(script)
    old = tmp_path / "old.tar"
    with tarfile.open(old, "w") as archive:
        for name in ("storages", "tensors", "pickle"):
            info = tarfile.TarInfo(name)
            info.size = 1
            archive.addfile(info, io.BytesIO(b"\x00"))
    with pytest.raises(UnsupportedContentError, match="tar format"):
        open_checkpoint(old)


def test_a_truncated_pickle_is_an_error(tmp_path: Path) -> None:
    source = torch_zip(tmp_path / "m.pt", _state()[:-10], {"0": floats(1, 2, 3, 4)})
    with pytest.raises(CheckpointFormatError, match=r"data\.pkl does not load"):
        open_checkpoint(source)


def test_legacy_trailing_bytes_are_reported(tmp_path: Path) -> None:
    source = tmp_path / "legacy.pt"
    source.write_bytes((FIXTURES / "legacy.pt").read_bytes() + b"TRAILING")
    with open_checkpoint(source) as checkpoint:
        assert checkpoint.orphans == ("8 bytes after the last storage",)


@pytest.mark.parametrize(
    ("array", "reason"),
    [
        (np.array([b"ab"], dtype="S2"), "byte strings"),
        (np.zeros(2, dtype=[("a", "<f4")]), "structured or object"),
        (np.zeros(2, dtype="<c16"), "complex128"),
        (np.zeros(2, dtype="V2"), "raw void records"),
    ],
)
def test_numpy_dtypes_without_a_safetensors_code(
    tmp_path: Path, array: np.ndarray, reason: str
) -> None:
    np.save(tmp_path / "a.npy", array)
    with open_checkpoint(tmp_path / "a.npy") as checkpoint:
        ((_, node),) = checkpoint.root.items  # type: ignore[union-attr]
        assert isinstance(node, Unsupported) and reason in node.reason


def test_a_truncated_npy_is_an_error(tmp_path: Path) -> None:
    np.save(tmp_path / "a.npy", np.arange(10, dtype="<f4"))
    data = (tmp_path / "a.npy").read_bytes()
    (tmp_path / "a.npy").write_bytes(data[:-4])
    with pytest.raises(CheckpointFormatError, match="truncated"):
        open_checkpoint(tmp_path / "a.npy")


def test_numpy_arrays_inside_pickles_both_protocols(tmp_path: Path) -> None:
    import pickle

    big = np.arange(40000, dtype="<f4")  # larger than the inline-bytes limit: a file range
    for protocol in (2, 4):
        path = tmp_path / f"arrays{protocol}.pkl"
        path.write_bytes(
            pickle.dumps({"small": np.arange(3, dtype=">i2"), "big": big}, protocol=protocol)
        )
        with open_checkpoint(path) as checkpoint:
            root = checkpoint.root
            assert isinstance(root, Mapping)
            small, large = root.get("small"), root.get("big")
            assert isinstance(small, TensorView) and small.big_endian
            assert isinstance(large, TensorView) and large.shape == (40000,)
            data = checkpoint.storage(large.storage)
            assert data.read(0, data.length) == big.tobytes()


# -- storages torch would read differently -------------------------------------------------------
def _two_dtypes(directory: Path, first: str, then: str) -> Path:
    state = OD(
        (
            ("a", tensor("0", 4, (4,), (1,), storage=first)),
            ("b", tensor("0", 4, (4,), (1,), storage=then)),
        )
    )
    return torch_zip(directory / "two.pt", dumps(state), {"0": floats(1, 2, 3, 4)})


@pytest.mark.parametrize(
    ("first", "then"), [("FloatStorage", "IntStorage"), ("IntStorage", "FloatStorage")]
)
def test_one_storage_declared_with_two_dtypes_is_refused_as_torch_disagrees(
    tmp_path: Path, first: str, then: str
) -> None:
    torch = pytest.importorskip("torch")
    source = _two_dtypes(tmp_path, first, then)
    loaded = torch.load(source, weights_only=True)
    # torch caches storages by key: the first declaration's dtype wins for both tensors
    assert (
        loaded["a"].dtype
        == loaded["b"].dtype
        == (torch.float32 if first == "FloatStorage" else torch.int32)
    )
    with pytest.raises(CheckpointFormatError) as refused:
        convert(source, tmp_path / "out.safetensors")
    assert refused.value.exit_code == 2
    assert f"declared as {first} and later as {then}" in refused.value.problem
    assert "torch keeps the first declaration" in refused.value.problem
    assert not (tmp_path / "out.safetensors").exists()


def test_the_first_declaration_counts_even_outside_the_converted_tensors(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    state = OD(
        (
            ("optimizer", OD((("m", tensor("0", 4, (4,), (1,), storage="IntStorage")),))),
            ("model", OD((("w", tensor("0", 4, (4,), (1,))),))),
        )
    )
    source = torch_zip(tmp_path / "m.pt", dumps(state), {"0": floats(1, 2, 3, 4)})
    assert torch.load(source, weights_only=True)["model"]["w"].dtype == torch.int32
    with pytest.raises(CheckpointFormatError, match="IntStorage and later as FloatStorage"):
        convert(source, tmp_path / "out.safetensors", key="model")


def test_one_storage_declared_twice_alike_follows_torch(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    state = OD(
        (
            ("a", tensor("0", 4, (4,), (1,))),
            ("b", tensor("0", 4, (2,), (1,), offset=2, storage="FloatStorage")),
        )
    )
    source = torch_zip(tmp_path / "m.pt", dumps(state), {"0": floats(1, 2, 3, 4)})
    report = convert(source, tmp_path / "out.safetensors", verify_with_torch=True)
    assert report.files[0].torch_check is not None
    assert report.files[0].torch_check.status == "match"
    assert torch.load(source, weights_only=True)["b"].tolist() == [3.0, 4.0]


@pytest.mark.parametrize("fool_zipfile", [False, True])
def test_an_archive_the_zip_readers_disagree_on_is_refused(
    tmp_path: Path, fool_zipfile: bool, run_cli: RunCli
) -> None:
    path = tmp_path / "model.pt"
    path.write_bytes(zipcraft.fake_eocd_attack(fool_zipfile=fool_zipfile))
    with pytest.raises(UnsafeCheckpointError, match="zip readers disagree"):
        open_checkpoint(path)
    result = run_cli("convert", path, "-o", tmp_path / "out.safetensors")
    assert result.exit_code == 1, result
    assert not (tmp_path / "out.safetensors").exists()
