"""Decompressing wrappers (gzip, bzip2, xz/lzma, zlib, zip members) as capped forward-only streams.

A decompression bomb expands a few kilobytes into gigabytes; every stream
here refuses to produce more than its cap, or more than what is left of the
:class:`DecompressionBudget` shared by all the streams of one scanned file,
and raises :class:`~supplychain.picklevm.source.SourceLimit` instead, which a
scanner reports as "could not scan", never as clean.

Inflating is linear: each ``read(n)`` asks the decoder for at most the bytes
still wanted (``max_length``), so a small read never makes the decoder expand
a whole input chunk (up to a thousand times its size) into memory that later
reads would copy again.
"""

from __future__ import annotations

import bz2
import lzma
import struct
import zlib
from collections.abc import Callable
from typing import Protocol

from supplychain.formats.sniff import Format
from supplychain.picklevm import Source
from supplychain.picklevm.source import SourceLimit

#: Default cap on decompressed bytes per stream.
DEFAULT_CAP = 8 << 30
#: Compressed bytes handed to a decoder at a time.
_INPUT_CHUNK = 1 << 16
#: Zip member compression methods this module decodes.
ZIP_DEFLATED, ZIP_BZIP2, ZIP_LZMA = 8, 12, 14


class UnsupportedCompression(Exception):
    """A compression format this installation cannot decode."""


class DecompressionBudget:
    """The bytes all the decompressors of one scanned file may still produce, together.

    A per-stream cap alone lets an archive of a thousand small bombs (or a
    thousand directory entries pointing at one bomb) expand a thousand times.
    """

    def __init__(self, total: int) -> None:
        self.total = total
        self.used = 0

    def charge(self, count: int, what: str) -> None:
        self.used += count
        if self.used > self.total:
            raise SourceLimit(
                f"{what}: the streams of this file expand past {self.total} bytes in all "
                "(decompression cap per scanned file; decompression bomb?)"
            )


class Decoder(Protocol):
    """What bz2 and lzma decompressor objects offer; zlib's and zip LZMA's are adapted to it."""

    @property
    def eof(self) -> bool: ...
    @property
    def unused_data(self) -> bytes: ...
    @property
    def needs_input(self) -> bool: ...
    def decompress(self, data: bytes, max_length: int = -1) -> bytes: ...


class _ZlibDecoder:
    """zlib keeps input it could not use in ``unconsumed_tail``; feed it back before new input."""

    def __init__(self, wbits: int) -> None:
        self._decoder = zlib.decompressobj(wbits)
        self._full = False  # the last call stopped at max_length: more output may be pending

    @property
    def eof(self) -> bool:
        return self._decoder.eof

    @property
    def unused_data(self) -> bytes:
        return self._decoder.unused_data

    @property
    def needs_input(self) -> bool:
        return not self._decoder.unconsumed_tail and not self._full

    def decompress(self, data: bytes, max_length: int = -1) -> bytes:
        tail = self._decoder.unconsumed_tail
        out = self._decoder.decompress(tail + data if tail else data, max(0, max_length))
        self._full = max_length > 0 and len(out) >= max_length
        return out


class _ZipLzmaDecoder:
    """Zip's LZMA members carry a 4-byte version and a properties header before the raw stream."""

    def __init__(self) -> None:
        self._decoder: lzma.LZMADecompressor | None = None
        self._header = b""

    @property
    def eof(self) -> bool:
        return self._decoder is not None and self._decoder.eof

    @property
    def unused_data(self) -> bytes:
        return self._decoder.unused_data if self._decoder is not None else b""

    @property
    def needs_input(self) -> bool:
        return self._decoder is None or self._decoder.needs_input

    def decompress(self, data: bytes, max_length: int = -1) -> bytes:
        if self._decoder is None:
            self._header += data
            if len(self._header) < 4:
                return b""
            (props_len,) = struct.unpack("<H", self._header[2:4])
            if len(self._header) < 4 + props_len:
                return b""
            props = self._header[4 : 4 + props_len]
            filters = [lzma._decode_filter_properties(lzma.FILTER_LZMA1, props)]  # type: ignore[attr-defined]
            self._decoder = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=filters)
            data, self._header = self._header[4 + props_len :], b""
        return self._decoder.decompress(data, max_length)


