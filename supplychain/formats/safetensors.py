"""Read and validate safetensors headers without loading tensors.

One reader for everyone: the scanner validates files with it, the BOM reads
parameter counts and dtypes from it, the converter re-reads its own output.
Validation follows the safetensors format rules: a little-endian u64 header
length, a JSON object header of at most 100 MB, every tensor's byte range
consistent with its dtype and shape, ranges contiguous from 0 with no holes
or overlaps, and no bytes after the last tensor.
"""

from __future__ import annotations

import json
import math
import os
import re
import struct
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from supplychain.errors import InputError

MAX_HEADER_SIZE = 100_000_000
METADATA_KEY = "__metadata__"
#: How deeply a header's JSON may nest. A real header nests three levels (object,
#: tensor entry, shape list); Python's json module raises RecursionError near 1000.
MAX_JSON_DEPTH = 32
#: JSON strings (escapes included), removed before brackets are counted.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')

#: safetensors dtype -> bits per element (sub-byte types pack along the last dimension).
DTYPE_BITS: dict[str, int] = {
    "BOOL": 8,
    "F4": 4,
    "F6_E2M3": 6,
    "F6_E3M2": 6,
    "U8": 8,
    "I8": 8,
    "F8_E5M2": 8,
    "F8_E4M3": 8,
    "F8_E8M0": 8,
    "F8_E4M3FNUZ": 8,
    "F8_E5M2FNUZ": 8,
    "I16": 16,
    "U16": 16,
    "F16": 16,
    "BF16": 16,
    "I32": 32,
    "U32": 32,
    "F32": 32,
    "C64": 64,
    "F64": 64,
    "I64": 64,
    "U64": 64,
}


class SafetensorsError(InputError):
    """A file that claims to be safetensors breaks the format's rules."""


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dtype: str
    shape: tuple[int, ...]
    #: Byte range relative to the start of the data section (after the header).
    begin: int
    end: int

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.end - self.begin


@dataclass(frozen=True)
class SafetensorsHeader:
    path: Path
    header_size: int
    #: Tensors sorted by their byte offset.
    tensors: tuple[TensorInfo, ...]
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def data_start(self) -> int:
        """File offset of the data section."""
        return 8 + self.header_size

    @property
    def parameter_count(self) -> int:
        return sum(t.numel for t in self.tensors)

    @property
    def dtype_counts(self) -> dict[str, int]:
        """Parameters per dtype, e.g. ``{"BF16": 8030261248}``."""
        counts: Counter[str] = Counter()
        for tensor in self.tensors:
            counts[tensor.dtype] += tensor.numel
        return dict(sorted(counts.items()))

    def to_json(self) -> dict[str, Any]:
        return {
            "header_size": self.header_size,
            "tensors": len(self.tensors),
            "parameters": self.parameter_count,
            "dtypes": self.dtype_counts,
            "metadata": self.metadata,
        }


def read_header(path: str | os.PathLike[str]) -> SafetensorsHeader:
    """Parse and validate the header of the safetensors file at ``path``."""
    file_path = Path(path)
    with open(file_path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        prefix = handle.read(8)
        if len(prefix) < 8:
            raise SafetensorsError("file is shorter than the 8-byte header length", path=file_path)
        (header_size,) = struct.unpack("<Q", prefix)
        if header_size > MAX_HEADER_SIZE:
            raise SafetensorsError(
                f"header length {header_size} exceeds the format's {MAX_HEADER_SIZE}-byte limit",
                path=file_path,
            )
        if header_size > size - 8:
            raise SafetensorsError(
                f"header length {header_size} runs past the end of the {size}-byte file",
                path=file_path,
            )
        raw = handle.read(header_size)
    return parse_header(raw, size, file_path)


def parse_header(raw: bytes, file_size: int, path: Path) -> SafetensorsHeader:
    """Validate header bytes of a file of ``file_size`` bytes."""

    def fail(problem: str) -> SafetensorsError:
        return SafetensorsError(problem, path=path, hint="the file is corrupt or not safetensors")

    if not raw.startswith(b"{"):
        raise fail("header does not start with '{'")
    if nests_too_deep(raw):
        raise fail(
            f"header JSON nests deeper than {MAX_JSON_DEPTH} levels or its brackets do not match "
            "(a real header nests 3)"
        )
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise fail(f"header is not valid UTF-8 JSON ({exc})") from None
    if not isinstance(document, dict):
        raise fail("header is not a JSON object")
    metadata = document.pop(METADATA_KEY, None) or {}
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise fail("__metadata__ must map strings to strings")
    tensors = [_tensor_info(name, entry, fail) for name, entry in document.items()]
    tensors.sort(key=lambda t: (t.begin, t.end))
    expected = 0
    for tensor in tensors:
        if tensor.begin != expected:
            what = "overlaps the previous tensor" if tensor.begin < expected else "leaves a hole"
            raise fail(
                f"tensor {tensor.name!r} {what} (starts at {tensor.begin}, expected {expected})"
            )
        expected = tensor.end
    data_size = file_size - 8 - len(raw)
    if expected != data_size:
        problem = (
            f"{data_size - expected} bytes after the last tensor are not part of any tensor"
            if expected < data_size
            else f"tensors need {expected} data bytes but the file has {data_size}"
        )
        raise fail(problem)
    return SafetensorsHeader(path, len(raw), tuple(tensors), dict(metadata))


def nests_too_deep(raw: bytes, max_depth: int = MAX_JSON_DEPTH) -> bool:
    """True when the JSON in ``raw`` nests deeper than ``max_depth`` (or its brackets mismatch).

    Checked without parsing: strings are removed, then each pass deletes the
    innermost bracket pairs (``bytes.replace``); whatever survives
    ``max_depth`` passes is too deep. Every pass runs in C: a 100 MB header
    costs a few seconds at worst, and json.loads is never asked to recurse.
    """
    brackets = _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    for _ in range(max_depth):
        if not brackets:
            return False
        brackets = brackets.replace(b"[]", b"").replace(b"{}", b"")
    return bool(brackets)


_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def _tensor_info(name: str, entry: Any, fail: Any) -> TensorInfo:
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise fail(f"tensor {name!r} must have exactly dtype, shape and data_offsets")
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if dtype not in DTYPE_BITS:
        raise fail(f"tensor {name!r} has unknown dtype {dtype!r}")
    if not isinstance(shape, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        raise fail(f"tensor {name!r} has an invalid shape {shape!r}")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(isinstance(o, int) and not isinstance(o, bool) and o >= 0 for o in offsets)
        or offsets[0] > offsets[1]
    ):
        raise fail(f"tensor {name!r} has invalid data_offsets {offsets!r}")
    bits = math.prod(shape) * DTYPE_BITS[dtype]
    if bits % 8 or bits // 8 != offsets[1] - offsets[0]:
        raise fail(
            f"tensor {name!r}: {dtype} {shape} needs {bits / 8:g} bytes "
            f"but data_offsets cover {offsets[1] - offsets[0]}"
        )
    return TensorInfo(name, dtype, tuple(shape), offsets[0], offsets[1])
