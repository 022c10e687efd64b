"""A zip reader that sees every archive each real loader would see.

Zip readers disagree on where an archive's central directory is. torch
(miniz) takes the last end record with 22 bytes after it and trusts recorded
offsets as they are; CPython's ``zipfile`` (and numpy through it) takes the
last end record in the tail, looks for the zip64 record just before its
locator and shifts every offset by the bytes found before the archive; strict
readers (Go's archive/zip, Info-ZIP) skip end records whose comment would run
past the file. An attacker who makes them disagree (a fake end record in the
comment, a zip64 locator pointing elsewhere) hides a ``data.pkl`` that one
loader runs and another reader never sees.

:func:`read_zip` therefore reads the archive under every reader's rules. Each
reading lists the members that reader would load (data offsets from each
member's local header); a disagreement between readings, and the usual
header inconsistencies (names, methods, CRC-32, duplicates, prepended data,
encryption), are reported as ``problems`` for the scanner to flag, and the
scanner reads every version of every member some loader could load.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from supplychain.errors import InputError
from supplychain.formats import compression
from supplychain.picklevm import Source

_EOCD = b"PK\x05\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_EOCD64 = b"PK\x06\x06"
_CENTRAL = b"PK\x01\x02"
_LOCAL = b"PK\x03\x04"
_EOCD_SIZE = 22
_LOCATOR_SIZE = 20
_EOCD64_SIZE = 56
_CENTRAL_SIZE = 46
_LOCAL_SIZE = 30
MAX_COMMENT = 0xFFFF
#: Central directories larger than this are refused (about a million members' worth).
MAX_DIRECTORY = 256 << 20
#: miniz scans the tail backwards in blocks of this size (4 KiB, overlapping by 3 bytes).
_MINIZ_BLOCK = 4096

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

    @property
    def extent(self) -> int:
        """Bytes some loader reads from ``data_offset``: miniz (torch) copies a stored member's
        uncompressed size, zipfile the smaller of the two sizes, so a stored member spans both."""
        if self.method == STORED:
            return max(self.compressed_size, self.size)
        return self.compressed_size

    @property
    def version(self) -> tuple[str, int, int, int, int]:
        """What a loader gets for this name: the same bytes, read the same way, are one version."""
        return (self.name, self.data_offset, self.compressed_size, self.method, self.size)


@dataclass(frozen=True)
class ZipReading:
    """The archive as one family of zip readers sees it."""

    #: Who reads it this way, e.g. ``"torch (miniz)"``.
    readers: str
    members: tuple[ZipMember, ...]
    #: Bytes before the archive that this reader shifts offsets by (0 for torch).
    prefix: int
    comment: bytes
    #: File offsets of the end record and of the central directory it points at.
    end_offset: int
    directory_offset: int

    @property
    def versions(self) -> frozenset[tuple[str, int, int, int, int]]:
        return frozenset(m.version for m in self.members)


@dataclass(frozen=True)
class ZipArchive:
    #: The members of the first reading (torch's, when torch can read the archive).
    members: tuple[ZipMember, ...]
    #: Bytes before the first member (self-extractor stubs, polyglots); offsets include them.
    prefix: int
    comment: bytes
    #: Inconsistencies a strict reader would refuse: (member name or "", message).
    problems: tuple[tuple[str, str], ...]
    #: Every reader family's view, the one ``members`` comes from first.
    readings: tuple[ZipReading, ...] = ()

    def get(self, name: str) -> ZipMember | None:
        """The member called ``name``; else one whose name differs only in case, as torch finds
        it (miniz compares names case-insensitively: ``ARCHIVE/DATA.PKL`` is ``data.pkl``)."""
        for member in self.members:
            if member.name == name:
                return member
        folded = name.lower()
        for member in self.members:
            if member.name.lower() == folded:
                return member
        return None

    @property
    def readers_disagree(self) -> bool:
        return len({r.versions for r in self.readings}) > 1


class _Unreadable(Exception):
    """This reader refuses the archive (others may not)."""


# -- where each reader finds the end record ------------------------------------------------------
def _miniz_search_start(size: int) -> int:
    """The lowest offset miniz's backward scan reaches before it gives up (about 64 KiB back)."""
    start = max(size - _MINIZ_BLOCK, 0)
    while start and size - start < MAX_COMMENT + _EOCD_SIZE:
        start = max(start - (_MINIZ_BLOCK - 3), 0)
    return start


