"""Plan a safetensors file before writing a byte: tied weights, tensor order, header, storage use.

Tied weights (two names for the identical view) are written once, as
``convert.py`` does: the first name in sorted order is kept and every other
name is recorded in ``__metadata__`` as ``dropped -> kept``. Partial or
strided views that merely overlap are *not* aliases: each is written as its
own tensor. The header is deterministic: tensors sorted like the reference
writer (dtype rank, then UTF-8 name), metadata keys sorted, compact JSON
padded with spaces to 8 bytes.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field

from supplychain.conversion.dtypes import COMPLEX, FLOAT, FLOAT4, HEADER_RANK, SIGNED
from supplychain.conversion.errors import UnsupportedContentError
from supplychain.conversion.select import Exported
from supplychain.conversion.tree import TensorView

#: Views with more elements than this get their exact byte coverage estimated from their extent.
EXACT_COVERAGE_LIMIT = 1 << 22
FORMAT_METADATA = {"format": "pt"}


@dataclass(frozen=True)
class PlannedTensor:
    name: str
    view: TensorView
    #: Keys from the checkpoint root (used by the torch cross-check).
    path: tuple[object, ...]
    #: Shape as safetensors records it (float4 counts values, not packed bytes).
    header_shape: tuple[int, ...]
    begin: int
    end: int

    @property
    def nbytes(self) -> int:
        return self.end - self.begin


@dataclass(frozen=True)
class Alias:
    """A name dropped because it is the identical view of a kept tensor (tied weights)."""

    name: str
    kept: str
    path: tuple[object, ...]


@dataclass(frozen=True)
class StorageUse:
    #: Bytes of storages the output uses that no written tensor covers (can hide data).
    unreferenced_bytes: int = 0
    #: Bytes of storages no written tensor uses at all (optimizer state, dropped objects).
    unexported_bytes: int = 0
    #: Storages whose coverage was estimated from view extents (huge strided views).
    approximate: bool = False


@dataclass(frozen=True)
class Plan:
    #: In file order.
    tensors: tuple[PlannedTensor, ...]
    aliases: tuple[Alias, ...]
    metadata: dict[str, str]
    #: The 8-byte length prefix and the padded JSON header.
    header: bytes
    usage: StorageUse = field(default_factory=StorageUse)

    @property
    def data_size(self) -> int:
        return self.tensors[-1].end if self.tensors else 0

    @property
    def size(self) -> int:
        return len(self.header) + self.data_size


def plan(exported: Iterable[Exported], storage_sizes: dict[str, int]) -> Plan:
    """Deduplicate, order and lay out ``exported`` tensors."""
    entries = list(exported)
    for entry in entries:
        _check_writable(entry)
    groups: dict[tuple[object, ...], list[Exported]] = {}
    for entry in entries:
        groups.setdefault(entry.view.identity(), []).append(entry)
    kept: list[Exported] = []
    aliases: list[Alias] = []
    for group in groups.values():
        group.sort(key=lambda e: e.name)  # convert.py keeps sorted(names)[0]
        kept.append(group[0])
        aliases.extend(Alias(e.name, group[0].name, e.path) for e in group[1:])
    kept.sort(key=lambda e: (HEADER_RANK[e.view.dtype.code], e.name.encode("utf-8")))
    tensors: list[PlannedTensor] = []
    offset = 0
    for entry in kept:
        nbytes = entry.view.nbytes
        tensors.append(
            PlannedTensor(
                entry.name,
                entry.view,
                entry.path,
                _header_shape(entry.view),
                offset,
                offset + nbytes,
            )
        )
        offset += nbytes
    aliases.sort(key=lambda a: a.name)
    for alias in aliases:
        if alias.name in FORMAT_METADATA:
            raise UnsupportedContentError(
                f"the tied tensor {alias.name!r} would be recorded under the reserved metadata "
                f"key {alias.name!r}",
                hint="export another container with --key",
            )
    metadata = dict(sorted({**FORMAT_METADATA, **{a.name: a.kept for a in aliases}}.items()))
    header = header_bytes(tensors, metadata)
    return Plan(
        tuple(tensors),
        tuple(aliases),
        metadata,
        header,
        storage_use([t.view for t in tensors], storage_sizes),
    )


def header_bytes(tensors: Iterable[PlannedTensor], metadata: dict[str, str]) -> bytes:
    document: dict[str, object] = {"__metadata__": metadata}
    for tensor in tensors:
        document[tensor.name] = {
            "dtype": tensor.view.dtype.code,
            "shape": list(tensor.header_shape),
            "data_offsets": [tensor.begin, tensor.end],
        }
    raw = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw


def _header_shape(view: TensorView) -> tuple[int, ...]:
    scale = view.dtype.header_scale
    if scale == 1:
        return view.shape
    return (*view.shape[:-1], view.shape[-1] * scale)


def _check_writable(entry: Exported) -> None:
    view = entry.view
    kind = view.dtype.kind
    if kind == FLOAT4 and not view.shape:
        raise UnsupportedContentError(
            f"{entry.name}: a scalar float4_e2m1fn_x2 tensor holds two packed values that a "
            "safetensors shape cannot express",
            hint="export another container with --key",
        )
    if view.conj and kind != COMPLEX:
        raise UnsupportedContentError(
            f"{entry.name}: a conjugate bit on a {view.dtype.torch_name} "
            "tensor (only complex tensors have one)"
        )
    if view.neg and kind not in (FLOAT, SIGNED, COMPLEX):
        raise UnsupportedContentError(
            f"{entry.name}: a lazily negated {view.dtype.torch_name} tensor; negating that type "
            "is not defined bit-exactly here",
            hint="resolve it with torch (t.resolve_neg())",
        )


def storage_use(views: list[TensorView], storage_sizes: dict[str, int]) -> StorageUse:
    """How much of each storage the written tensors cover."""
    by_storage: dict[str, list[TensorView]] = {}
    for view in views:
        by_storage.setdefault(view.storage, []).append(view)
    unexported = sum(size for key, size in storage_sizes.items() if key not in by_storage)
    unreferenced = 0
    approximate = False
    for key, group in by_storage.items():
        intervals: list[tuple[int, int]] = []
        for view in group:
            spans, exact = _coverage(view)
            intervals.extend(spans)
            approximate |= not exact
        unreferenced += storage_sizes.get(key, 0) - _union_length(intervals)
    return StorageUse(max(0, unreferenced), unexported, approximate)


def _coverage(view: TensorView) -> tuple[list[tuple[int, int]], bool]:
    """Byte intervals of the storage the view's elements occupy, and whether exact."""
    start, end = view.byte_range
    if view.numel == 0:
        return [], True
    if _dense(view):
        return [(start, end)], True
    if view.numel > EXACT_COVERAGE_LIMIT:
        return [(start, end)], False
    import numpy as np

    offsets = np.zeros(1, dtype=np.int64)
    for size, stride in zip(view.shape, view.stride, strict=True):
        offsets = (offsets[:, None] + np.arange(size, dtype=np.int64)[None, :] * stride).ravel()
    elements = np.unique(offsets)
    # consecutive element indexes form one run
    breaks = np.nonzero(np.diff(elements) != 1)[0]
    run_starts = np.concatenate(([elements[0]], elements[breaks + 1]))
    run_ends = np.concatenate((elements[breaks], [elements[-1]])) + 1
    size = view.dtype.itemsize
    base = view.offset
    return [
        (int(base + s) * size, int(base + e) * size)
        for s, e in zip(run_starts, run_ends, strict=True)
    ], True


def _dense(view: TensorView) -> bool:
    """The elements fill their extent exactly once (a permutation of a contiguous layout)."""
    dims = sorted(
        (stride, size) for size, stride in zip(view.shape, view.stride, strict=True) if size != 1
    )
    expected = 1
    for stride, size in dims:
        if stride != expected:
            return False
        expected *= size
    return True


def _union_length(intervals: list[tuple[int, int]]) -> int:
    total = 0
    current_start = current_end = -1
    for start, end in sorted(intervals):
        if start > current_end:
            total += current_end - current_start
            current_start, current_end = start, end
        else:
            current_end = max(current_end, end)
    total += current_end - current_start
    return total
