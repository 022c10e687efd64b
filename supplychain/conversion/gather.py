"""A tensor's output bytes, in chunks: straight copies for plain views, numpy gathers otherwise.

Elements are handled as raw unsigned integers of their component width, so
no value ever passes through a lossy numpy type (bfloat16, float8 and float4
are just bits here). Gathers go through a read-only mmap of the storage and
are cut along the leading dimensions so memory stays bounded by the chunk
size, not the tensor size. Byte order, conjugation and negation are applied
to the gathered copy, never to the source.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from supplychain.conversion.dtypes import COMPLEX, FLOAT, SIGNED
from supplychain.conversion.storage import CHUNK, Bytes
from supplychain.conversion.tree import TensorView

if TYPE_CHECKING:
    import numpy as np


class BufferRing:
    """A few reusable read buffers: a chunk's buffer is reused two chunks later."""

    def __init__(self, count: int = 3, size: int = CHUNK) -> None:
        self._buffers = [memoryview(bytearray(size)) for _ in range(count)]
        self._next = 0

    def take(self, size: int) -> memoryview:
        buffer = self._buffers[self._next]
        self._next = (self._next + 1) % len(self._buffers)
        return buffer[:size]


def chunks(view: TensorView, storage: Bytes, ring: BufferRing) -> Iterator[memoryview]:
    """The view's bytes in row-major order, little-endian, conj/neg resolved."""
    if view.numel == 0:
        return
    if view.plain:
        start, _ = view.byte_range
        remaining = view.nbytes
        position = start
        while remaining:
            size = min(remaining, CHUNK)
            buffer = ring.take(size)
            storage.readinto(position, buffer)
            yield buffer
            position += size
            remaining -= size
        return
    yield from _gathered(view, storage)
    storage.release()


def _gathered(view: TensorView, storage: Bytes) -> Iterator[memoryview]:
    import numpy as np

    dtype = view.dtype
    unit = dtype.unit
    word = np.dtype(f"<u{unit}")
    shape = list(view.shape)
    strides = [s * dtype.itemsize for s in view.stride]
    if dtype.components > 1:
        shape.append(dtype.components)
        strides.append(unit)
    source = np.ndarray(
        tuple(shape),
        dtype=word,
        buffer=storage.array(),
        offset=view.offset * dtype.itemsize,
        strides=tuple(strides),
    )
    for block in _blocks(source, CHUNK):
        out = np.array(block, dtype=word, order="C", copy=True)
        if view.big_endian and unit > 1:
            out.byteswap(inplace=True)
        if view.conj:
            out[..., 1] ^= np.array(1 << (8 * unit - 1), dtype=word)
        if view.neg:
            _negate(out, dtype.kind, unit)
        yield out.data.cast("B")


def _negate(out: np.ndarray, kind: str, unit: int) -> None:
    import numpy as np

    if kind in (FLOAT, COMPLEX):
        out ^= np.array(1 << (8 * unit - 1), dtype=out.dtype)  # IEEE negation flips the sign bit
    elif kind == SIGNED:
        np.negative(out, out=out)  # two's complement on the raw bits, wrapping like torch
    else:  # refused when planning
        raise AssertionError(f"cannot negate {kind}")


def _blocks(array: np.ndarray, limit: int) -> Iterator[np.ndarray]:
    """Slices of ``array`` along its leading dimensions, each at most ``limit`` bytes if it can."""
    if array.nbytes <= limit or array.ndim == 0:
        yield array
        return
    rows = array.shape[0]
    row_bytes = array.nbytes // rows
    if row_bytes <= limit:
        step = max(1, limit // row_bytes)
        for start in range(0, rows, step):
            yield array[start : start + step]
        return
    for index in range(rows):
        yield from _blocks(array[index], limit)
