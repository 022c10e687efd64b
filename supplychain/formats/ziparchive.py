"""A zip reader that reports what Python's zipfile refuses and torch accepts.

It reads the central directory (zip64 included), then every member's local
header, and records each member's data offset, so callers can read a member
in place (a torch storage record, a pickle) without trusting either header
alone. Disagreements between the two headers (names, methods, CRC-32), data
before the archive, encrypted members and duplicate names are reported as
``problems`` rather than raised: a loader such as torch reads such archives,
so a scanner must too.
"""

from __future__ import annotations

import bz2
import lzma
import os
import struct
import zlib
from dataclasses import dataclass
from typing import BinaryIO

from supplychain.errors import InputError
from supplychain.picklevm import Source
from supplychain.picklevm.source import SourceLimit

_EOCD = b"PK\x05\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_EOCD64 = b"PK\x06\x06"
_CENTRAL = b"PK\x01\x02"
_LOCAL = b"PK\x03\x04"
MAX_COMMENT = 0xFFFF
#: Central directories larger than this are refused (about a million members' worth).
MAX_DIRECTORY = 256 << 20

STORED, DEFLATED, BZIP2, LZMA = 0, 8, 12, 14
_METHOD_NAMES = {STORED: "stored", DEFLATED: "deflated", BZIP2: "bzip2", LZMA: "lzma"}


class ZipFormatError(InputError):
    """The file is not a zip archive this reader can follow."""


@dataclass(frozen=True)
class ZipMember:
    name: str
    method: int
    flags: int
    crc32: int
    compressed_size: int
    size: int
    header_offset: int
    #: File offset of the member's data (after its local header); -1 if the header is unreadable.
    data_offset: int
    local_name: str | None
    local_method: int | None
    local_flags: int | None
    local_crc32: int | None

    @property
    def method_name(self) -> str:
        return _METHOD_NAMES.get(self.method, f"method {self.method}")

    @property
    def encrypted(self) -> bool:
        return bool(self.flags & 0x1)

    @property
    def readable(self) -> bool:
        return self.data_offset >= 0 and not self.encrypted and self.method in _METHOD_NAMES


@dataclass(frozen=True)
class ZipArchive:
    members: tuple[ZipMember, ...]
    #: Bytes before the first member (self-extractor stubs, polyglots); offsets include them.
    prefix: int
    comment: bytes
    #: Inconsistencies a strict reader would refuse: (member name or "", message).
    problems: tuple[tuple[str, str], ...]

    def get(self, name: str) -> ZipMember | None:
        for member in self.members:
            if member.name == name:
                return member
        return None


def _find_eocd(handle: BinaryIO, size: int) -> tuple[int, bytes]:
    start = max(0, size - (22 + MAX_COMMENT))
    handle.seek(start)
    tail = handle.read()
    index = tail.rfind(_EOCD)
    while index >= 0:
        if index + 22 <= len(tail):
            (comment_len,) = struct.unpack("<H", tail[index + 20 : index + 22])
            if index + 22 + comment_len <= len(tail):
                return start + index, tail[index : index + 22 + comment_len]
        index = tail.rfind(_EOCD, 0, index)
    raise ZipFormatError("no end-of-central-directory record", hint="the file is not a zip archive")


def read_zip(handle: BinaryIO, *, max_members: int = 1_000_000) -> ZipArchive:
    """Parse the archive in the open binary file ``handle``."""
    size = handle.seek(0, os.SEEK_END)
    eocd_at, eocd = _find_eocd(handle, size)
    (_, _, _, count, cd_size, cd_offset, comment_len) = struct.unpack("<HHHHIIH", eocd[4:22])
    comment = eocd[22 : 22 + comment_len]
    cd_end = eocd_at
    if eocd_at >= 20:
        handle.seek(eocd_at - 20)
        locator = handle.read(20)
        if locator[:4] == _EOCD64_LOCATOR:
            # the zip64 record sits just before its locator (its recorded offset does not
            # account for data prepended to the archive)
            record_at = eocd_at - 20 - 56
            handle.seek(max(0, record_at))
            record = handle.read(56)
            if record_at >= 0 and record[:4] == _EOCD64:
                count, cd_size, cd_offset = struct.unpack("<QQQ", record[32:56])
                cd_end = record_at
    cd_start = cd_end - cd_size
    if cd_start < 0 or count > max_members or cd_size > MAX_DIRECTORY:
        raise ZipFormatError("the central directory is inconsistent", hint="the archive is corrupt")
    prefix = cd_start - cd_offset  # as zipfile does for self-extracting archives
    handle.seek(cd_start)
    directory = handle.read(cd_size)
    problems: list[tuple[str, str]] = []
    if prefix < 0:
        raise ZipFormatError(
            "central directory offset points past its real position", hint="the archive is corrupt"
        )
    if prefix:
        problems.append(("", f"{prefix} bytes precede the archive (self-extractor or polyglot)"))
    members = []
    seen: set[str] = set()
    pos = 0
    while pos + 46 <= len(directory) and directory[pos : pos + 4] == _CENTRAL:
        fields = struct.unpack("<HHHHHHIIIHHHHHII", directory[pos + 4 : pos + 46])
        flags, method, crc, csize, usize = fields[2], fields[3], fields[6], fields[7], fields[8]
        name_len, extra_len, comment_len2, header_offset = (
            fields[9],
            fields[10],
            fields[11],
            fields[15],
        )
        raw_name = directory[pos + 46 : pos + 46 + name_len]
        extra = directory[pos + 46 + name_len : pos + 46 + name_len + extra_len]
        usize, csize, header_offset = _zip64_values(extra, usize, csize, header_offset)
        name = raw_name.decode("utf-8" if flags & 0x800 else "cp437", "replace")
        if name in seen:
            problems.append((name, "the name appears twice in the central directory"))
        seen.add(name)
        member = _with_local_header(
            handle, size, name, flags, method, crc, csize, usize, header_offset + prefix, problems
        )
        members.append(member)
        pos += 46 + name_len + extra_len + comment_len2
    if len(members) != count:
        problems.append(
            ("", f"the end record announces {count} members, the directory holds {len(members)}")
        )
    return ZipArchive(tuple(members), prefix, comment, tuple(problems))


