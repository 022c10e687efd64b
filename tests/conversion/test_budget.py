"""Budgets checked before writing: output expansion (stride 0, overlapping views) and free space."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest
from safetensors import safe_open

from supplychain.conversion import ConvertExit, OutputBudgetError, budget, convert
from supplychain.errors import InputError
from tests.conversion.pickles import OD, dumps, floats, tensor, torch_zip
from tests.conversion.smallfs import small_filesystem


def broadcast(directory: Path) -> Path:
    """One float declared as a 65536 x 65536 x 4 stride-0 broadcast: 64 GiB of output."""
    state = OD((("w", tensor("0", 1, (1 << 16, 1 << 16, 4), (0, 0, 0))),))
    return torch_zip(directory / "broadcast.pt", dumps(state), {"0": floats(1.0)})


def overlapping(directory: Path, count: int, floats_in_storage: int) -> Path:
    """``count`` views of one storage, view i starting at element i and running to its end."""
    n = floats_in_storage
    items = tuple((f"v{i:04d}", tensor("0", n, (n - i,), (1,), offset=i)) for i in range(count))
    data = b"".join(i.to_bytes(4, "little") for i in range(n))
    return torch_zip(directory / "views.pt", dumps(OD(items)), {"0": data})


def test_a_tiny_stride_0_broadcast_is_refused_without_writing(tmp_path: Path) -> None:
    source = broadcast(tmp_path)
    assert source.stat().st_size < 1024
    out = tmp_path / "out"
    with pytest.raises(OutputBudgetError) as refused:
        convert(source, out / "w.safetensors")
    message = refused.value.diagnostics()
    assert refused.value.exit_code == ConvertExit.REFUSED_UNSAFE
    assert "64.0 GiB of tensor data made from 4 B of storages" in message
    assert "'w' 64.0 GiB (float32 [65536, 65536, 4], stride [0, 0, 0])" in message
    assert "--allow-expansion" in message
    assert not out.exists()


def test_a_thousand_overlapping_views_are_refused_without_writing(tmp_path: Path) -> None:
    source = overlapping(tmp_path, 1000, 1 << 18)  # 1 MiB storage, ~1 GiB of views
    with pytest.raises(OutputBudgetError) as refused:
        convert(source, tmp_path / "views.safetensors")
    message = refused.value.diagnostics()
    assert "998.1 MiB of tensor data made from 1.0 MiB of storages" in message
    assert "storage 0 (1.0 MiB) becomes 998.1 MiB in 1000 tensor(s): 'v0000' 1.0 MiB" in message
    assert "and 997 more" in message
    assert sorted(os.listdir(tmp_path)) == ["views.pt"]


def test_overlapping_views_are_written_with_the_flag(tmp_path: Path) -> None:
    source = overlapping(tmp_path, 600, 1024)  # 4 KiB storage, 1.7 MB of views
    target = tmp_path / "views.safetensors"
    with pytest.raises(OutputBudgetError):
        convert(source, target)
    report = convert(source, target, allow_expansion=True)
    assert len(report.files[0].tensors) == 600
    with safe_open(str(target), framework="numpy") as reader:
        assert reader.get_tensor("v0599").view("<u4").tolist() == list(range(599, 1024))


def test_small_broadcasts_stay_within_the_budget(tmp_path: Path) -> None:
    state = OD((("mask", tensor("0", 1, (512, 512), (0, 0))),))  # 1 MiB from 4 bytes
    source = torch_zip(tmp_path / "m.pt", dumps(state), {"0": floats(1.0)})
    report = convert(source, tmp_path / "m.safetensors")
    assert report.files[0].output_size > 1 << 20


def test_not_enough_free_space_is_refused_before_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = overlapping(tmp_path, 1, 1024)
    monkeypatch.setattr(budget, "free_bytes", lambda directory: 1000)
    with pytest.raises(InputError, match=r"needs 4\.1 KiB but only 1000 B are free") as refused:
        convert(source, tmp_path / "out" / "v.safetensors")
    assert refused.value.exit_code == 2 and not (tmp_path / "out").exists()


def _megabytes(directory: Path, megabytes: int) -> Path:
    n = megabytes << 18
    state = OD((("w", tensor("0", n, (n,), (1,))),))
    return torch_zip(directory / "w.pt", dumps(state), {"0": bytes(4 * n)})


def test_a_small_filesystem_is_refused_before_writing(tmp_path: Path) -> None:
    source = _megabytes(tmp_path, 4)
    with small_filesystem(tmp_path / "small") as small:
        with pytest.raises(InputError, match="are free there") as refused:
            convert(source, small / "w.safetensors")
        assert refused.value.exit_code == 2
        assert os.listdir(small) == []


def test_a_disk_full_mid_write_is_an_input_error_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _megabytes(tmp_path, 4)
    monkeypatch.setattr(budget, "free_bytes", lambda directory: 1 << 40)  # the check is fooled
    with small_filesystem(tmp_path / "small") as small:
        with pytest.raises(InputError, match="No space left on device") as full:
            convert(source, small / "w.safetensors")
        assert full.value.exit_code == 2 and "free some space" in full.value.diagnostics()
        assert os.listdir(small) == []
        assert os.statvfs(small).f_bfree == os.statvfs(small).f_blocks


def test_compressed_records_count_their_inflated_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    n = 1 << 20  # 4 MiB of float32 zeros, deflated to a few KiB
    source = tmp_path / "z.pt"
    with zipfile.ZipFile(source, "w") as archive:
        archive.writestr("z/data.pkl", dumps(OD((("w", tensor("0", n, (n,), (1,))),))))
        archive.writestr("z/data/0", bytes(4 * n), compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("z/version", "3\n")
    monkeypatch.setattr(budget, "free_bytes", lambda directory: 6 << 20)
    with pytest.raises(InputError, match=r"needs 8\.0 MiB but only 6\.0 MiB"):
        convert(source, tmp_path / "z.safetensors")
    assert sorted(os.listdir(tmp_path)) == ["z.pt"]
