"""The parallel hashing engine: exact digests on every path through it, and no stale reads."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import blake3
import pytest

from supplychain.errors import FileChangedError
from supplychain.hashing import engine, hash_model, hash_tree, serialization_for
from supplychain.hashing.engine import WorkItem, hash_item, hash_items
from supplychain.model.tree import walk_model


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "w.bin"
    # Larger than two chunks so the pipelined reader really pipelines.
    path.write_bytes(os.urandom(2 * engine.CHUNK_SIZE + 12345))
    return path


def test_pipelined_and_plain_reads_agree_with_hashlib(data_file: Path) -> None:
    file = walk_model(data_file).files[0]
    expected = hashlib.sha256(data_file.read_bytes()).digest()
    item = WorkItem(file, 0, file.size)
    assert hash_item(item, "sha256", pipelined=True) == expected
    assert hash_item(item, "sha256", pipelined=False) == expected


def test_a_tap_sees_every_chunk_in_order_while_it_is_hashed(data_file: Path) -> None:
    file = walk_model(data_file).files[0]
    data = data_file.read_bytes()
    seen: list[tuple[int, bytes]] = []
    digest = hash_item(
        WorkItem(file, 7, file.size),
        "sha256",
        tap=lambda offset, chunk: seen.append((offset, bytes(chunk))),
    )
    assert digest == hashlib.sha256(data[7:]).digest()
    assert [offset for offset, _ in seen] == list(range(7, file.size, engine.CHUNK_SIZE))
    assert b"".join(chunk for _, chunk in seen) == data[7:]


def test_a_failing_tap_stops_the_read(data_file: Path) -> None:
    file = walk_model(data_file).files[0]
    calls: list[int] = []

    def tap(offset: int, chunk: memoryview) -> None:
        calls.append(offset)
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        hash_item(WorkItem(file, 0, file.size), "sha256", tap=tap)
    assert calls == [0]


def test_byte_ranges_hash_exactly_their_bytes(data_file: Path) -> None:
    file = walk_model(data_file).files[0]
    data = data_file.read_bytes()
    for start, end in [(0, 1), (5, engine.CHUNK_SIZE + 7), (engine.CHUNK_SIZE, len(data))]:
        assert (
            hash_item(WorkItem(file, start, end), "blake2b")
            == hashlib.blake2b(data[start:end]).digest()
        )


def test_blake3_parallel_path_matches_reference(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(engine.BLAKE3_PARALLEL_MIN + engine.BLAKE3_CHUNK + 12345))
    file = walk_model(path).files[0]
    assert (
        hash_item(WorkItem(file, 0, file.size), "blake3")
        == blake3.blake3(path.read_bytes()).digest()
    )


def test_results_keep_input_order_whatever_the_worker_count(tmp_path: Path) -> None:
    sizes = [0, 10, 5_000_000, 3, 70_000]
    for i, size in enumerate(sizes):
        (tmp_path / f"f{i}").write_bytes(os.urandom(size))
    tree = walk_model(tmp_path)
    items = [WorkItem(f, 0, f.size) for f in tree.files]
    expected = [hashlib.sha256(f.path.read_bytes()).digest() for f in tree.files]
    for workers in (1, 2, 5):
        assert hash_items(items, "sha256", workers=workers) == expected


def test_progress_callback_sees_every_byte(data_file: Path) -> None:
    seen: list[int] = []
    hash_model(data_file, workers=2, progress=False)  # warm path, no bar
    file = walk_model(data_file).files[0]
    hash_items([WorkItem(file, 0, file.size)], "sha256", advance=seen.append)
    assert sum(seen) == file.size


def test_file_modified_after_listing_is_detected(tmp_path: Path) -> None:
    (tmp_path / "w.bin").write_bytes(b"a" * 100)
    tree = walk_model(tmp_path)
    (tmp_path / "w.bin").write_bytes(b"b" * 101)
    with pytest.raises(FileChangedError, match="replaced or resized"):
        hash_tree(tree, serialization_for(tree))


def test_file_swapped_for_a_symlink_after_listing_is_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "outside"
    target.write_bytes(b"secret!")
    model = tmp_path / "m"
    model.mkdir()
    (model / "w.bin").write_bytes(b"weights")
    tree = walk_model(model)
    (model / "w.bin").unlink()
    (model / "w.bin").symlink_to(target)
    with pytest.raises(FileChangedError, match="symbolic link"):
        hash_tree(tree, serialization_for(tree))


def test_same_size_rewrite_after_listing_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "w.bin"
    path.write_bytes(b"a" * 100)
    tree = walk_model(tmp_path)
    st = path.stat()
    path.write_bytes(b"b" * 100)
    # Even with the old mtime restored, ctime moves on.
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    with pytest.raises(FileChangedError, match="changed while it was being hashed"):
        hash_tree(tree, serialization_for(tree))
