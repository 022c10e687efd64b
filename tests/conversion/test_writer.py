"""The writer: one read of the source gives its digest and tensors; the output is read back."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import blake3
import pytest

from supplychain.conversion import writer
from supplychain.conversion.dtypes import BY_CODE
from supplychain.conversion.errors import CheckpointFormatError
from supplychain.conversion.plan import Plan, plan
from supplychain.conversion.select import Exported
from supplychain.conversion.storage import Bytes
from supplychain.conversion.tree import TensorView
from supplychain.conversion.writer import Written, write_plan
from supplychain.errors import FileChangedError
from supplychain.hashing import engine
from supplychain.model.tree import ModelFile, walk_model

F32 = BY_CODE["F32"]
#: Where the storage starts in the source file (a header before it, bytes after it).
BASE = 1000
ROWS, COLS = 64, 96


@pytest.fixture(autouse=True)
def small_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks, read-back windows and flush steps far smaller than the tensors: every boundary."""
    monkeypatch.setattr(engine, "CHUNK_SIZE", 4096)
    monkeypatch.setattr(writer, "READ_BACK_WINDOW", 3000)
    monkeypatch.setattr(writer, "FLUSH_WINDOW", 8192)


def _source(tmp_path: Path) -> tuple[ModelFile, bytes, bytes]:
    """A file with a 2 x ROWS x COLS float32 storage at BASE; (file, whole file, storage)."""
    storage = os.urandom(2 * ROWS * COLS * 4)
    whole = os.urandom(BASE) + storage + os.urandom(777)
    path = tmp_path / "source.bin"
    path.write_bytes(whole)
    return walk_model(path).files[0], whole, storage


def _views() -> list[Exported]:
    """Plain ranges in an order unlike the file's, an overlap, an empty and a transposed view."""
    half = ROWS * COLS

    def view(offset: int, shape: tuple[int, ...], stride: tuple[int, ...]) -> TensorView:
        return TensorView("0", F32, offset, shape, stride)

    return [
        Exported("b.second", view(half, (ROWS, COLS), (COLS, 1)), ("b",)),
        Exported("a.first", view(0, (ROWS, COLS), (COLS, 1)), ("a",)),
        Exported("c.overlap", view(half - 5, (10,), (1,)), ("c",)),
        Exported("d.empty", view(0, (0, COLS), (COLS, 1)), ("d",)),
        Exported("e.transposed", view(0, (COLS, ROWS), (1, COLS)), ("e",)),
    ]


def _expected(the_plan: Plan, storage: bytes) -> bytes:
    import numpy as np

    values = np.frombuffer(storage, dtype="<u4")
    out = bytearray(the_plan.header)
    for tensor in the_plan.tensors:
        view = tensor.view
        if view.numel == 0:
            continue
        gathered = np.lib.stride_tricks.as_strided(
            values[view.offset :], shape=view.shape, strides=[s * 4 for s in view.stride]
        )
        out += np.ascontiguousarray(gathered).tobytes()
    return bytes(out)


def _write(tmp_path: Path, the_plan: Plan, stored: Bytes, source: ModelFile | None) -> Written:
    out = tmp_path / "out.safetensors"
    fd = os.open(out, os.O_RDWR | os.O_CREAT | os.O_TRUNC)
    try:
        return write_plan(fd, the_plan, lambda key: stored, source=source)
    finally:
        os.close(fd)


def test_one_read_of_the_source_gives_its_digest_and_every_tensor(tmp_path: Path) -> None:
    file, whole, storage = _source(tmp_path)
    the_plan = plan(_views(), {"0": len(storage)})
    fd = os.open(file.path, os.O_RDONLY)
    try:
        written = _write(tmp_path, the_plan, Bytes("0", len(storage), fd=fd, offset=BASE), file)
    finally:
        os.close(fd)
    output = (tmp_path / "out.safetensors").read_bytes()
    assert output == _expected(the_plan, storage)
    assert written.source_sha256 == hashlib.sha256(whole).hexdigest()
    assert written.sha256 == hashlib.sha256(output).hexdigest()
    assert written.size == len(output)
    start = len(the_plan.header)
    for tensor in the_plan.tensors:
        own = blake3.blake3(output[start + tensor.begin : start + tensor.end]).hexdigest()
        assert written.digests[tensor.name] == written.read_back[tensor.name] == own


