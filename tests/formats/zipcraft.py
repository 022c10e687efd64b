"""Builders of hostile zip archives for the reader and scanner tests (bytes only, no loader)."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from dataclasses import dataclass

#: A pickle that calls posix.system("true") when unpickled.
PAYLOAD = b"\x80\x02cposix\nsystem\nq\x00X\x04\x00\x00\x00trueq\x01\x85q\x02Rq\x03."
#: A pickle of {} (what a clean data.pkl might hold).
BENIGN = b"\x80\x02}q\x00."


@dataclass(frozen=True)
class Entry:
    """One central directory entry to write by hand."""

    name: bytes
    header_offset: int
    data: bytes
    method: int = 0
    local_name: bytes | None = None


def local_header(entry: Entry) -> bytes:
    """A local header and the entry's data (stored, sizes and CRC filled in)."""
    name = entry.local_name if entry.local_name is not None else entry.name
    crc = zlib.crc32(entry.data)
    size = len(entry.data)
    return (
        struct.pack(
            "<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, entry.method, 0, 0, crc, size, size, len(name), 0
        )
        + name
        + entry.data
    )


def central_entry(entry: Entry, *, zip64: bool = False) -> bytes:
    crc = zlib.crc32(entry.data)
    size = len(entry.data)
    extra = b""
    offset = entry.header_offset
    if zip64:
        extra = struct.pack("<HHQ", 1, 8, offset)
        offset = 0xFFFFFFFF
    return (
        struct.pack(
            "<4sHHHHHHIIIHHHHHII",
            b"PK\x01\x02",
            20,
            20,
            0,
            entry.method,
            0,
            0,
            crc,
            size,
            size,
            len(entry.name),
            len(extra),
            0,
            0,
            0,
            0,
            offset,
        )
        + entry.name
        + extra
    )


def end_record(count: int, cd_size: int, cd_offset: int, comment_len: int) -> bytes:
    return struct.pack(
        "<4sHHHHIIH", b"PK\x05\x06", 0, 0, count, count, cd_size, cd_offset, comment_len
    )


def zip64_end(count: int, cd_size: int, cd_offset: int) -> bytes:
    return struct.pack(
        "<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, cd_size, cd_offset
    )


def zip64_locator(record_offset: int) -> bytes:
    return struct.pack("<4sIQI", b"PK\x06\x07", 0, record_offset, 1)


def torch_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _hidden_members(base: int, names: list[tuple[bytes, bytes]]) -> tuple[bytes, list[Entry]]:
    """Local headers + data laid out from file offset ``base``; returns the bytes and entries."""
    blob = b""
    entries = []
    for name, data in names:
        entry = Entry(name, base + len(blob), data)
        entries.append(entry)
        blob += local_header(entry)
    return blob, entries


def fake_eocd_attack(*, fool_zipfile: bool) -> bytes:
    """A torch zip whose end-record comment holds a second end record.

    The fake record points at a central directory listing a ``data.pkl`` (the
    payload) hidden inside the tensor storage record ``archive/data/0``. torch
    (miniz) takes the last end record with 22 bytes after it: the fake one.
    With ``fool_zipfile`` the fake directory sits just before the fake end
    record, where zipfile looks for it too; otherwise zipfile refuses the file.
    Readers that check the comment length (ours, before) read the benign archive.
    """
    hidden_names = [(b"archive/data.pkl", PAYLOAD), (b"archive/version", b"3\n")]
    storage_len = 512
    placeholder = torch_zip(
        {
            "archive/data.pkl": BENIGN,
            "archive/version": b"3\n",
            "archive/data/0": b"\0" * storage_len,
        }
    )
    base = placeholder.index(b"\0" * storage_len)
    hidden, entries = _hidden_members(base, hidden_names)
    directory = b"".join(central_entry(e) for e in entries)
    if fool_zipfile:
        storage = hidden.ljust(storage_len, b"\0")
        real = torch_zip(
            {"archive/data.pkl": BENIGN, "archive/version": b"3\n", "archive/data/0": storage}
        )
        comment_at = len(real)  # zipfile writes an empty comment; ours is appended
        fake_cd_at = comment_at
        comment = directory + end_record(len(entries), len(directory), fake_cd_at, 0xFFFF)
    else:
        fake_cd_at = base + len(hidden)
        storage = (hidden + directory).ljust(storage_len, b"\0")
        real = torch_zip(
            {"archive/data.pkl": BENIGN, "archive/version": b"3\n", "archive/data/0": storage}
        )
        comment = end_record(len(entries), len(directory), fake_cd_at, 0xFFFF)
    assert real[-22:-18] == b"PK\x05\x06" and real[-2:] == b"\0\0"
    return real[:-2] + struct.pack("<H", len(comment)) + comment


