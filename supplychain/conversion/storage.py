"""Where a checkpoint's bytes live: ranges of the source file, in-memory bytes, or inflated records.

Tensor data is never loaded as a whole: the writer copies ranges of a
:class:`Bytes` with ``pread`` and gathers strided views through a read-only
``mmap``. Compressed zip records are inflated once into an unnamed temporary
file (size-capped and CRC-checked) and then read the same way.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import tempfile
import zlib
from typing import TYPE_CHECKING, BinaryIO

from supplychain.conversion.errors import CheckpointFormatError
from supplychain.formats.ziparchive import STORED, ZipMember, member_source
from supplychain.picklevm.source import SourceError

if TYPE_CHECKING:
    import numpy as np

#: Read/copy granularity.
CHUNK = 8 << 20


class Bytes:
    """``length`` bytes at ``offset`` of an open file descriptor, or an in-memory buffer."""

    def __init__(
        self,
        label: str,
        length: int,
        *,
        fd: int | None = None,
        offset: int = 0,
        data: bytes | None = None,
        owner: BinaryIO | None = None,
    ) -> None:
        assert (fd is None) != (data is None)
        self.label = label
        self.length = length
        self.fd = fd
        self.offset = offset
        self.data = data
        #: A temporary file this range lives in (closed with the last user).
        self.owner = owner
        self._map: mmap.mmap | None = None

    @classmethod
    def of_bytes(cls, label: str, data: bytes) -> Bytes:
        return cls(label, len(data), data=data)

    def window(self, label: str, start: int, length: int) -> Bytes:
        """A sub-range (``start`` relative to this range)."""
        if start < 0 or length < 0 or start + length > self.length:
            raise CheckpointFormatError(f"{label} lies outside {self.label}")
        if self.data is not None:
            return Bytes.of_bytes(label, self.data[start : start + length])
        return Bytes(label, length, fd=self.fd, offset=self.offset + start, owner=self.owner)

    def read(self, start: int, size: int) -> bytes:
        """Exactly ``size`` bytes from ``start`` (relative), or CheckpointFormatError."""
        buffer = bytearray(size)
        self.readinto(start, memoryview(buffer))
        return bytes(buffer)

    def readinto(self, start: int, view: memoryview) -> None:
        if start < 0 or start + len(view) > self.length:
            raise CheckpointFormatError(f"read past the end of {self.label}")
        if self.data is not None:
            view[:] = self.data[start : start + len(view)]
            return
        assert self.fd is not None
        done = 0
        while done < len(view):
            n = os.preadv(self.fd, [view[done:]], self.offset + start + done)
            if n <= 0:
                raise CheckpointFormatError(
                    f"the file ends inside {self.label}", hint="the checkpoint is truncated"
                )
            done += n

    def array(self) -> np.ndarray:
        """All the bytes as a read-only uint8 array (file-backed through mmap, not copied)."""
        import numpy as np

        if self.data is not None:
            return np.frombuffer(self.data, dtype=np.uint8)
        if self.length == 0:
            return np.zeros(0, dtype=np.uint8)
        if self._map is None:
            assert self.fd is not None
            start = self.offset - self.offset % mmap.ALLOCATIONGRANULARITY
            self._map = mmap.mmap(
                self.fd, self.offset + self.length - start, access=mmap.ACCESS_READ, offset=start
            )
            self._map_start = start
        skip = self.offset - self._map_start
        return np.frombuffer(self._map, dtype=np.uint8, count=self.length, offset=skip)

    def release(self) -> None:
        """Drop the mapping's pages from this process (they stay in the page cache)."""
        if self._map is not None and hasattr(self._map, "madvise"):
            with contextlib.suppress(OSError, ValueError):  # advice only
                self._map.madvise(mmap.MADV_DONTNEED)

    def close(self) -> None:
        if self._map is not None:
            with contextlib.suppress(BufferError):  # an array still uses it: the GC unmaps it
                self._map.close()
            self._map = None
        if self.owner is not None:
            self.owner.close()


def inflate_member(handle: BinaryIO, member: ZipMember, label: str, scratch: str | None) -> Bytes:
    """A stored member in place; a compressed one inflated into an unnamed temporary file.

    The inflated size may not exceed the size the central directory declares
    (a decompression bomb stops there) and must match it and the CRC-32.
    """
    fd = handle.fileno()
    if member.method == STORED:
        if member.compressed_size != member.size:
            raise CheckpointFormatError(
                f"stored record {label} declares {member.size} bytes but "
                f"occupies {member.compressed_size}"
            )
        return Bytes(label, member.size, fd=fd, offset=member.data_offset)
    if not member.readable:
        raise CheckpointFormatError(f"record {label} is {member.method_name}, which cannot be read")
    source = member_source(handle, member, cap=member.size)
    spool = tempfile.TemporaryFile(dir=scratch)  # noqa: SIM115 - owned by the Bytes below
    crc = 0
    written = 0
    try:
        while chunk := source.read(CHUNK):
            crc = zlib.crc32(chunk, crc)
            spool.write(chunk)
            written += len(chunk)
    except SourceError as exc:
        spool.close()
        raise CheckpointFormatError(
            f"record {label} does not inflate: {exc}", hint="the checkpoint is corrupt"
        ) from None
    spool.flush()
    if written != member.size or crc != member.crc32:
        spool.close()
        raise CheckpointFormatError(
            f"record {label} inflates to {written} bytes with CRC-32 "
            f"{crc:08x}; the archive declares {member.size} bytes, "
            f"{member.crc32:08x}",
            hint="the checkpoint is corrupt",
        )
    return Bytes(label, written, fd=spool.fileno(), offset=0, owner=spool)
