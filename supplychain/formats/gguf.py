"""GGUF metadata, read without llama.cpp: every key/value pair before the tensor data.

Scanners read the chat templates stored here (a Jinja template rendered by the
inference server), BOMs read architecture and quantization facts. Arrays are
kept only for strings and small scalars; tensor data is never read.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from supplychain.errors import InputError
from supplychain.picklevm import Source

MAGIC = b"GGUF"
#: Refuse metadata sections that claim more than this many keys or bytes per string.
MAX_KEYS = 1_000_000
MAX_STRING = 64 << 20
#: Array elements kept per key (the rest are skipped, not read into memory).
MAX_ARRAY_KEPT = 4096

_SCALARS: dict[int, tuple[str, int]] = {
    0: ("<B", 1),
    1: ("<b", 1),
    2: ("<H", 2),
    3: ("<h", 2),
    4: ("<I", 4),
    5: ("<i", 4),
    6: ("<f", 4),
    7: ("<?", 1),
    10: ("<Q", 8),
    11: ("<q", 8),
    12: ("<d", 8),
}
_STRING, _ARRAY = 8, 9


class GgufFormatError(InputError):
    """A file that claims to be GGUF breaks the format's rules."""


@dataclass(frozen=True)
class GgufMetadata:
    version: int
    tensor_count: int
    values: dict[str, Any]


def read_metadata(source: Source) -> GgufMetadata:
    """Parse the header and metadata key/values at the start of ``source``."""
    head = _take(source, 24)
    if head[:4] != MAGIC:
        raise GgufFormatError("not a GGUF file (bad magic)")
    (version,) = struct.unpack("<I", head[4:8])
    if version not in (2, 3):
        raise GgufFormatError(f"GGUF version {version} is not supported")
    tensor_count, kv_count = struct.unpack("<QQ", head[8:24])
    if kv_count > MAX_KEYS:
        raise GgufFormatError(f"GGUF claims {kv_count} metadata keys")
    values: dict[str, Any] = {}
    for _ in range(kv_count):
        key = _string(source)
        (kind,) = struct.unpack("<I", _take(source, 4))
        values[key] = _value(source, kind, depth=0)
    return GgufMetadata(version, tensor_count, values)


def _take(source: Source, n: int) -> bytes:
    data = source.read(n)
    if len(data) < n:
        raise GgufFormatError("the GGUF metadata ends early")
    return data


def _string(source: Source) -> str:
    (length,) = struct.unpack("<Q", _take(source, 8))
    if length > MAX_STRING:
        raise GgufFormatError(f"a GGUF string claims {length} bytes")
    return _take(source, length).decode("utf-8", "replace")


def _value(source: Source, kind: int, depth: int) -> Any:
    if kind in _SCALARS:
        fmt, size = _SCALARS[kind]
        return struct.unpack(fmt, _take(source, size))[0]
    if kind == _STRING:
        return _string(source)
    if kind == _ARRAY and depth < 4:
        (item_kind,) = struct.unpack("<I", _take(source, 4))
        (count,) = struct.unpack("<Q", _take(source, 8))
        if item_kind in _SCALARS:
            size = _SCALARS[item_kind][1]
            kept = [_value(source, item_kind, depth + 1) for _ in range(min(count, MAX_ARRAY_KEPT))]
            rest = (count - len(kept)) * size
            if source.skip(rest) < rest:
                raise GgufFormatError("the GGUF metadata ends early")
            return kept
        items = []
        for index in range(count):
            item = _value(source, item_kind, depth + 1)
            if index < MAX_ARRAY_KEPT:
                items.append(item)
        return items
    raise GgufFormatError(f"unknown GGUF value type {kind}")