def _miniz_end(tail: bytes, tail_start: int, size: int) -> int:
    """miniz: the last signature with at least 22 bytes after it; the comment length is ignored."""
    low = _miniz_search_start(size) - tail_start
    index = tail.rfind(_EOCD, low, len(tail) - _EOCD_SIZE + 4)
    if index < 0:
        raise _Unreadable("no end-of-central-directory record")
    return tail_start + index


def _zipfile_end(tail: bytes, tail_start: int, size: int) -> int:
    """CPython's ``_EndRecData``: the last 22 bytes if they are an end record without comment,
    else the last signature in the tail, refused when fewer than 22 bytes follow it."""
    if size < _EOCD_SIZE:
        raise _Unreadable("too short for an end-of-central-directory record")
    if tail[-_EOCD_SIZE:][:4] == _EOCD and tail[-2:] == b"\0\0":
        return size - _EOCD_SIZE
    low = max(size - (MAX_COMMENT + _EOCD_SIZE), 0) - tail_start
    index = tail.rfind(_EOCD, low)
    if index < 0:
        raise _Unreadable("no end-of-central-directory record")
    if len(tail) - index < _EOCD_SIZE:
        raise _Unreadable(f"the last end record, at offset {tail_start + index}, is cut short")
    return tail_start + index


def _strict_end(tail: bytes, tail_start: int, size: int) -> int:
    """The last signature whose comment ends within the file (Go's archive/zip, Info-ZIP)."""
    low = max(size - (MAX_COMMENT + _EOCD_SIZE), 0) - tail_start
    index = tail.rfind(_EOCD, low)
    while index >= 0:
        if index + _EOCD_SIZE <= len(tail):
            (comment_len,) = struct.unpack("<H", tail[index + 20 : index + 22])
            if index + _EOCD_SIZE + comment_len <= len(tail):
                return tail_start + index
        index = tail.rfind(_EOCD, low, index)
    raise _Unreadable("no end-of-central-directory record whose comment fits in the file")


@dataclass(frozen=True)
class _Rules:
    """How one family of readers goes from the end of the file to the members."""

    readers: str
    find_end: Callable[[bytes, int, int], int]
    #: The zip64 end record is where the locator says (else: right before the locator).
    zip64_at_recorded_offset: bool
    #: Offsets are shifted by the bytes found before the archive (zipfile's ``concat``).
    shift_offsets: bool
    #: As many entries as the end record announces (else: as many as its directory size holds).
    count_entries: bool


#: Every reader family a loader of model files uses; torch first (it decides what torch.load runs).
_READERS = (
    _Rules("torch (miniz)", _miniz_end, True, False, True),
    _Rules("zipfile (numpy)", _zipfile_end, False, True, False),
    _Rules("strict readers (Info-ZIP, Go)", _strict_end, True, True, True),
)


