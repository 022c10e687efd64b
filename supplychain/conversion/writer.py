"""Write a planned safetensors file: read the source once, write the output once, read it back once.

The header is known before the first byte is written (see
:mod:`supplychain.conversion.plan`), so every tensor has its place in the
output before any is copied, and the file is filled with positional writes.
These lanes run at once, each in its own thread:

- **source**: the hashing engine reads the source file front to back for its
  SHA-256 (the provenance digest); its tap copies every tensor that is a
  plain range of that file out of the same chunks, to its place in the
  output, and feeds that tensor's BLAKE3 digest. Tensors that are not
  (strided views gathered by numpy, inflated records, in-memory bytes) are
  written by the calling thread meanwhile.
- **read-back**: as soon as a prefix of the output is complete, it is mapped
  read-only from the written file and hashed: SHA-256 of the whole file (so
  the output digest is of the bytes in the file, not of buffers meant for
  it) and BLAKE3 per tensor again, which the self-check compares with the
  source side;
- **flush**: what the read-back has passed is made durable and dropped from
  the page cache (see :class:`_Flusher`), so the final fsync is short.

The two SHA-256 passes are the floor of the work (two hashes of the data
size) and run on separate cores. ``copy_file_range`` would not help: the
bytes must come to user space to be hashed anyway, and the copy out of a
buffer already read costs the same as the kernel's.
"""

from __future__ import annotations

import contextlib
import hashlib
import mmap
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import blake3

from supplychain.conversion.errors import CheckpointFormatError
from supplychain.conversion.gather import BufferRing, chunks
from supplychain.conversion.plan import Plan, PlannedTensor
from supplychain.conversion.storage import CHUNK, Bytes
from supplychain.hashing.engine import Cancelled, WorkItem, hash_item
from supplychain.model.tree import ModelFile

Advance = Callable[[int], None]
#: Per-tensor digests name their algorithm.
TENSOR_DIGEST = "blake3"
#: The read-back maps at most this much of the output at once (bounds the mapped pages in RSS).
READ_BACK_WINDOW = 8 << 20
#: Read-back output is made durable and dropped from the page cache in steps of this size.
FLUSH_WINDOW = 32 << 20
_POPULATE = getattr(mmap, "MAP_POPULATE", 0)


@dataclass(frozen=True)
class Written:
    """What the writer produced."""

    #: SHA-256 of the output file, as read back from it.
    sha256: str
    size: int
    #: Tensor name -> BLAKE3 hex digest of the source bytes written for it.
    digests: dict[str, str]
    #: Tensor name -> BLAKE3 hex digest of its bytes read back from the output.
    read_back: dict[str, str] = field(default_factory=dict)
    #: SHA-256 of the whole source file, when the writer was given it.
    source_sha256: str | None = None


class _Abandoned(Exception):
    """The write failed: the read-back stops waiting."""