def stream_decoder(kind: Format) -> Decoder:
    if kind is Format.GZIP:
        return _ZlibDecoder(16 + zlib.MAX_WBITS)
    if kind is Format.ZLIB:
        return _ZlibDecoder(zlib.MAX_WBITS)
    if kind is Format.BZIP2:
        return bz2.BZ2Decompressor()
    if kind is Format.XZ:
        return lzma.LZMADecompressor(lzma.FORMAT_XZ)
    if kind is Format.LZMA:
        return lzma.LZMADecompressor(lzma.FORMAT_ALONE)
    raise UnsupportedCompression(f"{kind.value} streams are not supported")


def zip_decoder(method: int) -> Decoder:
    if method == ZIP_DEFLATED:
        return _ZlibDecoder(-15)
    if method == ZIP_BZIP2:
        return bz2.BZ2Decompressor()
    if method == ZIP_LZMA:
        return _ZipLzmaDecoder()
    raise UnsupportedCompression(f"zip compression method {method} is not supported")


#: Formats whose readers (gzip.open, bz2.open, lzma.open) go on into a following stream.
_CONCATENATED = frozenset({Format.GZIP, Format.BZIP2, Format.XZ})


class DecompressingReader:
    """``read(n)`` over the decompressed bytes of ``raw``, in time linear in what is read."""

    def __init__(
        self,
        raw: Source,
        new_decoder: Callable[[], Decoder],
        *,
        what: str,
        cap: int = DEFAULT_CAP,
        budget: DecompressionBudget | None = None,
        concatenated: bool = False,
    ) -> None:
        self._raw = raw
        self._new_decoder = new_decoder
        self._decoder = new_decoder()
        self._what = what
        self._cap = cap
        self._budget = budget
        self._concatenated = concatenated
        self._produced = 0
        self._input = b""  # compressed bytes read but not yet given to a decoder
        self._done = False

    def read(self, n: int = -1) -> bytes:
        want = n if n >= 0 else 1 << 20
        parts: list[bytes] = []
        have = 0
        while have < want and not self._done:
            out = self._step(want - have)
            if out:
                self._account(len(out))
                parts.append(out)
                have += len(out)
        return b"".join(parts)

    def _step(self, limit: int) -> bytes:
        decoder = self._decoder
        data = b""
        if decoder.needs_input:
            data, self._input = self._input or self._raw.read(_INPUT_CHUNK), b""
            if not data:
                self._done = True
                return b""
        out = decoder.decompress(data, limit)
        if decoder.eof:
            if self._concatenated:
                # several members back to back, as gzip.open (bz2.open, lzma.open) reads them
                self._input = decoder.unused_data
                self._decoder = self._new_decoder()
            else:
                self._done = True
        return out

    def _account(self, count: int) -> None:
        self._produced += count
        if self._produced > self._cap:
            raise SourceLimit(
                f"{self._what} expands past {self._cap} bytes (decompression cap; "
                "decompression bomb?)"
            )
        if self._budget is not None:
            self._budget.charge(count, self._what)


def decompressed(
    raw: Source, kind: Format, cap: int = DEFAULT_CAP, budget: DecompressionBudget | None = None
) -> Source:
    """A forward-only source over the decompressed content of ``raw``."""
    stream_decoder(kind)  # refuse an unsupported format now, not at the first read
    reader = DecompressingReader(
        raw,
        lambda: stream_decoder(kind),
        what=f"decompressed {kind.value} data",
        cap=cap,
        budget=budget,
        concatenated=kind in _CONCATENATED,
    )
    return Source.from_stream(reader)


def inflated_member(
    raw: Source, method: int, name: str, cap: int, budget: DecompressionBudget | None = None
) -> Source:
    """A forward-only source over a compressed zip member's data ``raw``."""
    reader = DecompressingReader(
        raw, lambda: zip_decoder(method), what=f"member {name}", cap=cap, budget=budget
    )
    return Source.from_stream(reader)