def test_tensors_kept_elsewhere_are_read_from_their_storage(tmp_path: Path) -> None:
    file, whole, storage = _source(tmp_path)
    the_plan = plan(_views(), {"0": len(storage)})
    written = _write(tmp_path, the_plan, Bytes.of_bytes("0", storage), file)
    assert (tmp_path / "out.safetensors").read_bytes() == _expected(the_plan, storage)
    assert written.source_sha256 == hashlib.sha256(whole).hexdigest()
    assert written.digests == written.read_back


def test_without_a_source_nothing_else_is_read(tmp_path: Path) -> None:
    _, _, storage = _source(tmp_path)
    the_plan = plan(_views(), {"0": len(storage)})
    written = _write(tmp_path, the_plan, Bytes.of_bytes("0", storage), None)
    assert written.source_sha256 is None
    assert (tmp_path / "out.safetensors").read_bytes() == _expected(the_plan, storage)


def test_the_output_digest_is_of_the_bytes_in_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file, _, storage = _source(tmp_path)
    the_plan = plan(_views()[:2], {"0": len(storage)})
    original = writer._pwrite_all

    def flip_the_last_data_byte(fd: int, chunk: memoryview, position: int) -> None:
        if position + len(chunk) == the_plan.size:
            wrong = bytearray(chunk)
            wrong[-1] ^= 0x80
            chunk = memoryview(wrong)
        original(fd, chunk, position)

    monkeypatch.setattr(writer, "_pwrite_all", flip_the_last_data_byte)
    fd = os.open(file.path, os.O_RDONLY)
    try:
        written = _write(tmp_path, the_plan, Bytes("0", len(storage), fd=fd, offset=BASE), file)
    finally:
        os.close(fd)
    output = (tmp_path / "out.safetensors").read_bytes()
    assert written.sha256 == hashlib.sha256(output).hexdigest()
    last = the_plan.tensors[-1].name
    assert written.read_back[last] != written.digests[last]  # the self-check refuses this


def test_a_source_replaced_after_the_walk_is_refused(tmp_path: Path) -> None:
    file, whole, storage = _source(tmp_path)
    the_plan = plan(_views()[:2], {"0": len(storage)})
    file.path.write_bytes(whole + b"more")
    before = threading.active_count()
    with pytest.raises(FileChangedError):
        _write(tmp_path, the_plan, Bytes.of_bytes("0", storage), file)
    assert threading.active_count() == before  # every lane stopped


def test_a_storage_too_short_stops_every_lane(tmp_path: Path) -> None:
    file, _, storage = _source(tmp_path)
    the_plan = plan(_views(), {"0": len(storage)})
    before = threading.active_count()
    with pytest.raises(CheckpointFormatError, match="past the end"):
        _write(tmp_path, the_plan, Bytes.of_bytes("0", storage[:-4]), file)
    assert threading.active_count() == before


def test_an_output_that_cannot_be_mapped_is_read_back_with_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> object:
        raise OSError(19, "No such device")  # what mmap says on filesystems that cannot map

    monkeypatch.setattr(writer.mmap, "mmap", refuse)
    file, _, storage = _source(tmp_path)
    the_plan = plan(_views(), {"0": len(storage)})
    written = _write(tmp_path, the_plan, Bytes.of_bytes("0", storage), file)
    output = (tmp_path / "out.safetensors").read_bytes()
    assert written.sha256 == hashlib.sha256(output).hexdigest()
    assert written.read_back == written.digests