class _Prefix:
    """How much of the output, from its first byte, is completely written."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.end = 0
        self._pending: dict[int, int] = {}
        self._abandoned = False

    def mark(self, start: int, end: int) -> None:
        """Bytes [start, end) are written (ranges never overlap)."""
        if start == end:
            return
        with self._changed:
            if start != self.end:
                self._pending[start] = end
                return
            while end in self._pending:
                end = self._pending.pop(end)
            self.end = end
            self._changed.notify_all()

    def wait_past(self, position: int) -> int:
        """Block until more than ``position`` bytes are written; the new prefix end."""
        with self._changed:
            while self.end <= position and not self._abandoned:
                self._changed.wait()
            if self._abandoned:
                raise _Abandoned
            return self.end

    def abandon(self) -> None:
        with self._changed:
            self._abandoned = True
            self._changed.notify_all()


class _Flusher:
    """Makes the output durable behind the read-back and drops it from the page cache.

    Why: fresh page-cache pages are the dearest memory there is on a VM (the
    host provides each on first touch: writing 1 GiB into a new file cost
    3.5 s of system time here, against 0.7 s when its pages are recycled).
    Flushing and dropping what the read-back has passed recycles a window of
    pages, spreads the fsync over the write so the final one is quick, and
    leaves the page cache as it was. Nothing is dropped before it is on disk
    and read back.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._changed = threading.Condition()
        self._reached = 0
        self._flushed = 0
        self._stopping = False
        self._error: OSError | None = None
        self._thread = threading.Thread(target=self._run, name="convert-flush", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def reached(self, position: int) -> None:
        """The read-back has hashed the output up to ``position``."""
        with self._changed:
            self._reached = position
            if position - self._flushed >= FLUSH_WINDOW:
                self._changed.notify()

    def stop(self) -> None:
        """Wait for the step under way (the rest is left to the caller's fsync); raise its error."""
        with self._changed:
            self._stopping = True
            self._changed.notify()
        self._thread.join()
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        while True:
            with self._changed:
                while self._reached - self._flushed < FLUSH_WINDOW and not self._stopping:
                    self._changed.wait()
                if self._stopping:
                    return
                start, stop = self._flushed, self._reached
            try:
                _datasync(self.fd)
            except OSError as exc:  # a full disk surfaces here with delayed allocation
                self._error = exc
                return
            if hasattr(os, "posix_fadvise"):
                with contextlib.suppress(OSError):  # advice only
                    os.posix_fadvise(self.fd, start, stop - start, os.POSIX_FADV_DONTNEED)
            self._flushed = stop


def _datasync(fd: int) -> None:
    sync = getattr(os, "fdatasync", os.fsync)
    sync(fd)


class _ReadBack:
    """Hashes the output as it becomes complete: SHA-256 of the file, BLAKE3 of each tensor."""

    def __init__(self, fd: int, plan: Plan, prefix: _Prefix) -> None:
        self.fd = fd
        self.flusher = _Flusher(fd)
        self.size = plan.size
        self.prefix = prefix
        self.sha256 = hashlib.sha256()
        self.digests: dict[str, str] = {}
        data_start = len(plan.header)
        self._spans = [(data_start + t.begin, data_start + t.end, t.name) for t in plan.tensors]
        self._next = 0
        self._tensor = blake3.blake3()
        self._mappable = True
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="convert-read-back", daemon=True)

    def start(self) -> None:
        self.flusher.start()
        self._thread.start()

    def result(self) -> None:
        """Wait for the whole file to be hashed; re-raise what went wrong in the lane."""
        self._thread.join()
        self.flusher.stop()
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        try:
            position = 0
            while position < self.size:
                complete = self.prefix.wait_past(position)
                while position < complete:
                    stop = min(complete, position + READ_BACK_WINDOW)
                    with self._window(position, stop) as view:
                        self.sha256.update(view)
                        self._feed(view, position)
                    position = stop
                    self.flusher.reached(position)
            self._feed(memoryview(b""), position)  # empty tensors at the very end
        except _Abandoned:
            pass
        except BaseException as exc:  # handed to the writer
            self._error = exc

    def _feed(self, view: memoryview, position: int) -> None:
        stop = position + len(view)
        while self._next < len(self._spans):
            begin, end, name = self._spans[self._next]
            if begin > stop or (begin == stop and end > stop):
                return
            low, high = max(begin, position), min(end, stop)
            if low < high:
                self._tensor.update(view[low - position : high - position])
            if end > stop:
                return
            self.digests[name] = self._tensor.hexdigest()
            self._tensor = blake3.blake3()
            self._next += 1

    @contextlib.contextmanager
    def _window(self, start: int, stop: int) -> Iterator[memoryview]:
        """Bytes [start, stop) of the output: mapped (no copy) where the filesystem allows."""
        if self._mappable:
            base = start - start % mmap.ALLOCATIONGRANULARITY
            try:
                mapping = mmap.mmap(
                    self.fd,
                    stop - base,
                    flags=mmap.MAP_SHARED | _POPULATE,
                    prot=mmap.PROT_READ,
                    offset=base,
                )
            except (OSError, ValueError):
                self._mappable = False  # not every filesystem maps files: read instead
            else:
                try:
                    with memoryview(mapping) as whole, whole[start - base :] as view:
                        yield view
                finally:
                    mapping.close()
                return
        buffer = bytearray(stop - start)
        _read_exactly(self.fd, memoryview(buffer), start)
        yield memoryview(buffer)


def _read_exactly(fd: int, view: memoryview, position: int) -> None:
    done = 0
    while done < len(view):
        n = os.preadv(fd, [view[done:]], position + done)
        if n <= 0:
            raise OSError("the output is shorter than what was written to it")
        done += n


def _pwrite_all(fd: int, chunk: memoryview, position: int) -> None:
    done = 0
    while done < len(chunk):
        done += os.pwrite(fd, chunk[done:], position + done)


@dataclass
class _Segment:
    """A tensor that is a plain byte range of the source file."""

    name: str
    source_start: int
    source_end: int
    output_start: int
    #: Only while the segment is being copied (a hasher per tensor would cost memory per tensor).
    digest: blake3.blake3 | None = None


class _SourceCopy:
    """The hashing engine's tap: copies plain tensors out of the source's chunks, in file order."""

    def __init__(
        self,
        fd: int,
        segments: list[_Segment],
        prefix: _Prefix,
        advance: Advance,
        digests: dict[str, str],
    ) -> None:
        self.fd = fd
        self.digests = digests
        self.segments = sorted(segments, key=lambda s: s.source_start)
        self.prefix = prefix
        self.advance = advance
        self.names = frozenset(s.name for s in segments)
        self._next = 0
        self._active: list[_Segment] = []
        self._cancelled = False

    def cancel(self) -> None:
        self._cancelled = True

    def __call__(self, offset: int, chunk: memoryview) -> None:
        if self._cancelled:
            raise Cancelled
        end = offset + len(chunk)
        while self._next < len(self.segments) and self.segments[self._next].source_start < end:
            self.segments[self._next].digest = blake3.blake3()
            self._active.append(self.segments[self._next])
            self._next += 1
        for segment in self._active:
            low, high = max(segment.source_start, offset), min(segment.source_end, end)
            if low < high:
                piece = chunk[low - offset : high - offset]
                assert segment.digest is not None
                segment.digest.update(piece)
                at = segment.output_start + (low - segment.source_start)
                _pwrite_all(self.fd, piece, at)
                self.prefix.mark(at, at + len(piece))
                self.advance(len(piece))
        for segment in self._active:
            if segment.source_end <= end and segment.digest is not None:
                self.digests[segment.name] = segment.digest.hexdigest()
                segment.digest = None
        self._active = [s for s in self._active if s.source_end > end]

    def check_complete(self, source: ModelFile) -> None:
        if self._active or self._next < len(self.segments):
            raise CheckpointFormatError(
                "the file ends inside a tensor", path=source.path, hint="the file is truncated"
            )