# -- reading ---------------------------------------------------------------------------------------
def read_zip(handle: BinaryIO, *, max_members: int = 1_000_000) -> ZipArchive:
    """Parse the archive in the open binary file ``handle`` under every reader's rules."""
    size = handle.seek(0, os.SEEK_END)
    tail_start = max(0, min(_miniz_search_start(size), size - (MAX_COMMENT + _EOCD_SIZE)))
    tail = _read_at(handle, tail_start, size - tail_start)
    problems: list[tuple[str, str]] = []
    readings: list[ZipReading] = []
    refusals: list[tuple[str, str]] = []
    for rules in _READERS:
        try:
            end_at = rules.find_end(tail, tail_start, size)
            readings.append(_read_directory(handle, size, end_at, rules, max_members, problems))
        except _Unreadable as exc:
            refusals.append((rules.readers, str(exc)))
    if not readings:
        raise ZipFormatError(
            f"no zip reader can read the archive ({refusals[0][1]})",
            hint="the file is not a zip archive, or it is corrupt",
        )
    distinct = _merge_same(readings)
    primary = distinct[0]
    for other in distinct[1:]:
        problems.append(("", _disagreement(primary, other)))
    for readers, reason in refusals:
        problems.append(
            ("", f"{readers} cannot read the archive ({reason}); {primary.readers} can")
        )
    known = {r.end_offset for r in readings}
    for candidate in _other_end_records(handle, size, tail, tail_start, known):
        if candidate.versions in {r.versions for r in distinct}:
            continue
        distinct.append(candidate)
        if not _inside_one_member(candidate, primary):
            problems.append(("", _disagreement(primary, candidate)))
    return ZipArchive(
        primary.members, primary.prefix, primary.comment, _unique(problems), tuple(distinct)
    )


#: End records besides the readers' own that are followed (each costs a directory read).
_MAX_OTHER_ENDS = 16
#: Members a directory found through such a record may list before it is ignored.
_MAX_OTHER_MEMBERS = 4096


def _other_end_records(
    handle: BinaryIO, size: int, tail: bytes, tail_start: int, known: set[int]
) -> list[ZipReading]:
    """Every other end record in the tail that leads to a well-formed archive.

    Other readers (libzip scores every candidate; some take the first) may
    pick one of these; their members are scanned too. Only consistent
    directories count: every local header where it should be, names agreeing.
    """
    found: list[ZipReading] = []
    index = tail.find(_EOCD)
    followed = 0
    while index >= 0 and followed < _MAX_OTHER_ENDS:
        end_at = tail_start + index
        if end_at not in known and end_at + _EOCD_SIZE <= size:
            followed += 1
            for shift in (True, False):
                rules = _Rules(
                    f"a reader taking the end record at offset {end_at}",
                    _miniz_end,
                    True,
                    shift,
                    True,
                )
                reading = _candidate(handle, size, end_at, rules)
                if reading is not None:
                    found.append(reading)
        index = tail.find(_EOCD, index + 1)
    return found


def _candidate(handle: BinaryIO, size: int, end_at: int, rules: _Rules) -> ZipReading | None:
    scratch: list[tuple[str, str]] = []
    try:
        reading = _read_directory(handle, size, end_at, rules, _MAX_OTHER_MEMBERS, scratch)
    except (_Unreadable, ZipFormatError):
        return None
    consistent = all(m.data_offset >= 0 and m.local_name == m.name for m in reading.members)
    return reading if reading.members and consistent else None


def _inside_one_member(candidate: ZipReading, reading: ZipReading) -> bool:
    """Whether the candidate's archive lies inside one stored member (a zip in a zip)."""
    start = min([candidate.directory_offset] + [m.header_offset for m in candidate.members])
    end = candidate.end_offset + _EOCD_SIZE
    return any(
        m.method == STORED and m.data_offset <= start and end <= m.data_offset + m.compressed_size
        for m in reading.members
    )


def _read_at(handle: BinaryIO, offset: int, count: int) -> bytes:
    if offset < 0 or count <= 0:
        return b""
    handle.seek(offset)
    return handle.read(count)


