"""TFLite models: the operator codes a FlatBuffer ``Model`` names, read by hand and bounded.

A TFLite graph runs builtin kernels, except operators whose code is CUSTOM
(32): those name native code the interpreter must have registered, and
``Flex...`` custom ops run the named TensorFlow op through the Select-TF-ops
delegate. Only the ``Model.operator_codes`` vector is read (schema.fbs:
Model field 1; OperatorCode fields 0 ``deprecated_builtin_code``, 1
``custom_code``, 3 ``builtin_code``); the interpreter takes the larger of the
two codes, and so does this reader.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO

#: BuiltinOperator.CUSTOM.
CUSTOM = 32
#: Operator codes read before giving up (real models use tens).
MAX_OPERATOR_CODES = 10_000
#: Longest custom op name kept.
MAX_NAME = 1024
_MODEL_OPERATOR_CODES = 1
_CODE_DEPRECATED, _CODE_CUSTOM, _CODE_BUILTIN = 0, 1, 3


class TfliteFormatError(Exception):
    """The FlatBuffer does not hold a readable Model."""


class TfliteLimit(TfliteFormatError):
    """A cap was hit before the operator codes were all read."""


@dataclass(frozen=True)
class OperatorCode:
    builtin: int
    custom: str | None

    @property
    def is_custom(self) -> bool:
        return self.builtin == CUSTOM


class _Buffer:
    """Little-endian reads at absolute offsets of a seekable file, checked against its size."""

    def __init__(self, handle: BinaryIO, size: int) -> None:
        self.handle = handle
        self.size = size

    def read(self, offset: int, count: int) -> bytes:
        if offset < 0 or count < 0 or offset + count > self.size:
            raise TfliteFormatError(f"offset {offset} (+{count}) lies outside the file")
        self.handle.seek(offset)
        data = self.handle.read(count)
        if len(data) != count:
            raise TfliteFormatError(f"file ended at offset {offset}")
        return data

    def u32(self, offset: int) -> int:
        return int(struct.unpack("<I", self.read(offset, 4))[0])

    def field(self, table: int, index: int) -> int | None:
        """Absolute position of a table's field, or None when the vtable leaves it out."""
        (soffset,) = struct.unpack("<i", self.read(table, 4))
        vtable = table - soffset
        (vtable_size,) = struct.unpack("<H", self.read(vtable, 2))
        slot = 4 + 2 * index
        if slot + 2 > vtable_size:
            return None
        (relative,) = struct.unpack("<H", self.read(vtable + slot, 2))
        return table + relative if relative else None

    def indirect(self, position: int) -> int:
        return position + self.u32(position)


def read_operator_codes(handle: BinaryIO, size: int) -> tuple[OperatorCode, ...]:
    """Every entry of ``Model.operator_codes``."""
    buffer = _Buffer(handle, size)
    model = buffer.u32(0)
    position = buffer.field(model, _MODEL_OPERATOR_CODES)
    if position is None:
        return ()
    vector = buffer.indirect(position)
    count = buffer.u32(vector)
    if count > MAX_OPERATOR_CODES:
        raise TfliteLimit(f"{count} operator codes (more than {MAX_OPERATOR_CODES})")
    return tuple(_operator_code(buffer, buffer.indirect(vector + 4 + 4 * i)) for i in range(count))


def _operator_code(buffer: _Buffer, table: int) -> OperatorCode:
    deprecated = buffer.field(table, _CODE_DEPRECATED)
    builtin = buffer.field(table, _CODE_BUILTIN)
    code = max(
        struct.unpack("<b", buffer.read(deprecated, 1))[0] if deprecated is not None else 0,
        struct.unpack("<i", buffer.read(builtin, 4))[0] if builtin is not None else 0,
    )
    name_at = buffer.field(table, _CODE_CUSTOM)
    name = None
    if name_at is not None:
        start = buffer.indirect(name_at)
        length = buffer.u32(start)
        if length > MAX_NAME:
            raise TfliteLimit(f"custom op name of {length} bytes (more than {MAX_NAME})")
        name = buffer.read(start + 4, length).decode("utf-8", errors="replace")
    return OperatorCode(code, name)