def write_plan(
    fd: int,
    plan: Plan,
    storage: Callable[[str], Bytes],
    *,
    source: ModelFile | None = None,
    advance: Advance | None = None,
) -> Written:
    """Write ``plan`` to the empty file ``fd`` (opened for reading too).

    ``storage(key)`` gives a storage's bytes. With ``source`` (the file the
    storages come from, as the model walk saw it), its SHA-256 is computed
    in the same read that copies its plain tensors.
    """
    step = advance or (lambda n: None)
    prefix = _Prefix()
    read_back = _ReadBack(fd, plan, prefix)
    data_start = len(plan.header)
    digests: dict[str, str] = {}
    tap = None
    if source is not None:
        segments = _source_segments(plan, storage, source)
        tap = _SourceCopy(fd, segments, prefix, step, digests)
    source_sha256 = None
    read_back.start()
    try:
        _pwrite_all(fd, memoryview(plan.header), 0)
        prefix.mark(0, data_start)
        with ThreadPoolExecutor(1, thread_name_prefix="convert-source") as lane:
            hashed = None
            if source is not None and tap is not None:
                hashed = lane.submit(hash_item, WorkItem(source, 0, source.size), "sha256", tap=tap)
            try:
                for tensor in plan.tensors:
                    if tap is None or tensor.name not in tap.names:
                        stored = storage(tensor.view.storage)
                        _write_tensor(fd, data_start, tensor, stored, digests, prefix, step)
            except BaseException:
                if tap is not None:
                    tap.cancel()  # the engine stops at its next chunk
                raise
            if hashed is not None and source is not None and tap is not None:
                source_sha256 = hashed.result().hex()
                tap.check_complete(source)
        read_back.result()
    except BaseException:
        prefix.abandon()
        with contextlib.suppress(BaseException):
            read_back.result()
        raise
    if len(read_back.digests) != len(plan.tensors):
        raise AssertionError("the read-back did not reach every tensor")
    return Written(
        read_back.sha256.hexdigest(),
        plan.size,
        {t.name: digests[t.name] for t in plan.tensors},
        read_back.digests,
        source_sha256,
    )


def _source_segments(
    plan: Plan,
    storage: Callable[[str], Bytes],
    source: ModelFile,
) -> list[_Segment]:
    """The tensors that are plain, non-empty ranges of ``source`` itself (not of a copy)."""
    data_start = len(plan.header)
    inodes: dict[int, bool] = {}
    segments = []
    for tensor in plan.tensors:
        view = tensor.view
        if not view.plain or view.numel == 0:
            continue
        stored = storage(view.storage)
        if stored.fd is None or stored.owner is not None:
            continue
        if stored.fd not in inodes:
            st = os.fstat(stored.fd)
            inodes[stored.fd] = (st.st_dev, st.st_ino) == (
                source.identity.device,
                source.identity.inode,
            )
        if not inodes[stored.fd]:
            continue
        start, end = view.byte_range
        if start < 0 or end > stored.length:
            raise CheckpointFormatError(f"read past the end of {stored.label}")
        segments.append(
            _Segment(
                tensor.name,
                stored.offset + start,
                stored.offset + end,
                data_start + tensor.begin,
            )
        )
    return segments


def _write_tensor(
    fd: int,
    data_start: int,
    tensor: PlannedTensor,
    stored: Bytes,
    digests: dict[str, str],
    prefix: _Prefix,
    advance: Advance,
) -> None:
    """A tensor that is not a plain range of the source: read (or gathered) chunk by chunk."""
    position = data_start + tensor.begin
    ring = BufferRing(count=1, size=min(CHUNK, max(tensor.nbytes, 1)))
    digest = blake3.blake3()
    for chunk in chunks(tensor.view, stored, ring):
        digest.update(chunk)
        _pwrite_all(fd, chunk, position)
        prefix.mark(position, position + len(chunk))
        position += len(chunk)
        advance(len(chunk))
    if position != data_start + tensor.end:
        raise AssertionError(f"{tensor.name}: wrote {position - data_start - tensor.begin} bytes")
    digests[tensor.name] = digest.hexdigest()
