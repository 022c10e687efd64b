"""Torch checkpoint layouts: storage offsets found without torch match the bytes torch wrote."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from supplychain.formats import torch as torch_format  # noqa: E402
from supplychain.formats.ziparchive import read_zip  # noqa: E402
from supplychain.picklevm import Source  # noqa: E402


def _tensors() -> dict[str, object]:
    base = torch.arange(12, dtype=torch.float32)
    return {
        "a": base,
        "b": torch.ones(3, dtype=torch.float64),
        "half": torch.zeros(5).half(),
        "view": base.view(3, 4)[1:],
        "i": torch.tensor([7, 8], dtype=torch.int16),
    }


def test_legacy_walk_finds_every_storage(tmp_path: Path) -> None:
    tensors = _tensors()
    path = tmp_path / "legacy.pt"
    torch.save(tensors, path, _use_new_zipfile_serialization=False)
    data = path.read_bytes()

    def at(offset: int) -> Source:
        source = Source.from_bytes(data)
        source.skip(offset)
        return source

    layout = torch_format.read_legacy(at, len(data))
    assert not layout.problems
    assert [p.role for p in layout.pickles] == list(torch_format.LEGACY_ROLES)
    assert layout.end == len(data) and layout.trailing == 0
    found = {data[r.offset : r.offset + r.nbytes] for r in layout.storages}
    expected = {
        t.untyped_storage().tobytes()
        if hasattr(t.untyped_storage(), "tobytes")
        else bytes(t.untyped_storage())
        for t in tensors.values()
    }  # type: ignore[union-attr]
    assert found == expected


def test_zip_layout_records_and_offsets(tmp_path: Path) -> None:
    tensors = _tensors()
    path = tmp_path / "model.pt"
    torch.save(tensors, path)
    data = path.read_bytes()
    with open(path, "rb") as handle:
        archive = read_zip(handle)
    assert not archive.problems
    layout = torch_format.torch_zip_layout(archive)
    assert layout is not None and layout.prefix == "model/" and not layout.torchscript
    assert [m.name for m in layout.pickles] == ["model/data.pkl"]
    stored = {data[m.data_offset : m.data_offset + m.size] for m in layout.records.values()}
    assert stored == {bytes(t.untyped_storage()) for t in tensors.values()}  # type: ignore[union-attr]
    assert all(m.data_offset % 64 == 0 for m in layout.records.values())


def test_zip_reader_reports_what_zipfile_refuses(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    torch.save({"w": torch.ones(2)}, buffer)
    data = buffer.getvalue()
    index = data.find(b"data.pkl")
    renamed = data[:index] + b"data.pk1" + data[index + 8 :]
    archive = read_zip(io.BytesIO(b"junk" * 5 + renamed))
    problems = [p for _, p in archive.problems]
    assert any("local header names it" in p for p in problems)
    assert any("20 bytes precede" in p for p in problems)
    member = archive.get("archive/data.pkl")
    assert member is not None and member.local_name == "archive/data.pk1"
