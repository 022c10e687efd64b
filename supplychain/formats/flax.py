"""Flax checkpoints (``flax.serialization.msgpack_serialize``) recognised by structure.

Flax writes the parameter tree as a msgpack map of maps with string keys whose
leaves are msgpack ext values: code 1 an ndarray, 2 a native complex, 3 a
numpy scalar (flax/serialization.py, ``_MsgpackExtType``). Its reader builds
arrays from dtype names and bytes; no Python object is imported. This module
walks the first bytes only, bounded in depth and in the items it looks at,
until it meets the first such leaf.
"""

from __future__ import annotations

import struct

#: Ext type codes Flax writes for its leaves.
_FLAX_EXT = frozenset({1, 2, 3})
#: Nesting of parameter dicts looked through.
MAX_DEPTH = 32
#: Map entries looked at before giving up.
MAX_ITEMS = 512
#: msgpack ext headers: marker -> (bytes of length field, fixed payload length or None).
_EXT = {
    0xD4: (0, 1),
    0xD5: (0, 2),
    0xD6: (0, 4),
    0xD7: (0, 8),
    0xD8: (0, 16),
    0xC7: (1, None),
    0xC8: (2, None),
    0xC9: (4, None),
}


class _NotFlax(Exception):
    """The bytes read so far are not a Flax parameter tree."""


class _Found(Exception):
    """A Flax leaf was met after nothing but maps and string keys."""


def is_checkpoint(head: bytes) -> bool:
    """A map of string-keyed maps reaching a Flax ext leaf within ``head``."""
    if not head or not _is_map(head[0]):
        return False
    walker = _Walker(head)
    try:
        walker.value(0)
    except _Found:
        return True
    except (_NotFlax, IndexError, struct.error, UnicodeDecodeError):
        return False
    return False


def _is_map(marker: int) -> bool:
    return 0x80 <= marker <= 0x8F or marker in (0xDE, 0xDF)


class _Walker:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.items = 0

    def byte(self) -> int:
        value = self.data[self.pos]
        self.pos += 1
        return value

    def take(self, count: int) -> bytes:
        if self.pos + count > len(self.data):
            raise _NotFlax
        chunk = self.data[self.pos : self.pos + count]
        self.pos += count
        return chunk

    def value(self, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise _NotFlax
        marker = self.byte()
        if _is_map(marker):
            self.map_entries(self._map_size(marker), depth)
        elif marker in _EXT:
            self.ext(marker)
        else:
            raise _NotFlax  # Flax trees hold only maps down to ext leaves

    def _map_size(self, marker: int) -> int:
        if marker <= 0x8F:
            return marker & 0x0F
        width = 2 if marker == 0xDE else 4
        return int.from_bytes(self.take(width), "big")

    def map_entries(self, count: int, depth: int) -> None:
        for _ in range(count):
            self.items += 1
            if self.items > MAX_ITEMS:
                raise _NotFlax
            self.key()
            self.value(depth + 1)

    def key(self) -> None:
        marker = self.byte()
        if 0xA0 <= marker <= 0xBF:
            length = marker & 0x1F
        elif marker in (0xD9, 0xDA, 0xDB):
            length = int.from_bytes(self.take({0xD9: 1, 0xDA: 2, 0xDB: 4}[marker]), "big")
        else:
            raise _NotFlax
        self.take(length).decode("utf-8", errors="strict")

    def ext(self, marker: int) -> None:
        width, fixed = _EXT[marker]
        if fixed is None:
            self.take(width)
        (code,) = struct.unpack("b", self.take(1))
        if code in _FLAX_EXT:
            raise _Found
        raise _NotFlax
