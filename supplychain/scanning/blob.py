"""A byte stream to scan (a file, an archive member, decompressed content) and where it lives."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

from supplychain.picklevm import Source


class TooLargeToSpool(Exception):
    """A forward-only stream is larger than the in-memory copy a random-access reader needs."""


@dataclass(frozen=True)
class Blob:
    """Something to scan. ``location`` is "" for the file itself, else the path inside it."""

    location: str
    #: The name its extension comes from (file or member name).
    name: str
    size: int | None
    opener: Callable[[], Source]
    random_access: bool
    depth: int = 0

    def source(self) -> Source:
        return self.opener()

    def head(self, n: int = 4096) -> bytes:
        return self.opener().read(n)

    def binary(self, spool_cap: int) -> io.RawIOBase | io.BytesIO:
        """A seekable file object over the content (a forward-only stream is copied to memory)."""
        if self.random_access:
            return SourceFile(self.opener(), self.size or 0)
        source = self.opener()
        data = source.read(spool_cap + 1)
        if len(data) > spool_cap:
            raise TooLargeToSpool(f"more than {spool_cap} bytes")
        return io.BytesIO(data)

    def child(
        self,
        location: str,
        name: str,
        size: int | None,
        opener: Callable[[], Source],
        random_access: bool,
    ) -> Blob:
        joined = f"{self.location}!{location}" if self.location else location
        return Blob(joined, name, size, opener, random_access, self.depth + 1)


class SourceFile(io.RawIOBase):
    """A read-only, seekable file object over a random-access source."""

    def __init__(self, source: Source, size: int) -> None:
        self._source = source
        self._size = size
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._source.peek_at(self._pos, len(buffer))
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)