def _read_directory(
    handle: BinaryIO,
    size: int,
    end_at: int,
    rules: _Rules,
    max_members: int,
    problems: list[tuple[str, str]],
) -> ZipReading:
    end = _read_at(handle, end_at, _EOCD_SIZE)
    count, cd_size, cd_offset, comment_len = struct.unpack("<HIIH", end[10:22])
    comment = _read_at(handle, end_at + _EOCD_SIZE, min(comment_len, size - end_at - _EOCD_SIZE))
    directory_end = end_at
    zip64 = _zip64_record(handle, size, end_at, rules)
    if zip64 is not None:
        directory_end, count, cd_size, cd_offset = zip64
    shift = directory_end - cd_size - cd_offset if rules.shift_offsets else 0
    cd_start = cd_offset + shift
    if cd_start < 0 or cd_start + cd_size > size:
        raise _Unreadable(f"the central directory (offset {cd_start}) lies outside the file")
    if count > max_members or cd_size > MAX_DIRECTORY:
        raise ZipFormatError(
            f"the central directory announces {count} members in {cd_size} bytes",
            hint="archives this large are not scanned",
        )
    directory = _read_at(handle, cd_start, cd_size)
    entries = _entries(directory, count if rules.count_entries else None)
    if not rules.count_entries and len(entries) != count:
        problems.append(
            ("", f"the end record announces {count} members, the directory holds {len(entries)}")
        )
    if shift > 0:
        problems.append(("", f"{shift} bytes precede the archive (self-extractor or polyglot)"))
    elif shift < 0:
        problems.append(("", "the central directory offset points past its real position"))
    _check_duplicates(entries, problems)
    members = tuple(_with_local_header(handle, size, entry, shift, problems) for entry in entries)
    return ZipReading(rules.readers, members, max(shift, 0), comment, end_at, cd_start)


def _zip64_record(
    handle: BinaryIO, size: int, end_at: int, rules: _Rules
) -> tuple[int, int, int, int] | None:
    """(record offset, member count, directory size, directory offset) of a zip64 end record."""
    locator = _read_at(handle, end_at - _LOCATOR_SIZE, _LOCATOR_SIZE)
    if len(locator) < _LOCATOR_SIZE or locator[:4] != _EOCD64_LOCATOR:
        return None
    _, disk, recorded, disks = struct.unpack("<4sIQI", locator)
    if rules.zip64_at_recorded_offset:
        if end_at < _LOCATOR_SIZE + _EOCD64_SIZE:
            return None  # miniz looks for a locator only where a zip64 record also fits
        if recorded > size - _EOCD64_SIZE:
            raise _Unreadable("the zip64 locator points past the end of the file")
        record_at = recorded
    else:
        if disk != 0 or disks > 1:
            raise _Unreadable("the zip64 locator announces several disks")
        record_at = end_at - _LOCATOR_SIZE - _EOCD64_SIZE
    record = _read_at(handle, record_at, _EOCD64_SIZE)
    if len(record) < _EOCD64_SIZE or record[:4] != _EOCD64:
        return None
    count, cd_size, cd_offset = struct.unpack("<QQQ", record[32:56])
    return record_at, count, cd_size, cd_offset


@dataclass(frozen=True)
class _Entry:
    name: str
    flags: int
    method: int
    crc32: int
    compressed_size: int
    size: int
    header_offset: int


def _entries(directory: bytes, count: int | None) -> list[_Entry]:
    """Central directory entries: ``count`` of them, or as many as the directory holds."""
    entries: list[_Entry] = []
    pos = 0
    while (len(entries) < count) if count is not None else (pos < len(directory)):
        if pos + _CENTRAL_SIZE > len(directory) or directory[pos : pos + 4] != _CENTRAL:
            raise _Unreadable(f"the central directory is corrupt at entry {len(entries)}")
        fields = struct.unpack("<HHHHHHIIIHHHHHII", directory[pos + 4 : pos + _CENTRAL_SIZE])
        flags, method, crc, csize, usize = fields[2], fields[3], fields[6], fields[7], fields[8]
        name_len, extra_len, comment_len, header_offset = (
            fields[9],
            fields[10],
            fields[11],
            fields[15],
        )
        raw_name = directory[pos + 46 : pos + 46 + name_len]
        extra = directory[pos + 46 + name_len : pos + 46 + name_len + extra_len]
        usize, csize, header_offset = _zip64_values(extra, usize, csize, header_offset)
        name = raw_name.decode("utf-8" if flags & 0x800 else "cp437", "replace")
        entries.append(_Entry(name, flags, method, crc, csize, usize, header_offset))
        pos += _CENTRAL_SIZE + name_len + extra_len + comment_len
    return entries


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


