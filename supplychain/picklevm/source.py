"""Byte sources the pickle machine reads from: bytes, a range of a file, or a forward-only stream.

A source hands out bytes in order and can skip ahead without reading (tensor
payloads, large byte strings). Random-access sources (bytes, files) can also
open a window on a range later, which is how a scanner re-reads an embedded
pickle it found inside a large byte string; forward-only sources
(decompressors) cannot, so the machine captures such strings while it passes.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import BinaryIO, Protocol

#: How much a file-backed source reads at a time.
CHUNK = 1 << 18


class Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


class SourceError(Exception):
    """The underlying file failed while being read (not a property of the pickle)."""


class SourceLimit(SourceError):
    """A stream refused to produce more bytes: a size cap (e.g. against decompression bombs)."""


class Source:
    """Sequential reader over ``length`` bytes; offsets are relative to its start."""

    def __init__(
        self,
        fetch: Callable[[int, int], bytes] | None,
        length: int | None,
        *,
        stream: Readable | None = None,
    ) -> None:
        # Exactly one of fetch (random access: offset, size -> bytes) or stream.
        self._fetch = fetch
        self._stream = stream
        self.length = length
        self._buf = b""
        self._buf_start = 0
        self._pos = 0  # offset of the next byte
        self._stream_pos = 0  # bytes taken from a forward-only stream so far

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> Source:
        view = bytes(data)
        source = cls(lambda offset, size: view[offset : offset + size], len(view))
        source._buf = view
        return source

    @classmethod
    def from_file(cls, handle: BinaryIO, start: int = 0, length: int | None = None) -> Source:
        """A window of an open binary file (read with pread; the handle's position is untouched)."""
        try:
            fileno: int | None = handle.fileno()
        except (OSError, AttributeError, ValueError):
            fileno = None
        if length is None:
            if fileno is not None:
                length = os.fstat(fileno).st_size - start
            else:
                length = handle.seek(0, os.SEEK_END) - start
        end = start + length

        def fetch(offset: int, size: int) -> bytes:
            size = max(0, min(size, end - (start + offset)))
            if size == 0:
                return b""
            try:
                if fileno is not None:
                    return os.pread(fileno, size, start + offset)
                handle.seek(start + offset)
                return handle.read(size)
            except OSError as exc:
                raise SourceError(f"read failed at offset {start + offset}: {exc}") from exc

        return cls(fetch, length)

    @classmethod
    def from_stream(cls, stream: Readable) -> Source:
        """A forward-only stream (e.g. a decompressor); its length is unknown."""
        return cls(None, None, stream=stream)

    # -- reading ------------------------------------------------------------------------------
    @property
    def random_access(self) -> bool:
        return self._fetch is not None

    def tell(self) -> int:
        return self._pos

    def at_end(self) -> bool:
        return not self._ensure(1)

    def _stream_read(self, size: int) -> bytes:
        assert self._stream is not None
        try:
            data = self._stream.read(size)
        except SourceError:
            raise
        except Exception as exc:  # decompressors raise their own error types
            raise SourceError(f"stream failed at offset {self._stream_pos}: {exc}") from exc
        self._stream_pos += len(data)
        return data

    def _ensure(self, n: int) -> bool:
        """Make ``n`` bytes from the current position available in the buffer, if they exist."""
        rel = self._pos - self._buf_start
        if rel + n <= len(self._buf):
            return True
        if self._fetch is not None:
            self._buf = self._fetch(self._pos, max(n, CHUNK))
            self._buf_start = self._pos
            return len(self._buf) >= n
        # forward-only: the stream is at _stream_pos == _buf_start + len(_buf) (or behind _pos
        # after a skip past the buffer)
        if self._pos >= self._stream_pos:
            self._discard_stream(self._pos - self._stream_pos)
            parts = []
        else:
            parts = [self._buf[rel:]]
        have = sum(len(p) for p in parts)
        while have < n:
            chunk = self._stream_read(max(n - have, CHUNK))
            if not chunk:
                break
            parts.append(chunk)
            have += len(chunk)
        self._buf = b"".join(parts)
        self._buf_start = self._pos
        return len(self._buf) >= n

    def _discard_stream(self, count: int) -> None:
        while count > 0:
            chunk = self._stream_read(min(count, CHUNK))
            if not chunk:
                return
            count -= len(chunk)

    def read(self, n: int) -> bytes:
        """Up to ``n`` bytes (fewer only at the end)."""
        self._ensure(n)
        rel = self._pos - self._buf_start
        data = self._buf[rel : rel + n]
        self._pos += len(data)
        return data

    def byte(self) -> int:
        """The next byte, or -1 at the end."""
        rel = self._pos - self._buf_start
        if 0 <= rel < len(self._buf):
            self._pos += 1
            return self._buf[rel]
        if not self._ensure(1):
            return -1
        value = self._buf[self._pos - self._buf_start]
        self._pos += 1
        return value

    def skip(self, n: int) -> int:
        """Advance ``n`` bytes without keeping them; returns how many existed."""
        if self.length is not None:
            n = min(n, max(0, self.length - self._pos))
            self._pos += n
            return n
        start = self._pos
        rel = self._pos - self._buf_start
        in_buf = max(0, min(n, len(self._buf) - rel))
        self._pos += in_buf
        remaining = n - in_buf
        if remaining:
            self._discard_stream(self._pos - self._stream_pos)  # bytes buffered but unread: none
            before = self._stream_pos
            self._discard_stream(remaining)
            self._pos += self._stream_pos - before
            self._buf = b""
            self._buf_start = self._pos
        return self._pos - start

    def readline(self, limit: int, boundary: int | None = None) -> tuple[bytes | None, int, str]:
        """Read through the next ``\\n``.

        Returns ``(line, length, status)``: ``line`` includes the newline, or
        is None when longer than ``limit`` (the line is then skipped and
        ``length`` says how long it was). ``status`` is ``"ok"``, ``"eof"``
        (the data ended before a newline) or ``"boundary"`` (no newline before
        offset ``boundary``; reading stopped there).
        """
        start = self._pos
        kept: list[bytes] = []
        total = 0
        while True:
            if boundary is not None and self._pos >= boundary:
                return (b"".join(kept) if total <= limit else None), total, "boundary"
            if not self._ensure(1):
                return (b"".join(kept) if total <= limit else None), total, "eof"
            rel = self._pos - self._buf_start
            stop = len(self._buf)
            if boundary is not None:
                stop = min(stop, rel + boundary - self._pos)
            index = self._buf.find(b"\n", rel, stop)
            end = stop if index < 0 else index + 1
            piece = self._buf[rel:end]
            total += len(piece)
            if total <= limit:
                kept.append(piece)
            else:
                kept.clear()
            self._pos += len(piece)
            if index >= 0:
                assert self._pos - start == total
                return (b"".join(kept) if total <= limit else None), total, "ok"

    def has(self, n: int) -> bool:
        """Whether ``n`` more bytes exist (forward-only sources buffer them to find out)."""
        if self.length is not None:
            return self._pos + n <= self.length
        return self._ensure(n)

    def window(self, offset: int, length: int) -> Source:
        """A new source over ``[offset, offset + length)`` of this one (random access only)."""
        if self._fetch is None:
            raise SourceError("forward-only source cannot be re-read")
        fetch = self._fetch
        end = offset + length

        def sub(off: int, size: int) -> bytes:
            size = max(0, min(size, end - (offset + off)))
            return fetch(offset + off, size) if size else b""

        return Source(sub, length)

    def peek_at(self, offset: int, size: int) -> bytes:
        """``size`` bytes at ``offset`` without moving (random access only)."""
        if self._fetch is None:
            raise SourceError("forward-only source cannot be re-read")
        return self._fetch(offset, size)