def _zip64_values(extra: bytes, usize: int, csize: int, offset: int) -> tuple[int, int, int]:
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack("<HH", extra[pos : pos + 4])
        body = extra[pos + 4 : pos + 4 + length]
        if tag == 0x0001:
            values = list(struct.unpack(f"<{len(body) // 8}Q", body[: len(body) // 8 * 8]))
            if usize == 0xFFFFFFFF and values:
                usize = values.pop(0)
            if csize == 0xFFFFFFFF and values:
                csize = values.pop(0)
            if offset == 0xFFFFFFFF and values:
                offset = values.pop(0)
        pos += 4 + length
    return usize, csize, offset


def _with_local_header(
    handle: BinaryIO,
    size: int,
    name: str,
    flags: int,
    method: int,
    crc: int,
    csize: int,
    usize: int,
    header_offset: int,
    problems: list[tuple[str, str]],
) -> ZipMember:
    handle.seek(header_offset)
    header = handle.read(30)
    if len(header) < 30 or header[:4] != _LOCAL:
        problems.append((name, f"no local header at offset {header_offset}"))
        return ZipMember(
            name, method, flags, crc, csize, usize, header_offset, -1, None, None, None, None
        )
    lflags, lmethod, _, _, lcrc, _, _, lname_len, lextra_len = struct.unpack(
        "<HHHHIIIHH", header[6:30]
    )
    local_raw = handle.read(lname_len)
    local_name = local_raw.decode("utf-8" if lflags & 0x800 else "cp437", "replace")
    data_offset = header_offset + 30 + lname_len + lextra_len
    if local_name != name:
        problems.append(
            (
                name,
                f"the local header names it {local_name!r} (zipfile refuses "
                "the archive; torch reads it)",
            )
        )
    if lmethod != method:
        problems.append(
            (name, f"local header method {lmethod} differs from the central directory's {method}")
        )
    if not lflags & 0x8 and lcrc != crc:
        problems.append(
            (name, f"local header CRC-32 {lcrc:08x} differs from the central directory's {crc:08x}")
        )
    if flags & 0x1:
        problems.append((name, "the member is encrypted"))
    if data_offset + csize > size:
        problems.append((name, "the member's data runs past the end of the file"))
    return ZipMember(
        name,
        method,
        flags,
        crc,
        csize,
        usize,
        header_offset,
        data_offset,
        local_name,
        lmethod,
        lflags,
        lcrc,
    )


class _Inflater:
    """A forward-only reader over a compressed member, refusing to produce more than ``cap``."""

    def __init__(self, raw: Source, method: int, cap: int, member: str) -> None:
        self._raw = raw
        self._cap = cap
        self._member = member
        self._produced = 0
        self._pending = b""
        self._done = False
        if method == DEFLATED:
            self._decoder: zlib._Decompress | bz2.BZ2Decompressor | lzma.LZMADecompressor = (
                zlib.decompressobj(-15)
            )
        elif method == BZIP2:
            self._decoder = bz2.BZ2Decompressor()
        else:
            self._decoder = _ZipLzma()  # type: ignore[assignment]

    def read(self, n: int = -1) -> bytes:
        want = n if n >= 0 else 1 << 20
        while len(self._pending) < want and not self._done:
            chunk = self._raw.read(1 << 16)
            if not chunk:
                self._done = True
                break
            out = self._decoder.decompress(chunk)
            self._produced += len(out)
            if self._produced > self._cap:
                raise SourceLimit(
                    f"{self._member} expands past {self._cap} bytes (decompression cap)"
                )
            self._pending += out
        data, self._pending = self._pending[:want], self._pending[want:]
        return data


class _ZipLzma:
    """Zip's LZMA members carry a 4-byte version and a properties header before the stream."""

    def __init__(self) -> None:
        self._decoder: lzma.LZMADecompressor | None = None
        self._header = b""

    def decompress(self, data: bytes) -> bytes:
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
        return self._decoder.decompress(data)


def member_source(handle: BinaryIO, member: ZipMember, *, cap: int) -> Source:
    """A source over the member's uncompressed bytes (stored: in place; else streamed, capped)."""
    raw = Source.from_file(handle, member.data_offset, member.compressed_size)
    if member.method == STORED:
        return raw
    return Source.from_stream(_Inflater(raw, member.method, cap, member.name))
