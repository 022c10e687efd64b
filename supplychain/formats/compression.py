"""Decompressing wrappers (gzip, bzip2, xz/lzma, zlib) as capped forward-only streams.

A decompression bomb expands a few kilobytes into gigabytes; every stream
here refuses to produce more than its cap and raises
:class:`~supplychain.picklevm.source.SourceLimit` instead, which a scanner
reports as "could not scan", never as clean.
"""

from __future__ import annotations

import bz2
import lzma
import zlib
from typing import Protocol

from supplychain.formats.sniff import Format
from supplychain.picklevm import Source
from supplychain.picklevm.source import SourceLimit

#: Default cap on decompressed bytes per stream.
DEFAULT_CAP = 8 << 30


class _Decoder(Protocol):
    def decompress(self, data: bytes) -> bytes: ...


class UnsupportedCompression(Exception):
    """A compression format this installation cannot decode."""


def _decoder(kind: Format) -> _Decoder:
    if kind is Format.GZIP:
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if kind is Format.ZLIB:
        return zlib.decompressobj(zlib.MAX_WBITS)
    if kind is Format.BZIP2:
        return bz2.BZ2Decompressor()
    if kind is Format.XZ:
        return lzma.LZMADecompressor(lzma.FORMAT_XZ)
    if kind is Format.LZMA:
        return lzma.LZMADecompressor(lzma.FORMAT_ALONE)
    raise UnsupportedCompression(f"{kind.value} streams are not supported")


class DecompressingReader:
    """``read(n)`` over the decompressed bytes of ``raw``; concatenated members are followed."""

    def __init__(self, raw: Source, kind: Format, cap: int = DEFAULT_CAP) -> None:
        self._raw = raw
        self._kind = kind
        self._decoder = _decoder(kind)
        self._cap = cap
        self._produced = 0
        self._pending = bytearray()
        self._eof = False

    def read(self, n: int = -1) -> bytes:
        want = n if n >= 0 else 1 << 20
        while len(self._pending) < want and not self._eof:
            chunk = self._raw.read(1 << 16)
            if not chunk:
                self._eof = True
                break
            out = self._decoder.decompress(chunk)
            unused = getattr(self._decoder, "unused_data", b"")
            if unused and getattr(self._decoder, "eof", False) and self._kind is Format.GZIP:
                # gzip allows several members back to back (as gzip.open reads them)
                self._decoder = _decoder(self._kind)
                out += self._decoder.decompress(unused)
            self._produced += len(out)
            if self._produced > self._cap:
                raise SourceLimit(
                    f"decompressed {self._kind.value} data exceeds the "
                    f"{self._cap}-byte cap (decompression bomb?)"
                )
            self._pending += out
        data = bytes(self._pending[:want])
        del self._pending[:want]
        return data


def decompressed(raw: Source, kind: Format, cap: int = DEFAULT_CAP) -> Source:
    """A forward-only source over the decompressed content of ``raw``."""
    return Source.from_stream(DecompressingReader(raw, kind, cap))