def zip64_locator_attack() -> bytes:
    """A zip64 end record just before its locator (zipfile's reading: the benign archive) and a
    locator whose recorded offset points at a second zip64 record inside a storage record
    (miniz's reading: a directory listing the payload as data.pkl)."""
    hidden_names = [(b"archive/data.pkl", PAYLOAD), (b"archive/version", b"3\n")]
    storage_len = 1024
    members = {"archive/data.pkl": BENIGN, "archive/version": b"3\n"}
    placeholder = torch_zip({**members, "archive/data/0": b"\0" * storage_len})
    base = placeholder.index(b"\0" * storage_len)
    hidden, entries = _hidden_members(base, hidden_names)
    directory = b"".join(central_entry(e) for e in entries)
    hidden_record_at = base + len(hidden) + len(directory)
    storage = (
        hidden + directory + zip64_end(len(entries), len(directory), base + len(hidden))
    ).ljust(storage_len, b"\0")
    real = torch_zip({**members, "archive/data/0": storage})
    # rewrite the end of the real archive as zip64: directory, zip64 record, locator, end record
    cd_at = struct.unpack("<I", real[-6:-2])[0]
    cd_size = struct.unpack("<I", real[-10:-6])[0]
    count = struct.unpack("<H", real[-12:-10])[0]
    body = real[: cd_at + cd_size]
    return (
        body
        + zip64_end(count, cd_size, cd_at)
        + zip64_locator(hidden_record_at)
        + end_record(0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    )


# -- mutations for the differential test -----------------------------------------------------------
def with_comment(data: bytes, comment: bytes) -> bytes:
    """``data`` (ending in an end record without comment) with ``comment`` as its comment."""
    assert data[-22:-18] == b"PK\x05\x06" and data[-2:] == b"\0\0"
    return data[:-2] + struct.pack("<H", len(comment) & 0xFFFF) + comment


def hidden_archive(base: int, members: list[tuple[bytes, bytes]], *, comment_len: int) -> bytes:
    """Local headers, a central directory and an end record, laid out from file offset ``base``."""
    blob, entries = _hidden_members(base, members)
    directory = b"".join(central_entry(e) for e in entries)
    return (
        blob + directory + end_record(len(entries), len(directory), base + len(blob), comment_len)
    )


def as_zip64(data: bytes, *, hidden: list[tuple[bytes, bytes]] | None = None) -> bytes:
    """Rewrite the end of ``data`` as zip64 (record, locator, end record of 0xFFFF values).

    With ``hidden``, the locator points at a second zip64 record, placed in the end record's
    comment with a directory of ``hidden`` members; the record before the locator stays right.
    """
    cd_size, cd_at = struct.unpack("<II", data[-10:-2])
    count = struct.unpack("<H", data[-12:-10])[0]
    body = data[: cd_at + cd_size]
    record_at = len(body)
    comment = b""
    target = record_at
    if hidden is not None:
        comment_at = record_at + 56 + 20 + 22
        blob, entries = _hidden_members(comment_at, hidden)
        directory = b"".join(central_entry(e) for e in entries)
        target = comment_at + len(blob) + len(directory)
        comment = blob + directory + zip64_end(len(entries), len(directory), comment_at + len(blob))
    return (
        body
        + zip64_end(count, cd_size, cd_at)
        + zip64_locator(target)
        + end_record(0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, len(comment))
        + comment
    )