def _check_duplicates(entries: list[_Entry], problems: list[tuple[str, str]]) -> None:
    seen: set[str] = set()
    for entry in entries:
        if entry.name in seen:
            problems.append((entry.name, "the name appears twice in the central directory"))
        seen.add(entry.name)


def _with_local_header(
    handle: BinaryIO, size: int, entry: _Entry, shift: int, problems: list[tuple[str, str]]
) -> ZipMember:
    name, method, flags, crc = entry.name, entry.method, entry.flags, entry.crc32
    csize, usize = entry.compressed_size, entry.size
    header_offset = entry.header_offset + shift
    header = _read_at(handle, header_offset, _LOCAL_SIZE)
    if len(header) < _LOCAL_SIZE or header[:4] != _LOCAL:
        problems.append((name, f"no local header at offset {header_offset}"))
        return ZipMember(
            name, method, flags, crc, csize, usize, header_offset, -1, None, None, None, None
        )
    lflags, lmethod, _, _, lcrc, _, _, lname_len, lextra_len = struct.unpack(
        "<HHHHIIIHH", header[6:30]
    )
    local_raw = _read_at(handle, header_offset + _LOCAL_SIZE, lname_len)
    local_name = local_raw.decode("utf-8" if lflags & 0x800 else "cp437", "replace")
    data_offset = header_offset + _LOCAL_SIZE + lname_len + lextra_len
    if local_name != name:
        problems.append(
            (name, f"the local header names it {local_name!r} (zipfile refuses it; torch reads it)")
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
    if method == STORED and csize != usize:
        problems.append(
            (
                name,
                f"stored member with {csize} bytes stored but {usize} recorded as its size "
                "(torch reads the recorded size, zipfile the smaller; both are scanned)",
            )
        )
    if data_offset + (max(csize, usize) if method == STORED else csize) > size:
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


# -- comparing the readings ------------------------------------------------------------------------
def _merge_same(readings: list[ZipReading]) -> list[ZipReading]:
    """One reading per distinct set of member versions, naming every reader that sees it."""
    merged: list[ZipReading] = []
    for reading in readings:
        for index, kept in enumerate(merged):
            if kept.versions == reading.versions:
                readers = f"{kept.readers}, {reading.readers}"
                merged[index] = ZipReading(
                    readers,
                    kept.members,
                    kept.prefix,
                    kept.comment,
                    kept.end_offset,
                    kept.directory_offset,
                )
                break
        else:
            merged.append(reading)
    return merged


def _disagreement(first: ZipReading, other: ZipReading) -> str:
    def describe(reading: ZipReading) -> str:
        return (
            f"{reading.readers} read {len(reading.members)} members from the central directory "
            f"at offset {reading.directory_offset} (end record at {reading.end_offset})"
        )

    only = sorted({m.name for m in other.members} ^ {m.name for m in first.members})
    differ = (
        f"names in one reading only: {', '.join(repr(n) for n in only[:3])}"
        if only
        else "the same names, read from different bytes"
    )
    return (
        f"zip readers disagree on the archive: {describe(first)}; {describe(other)}; {differ}. "
        "A loader runs what a scanner did not read; every version is scanned"
    )


def _unique(problems: list[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple(dict.fromkeys(problems))


def member_source(
    handle: BinaryIO,
    member: ZipMember,
    *,
    cap: int,
    budget: compression.DecompressionBudget | None = None,
) -> Source:
    """A source over the member's uncompressed bytes (stored: in place; else inflated, capped)."""
    raw = Source.from_file(handle, member.data_offset, member.extent)
    if member.method == STORED:
        return raw
    return compression.inflated_member(raw, member.method, member.name, cap, budget)
