"""The hashing engine: (file, byte range) work items hashed in parallel at disk/CPU speed.

Design, measured on a 2-core VM with SHA-NI (see benchmarks/bench_hash.py):
- one thread per core over work items, largest first, so many files keep every
  core busy (hashlib and reads release the GIL on large buffers);
- 4 MiB ``readinto`` into a reused buffer (no per-chunk allocation) with
  ``POSIX_FADV_SEQUENTIAL`` so the kernel reads ahead while we hash;
- when there are fewer items than cores (one big file), a reader thread fills
  the next buffer while the current one is hashed, overlapping copy and hash;
- blake3 hashes 16 MiB reads with its own internal threads;
- a caller that needs the bytes as well as their digest (the converter copies
  tensors out of the file whose digest it records) passes a ``tap``: it sees
  every chunk in file order, in its own thread, while the chunk is hashed, so
  the file is read once for both.
Each file is opened without following links (unless the walk allowed that
link) and must still be the file the walk saw, and unchanged afterwards.
"""

from __future__ import annotations

import contextlib
import errno
import os
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from supplychain.errors import FileChangedError, InputError
from supplychain.hashing.algorithms import BLAKE3, Hasher, new_hasher
from supplychain.model.tree import FileIdentity, ModelFile

CHUNK_SIZE = 4 << 20
BLAKE3_CHUNK = 16 << 20
#: Below this, a file is hashed with one blake3 thread (thread start-up dominates).
BLAKE3_PARALLEL_MIN = 8 << 20
PIPELINE_DEPTH = 3

Advance = Callable[[int], None]
#: ``tap(file_offset, chunk)``; the chunk's buffer is reused once the call returns.
Tap = Callable[[int, memoryview], None]


class Cancelled(Exception):
    """Raised inside hashing threads when the caller no longer wants the digests."""


@dataclass(frozen=True)
class WorkItem:
    """Hash bytes ``[start, end)`` of ``file``; ``end == file.size`` for a whole file."""

    file: ModelFile
    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def hash_items(
    items: Sequence[WorkItem],
    algorithm: str,
    *,
    workers: int | None = None,
    advance: Advance | None = None,
) -> list[bytes]:
    """Digest of every item, in the order given."""
    if not items:
        return []
    workers = workers or default_workers()
    step = advance or (lambda n: None)
    results: list[bytes | None] = [None] * len(items)
    pipelined = len(items) < workers
    # Largest first: the longest job starts early, small ones fill the gaps.
    order = sorted(range(len(items)), key=lambda i: items[i].length, reverse=True)
    if workers == 1 or len(items) == 1:
        for i in order:
            results[i] = hash_item(items[i], algorithm, advance=step, pipelined=pipelined)
        return [r for r in results if r is not None]
    with ThreadPoolExecutor(
        max_workers=min(workers, len(items)), thread_name_prefix="hash"
    ) as pool:
        futures: dict[Future[bytes], int] = {
            pool.submit(hash_item, items[i], algorithm, advance=step, pipelined=pipelined): i
            for i in order
        }
        done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        for future in pending:
            future.cancel()
        for future in done:
            exc = future.exception()
            if exc is not None:
                raise exc
            results[futures[future]] = future.result()
        for future in pending:  # only reached when nothing failed
            results[futures[future]] = future.result()
    return [r for r in results if r is not None]


def hash_item(
    item: WorkItem,
    algorithm: str,
    *,
    advance: Advance | None = None,
    pipelined: bool = False,
    tap: Tap | None = None,
) -> bytes:
    """Digest of one work item, checking the file is the one the walk saw.

    ``tap``, if given, is called with every chunk read (see :data:`Tap`), in
    file order, from one thread, concurrently with hashing that chunk.
    """
    step = advance or (lambda n: None)
    fd = _open_checked(item.file)
    try:
        if tap is not None:
            digest = _pipelined_range(fd, item, algorithm, step, tap)
        elif algorithm == BLAKE3:
            digest = _blake3_range(fd, item, step)
        elif pipelined and item.length > 2 * CHUNK_SIZE:
            digest = _pipelined_range(fd, item, algorithm, step)
        else:
            digest = _plain_range(fd, item, algorithm, step)
        _check_unchanged(fd, item.file)
        return digest
    finally:
        os.close(fd)


def _open_checked(file: ModelFile) -> int:
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
    if not file.via_symlink:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(file.path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise FileChangedError(
                "became a symbolic link after the model was listed", path=file.path
            ) from None
        raise InputError(f"cannot open: {exc.strerror}", path=file.path) from None
    st = os.fstat(fd)
    if (st.st_dev, st.st_ino) != (file.identity.device, file.identity.inode) or (
        st.st_size != file.identity.size
    ):
        os.close(fd)
        raise FileChangedError(
            "was replaced or resized after the model was listed",
            path=file.path,
            hint="make sure nothing writes to the model while it is hashed, then retry",
        )
    return fd


def _check_unchanged(fd: int, file: ModelFile) -> None:
    if FileIdentity.of(os.fstat(fd)) != file.identity:
        raise FileChangedError(
            "changed while it was being hashed",
            path=file.path,
            hint="make sure nothing writes to the model while it is hashed, then retry",
        )


def _advise(fd: int, start: int, length: int, advice: int) -> None:
    if hasattr(os, "posix_fadvise"):
        with contextlib.suppress(OSError):  # advice only
            os.posix_fadvise(fd, start, length, advice)


def _plain_range(fd: int, item: WorkItem, algorithm: str, advance: Advance) -> bytes:
    hasher = new_hasher(algorithm)
    _read_into(hasher, fd, item, min(CHUNK_SIZE, max(item.length, 1)), advance)
    return hasher.digest()


def _read_into(hasher: Hasher, fd: int, item: WorkItem, chunk: int, advance: Advance) -> None:
    """Feed bytes [start, end) to ``hasher`` through one reused buffer."""
    _advise(fd, item.start, item.length, getattr(os, "POSIX_FADV_SEQUENTIAL", 0))
    view = memoryview(bytearray(chunk))
    offset, end = item.start, item.end
    while offset < end:
        want = min(chunk, end - offset)
        n = os.preadv(fd, [view[:want]], offset)
        if n <= 0:
            raise FileChangedError("shrank while it was being hashed", path=item.file.path)
        hasher.update(view[:n])
        offset += n
        advance(n)


def _pipelined_range(
    fd: int, item: WorkItem, algorithm: str, advance: Advance, tap: Tap | None = None
) -> bytes:
    """One thread reads the next chunk while this one hashes (and ``tap`` sees) the current one."""
    hasher = new_hasher(algorithm)
    _advise(fd, item.start, item.length, getattr(os, "POSIX_FADV_SEQUENTIAL", 0))
    free: queue.Queue[bytearray] = queue.Queue()
    full: queue.Queue[tuple[bytearray, int, int] | BaseException | None] = queue.Queue()
    for _ in range(PIPELINE_DEPTH):
        free.put(bytearray(CHUNK_SIZE))
    stop = threading.Event()

    def reader() -> None:
        offset = item.start
        try:
            while offset < item.end and not stop.is_set():
                buf = free.get()
                if stop.is_set():
                    break
                want = min(CHUNK_SIZE, item.end - offset)
                n = os.preadv(fd, [memoryview(buf)[:want]], offset)
                if n <= 0:
                    raise FileChangedError("shrank while it was being hashed", path=item.file.path)
                full.put((buf, offset, n))
                offset += n
            full.put(None)
        except BaseException as exc:  # handed to the hashing thread
            full.put(exc)

    thread = threading.Thread(target=reader, name="hash-read", daemon=True)
    thread.start()
    tapper = ThreadPoolExecutor(1, thread_name_prefix="hash-tap") if tap is not None else None
    try:
        while True:
            got = full.get()
            if got is None:
                break
            if isinstance(got, BaseException):
                raise got
            buf, offset, n = got
            chunk = memoryview(buf)[:n]
            tapped = tapper.submit(tap, offset, chunk) if tapper and tap else None
            hasher.update(chunk)
            if tapped is not None:
                tapped.result()  # the buffer goes back to the reader only when both are done
            free.put(buf)
            advance(n)
    finally:
        stop.set()
        free.put(bytearray(0))  # unblock a reader waiting for a buffer
        thread.join()
        if tapper is not None:
            tapper.shutdown(wait=True)
    return hasher.digest()


def _blake3_range(fd: int, item: WorkItem, advance: Advance) -> bytes:
    """blake3 spreads one large buffer over every core itself; feed it big reads.

    Reads, not mmap: a file truncated while mapped would kill the process with
    SIGBUS instead of raising a clear error (mmap was 12% faster here).
    """
    if item.length < BLAKE3_PARALLEL_MIN:
        return _plain_range(fd, item, BLAKE3, advance)
    hasher = new_hasher(BLAKE3, threads=2)
    _read_into(hasher, fd, item, BLAKE3_CHUNK, advance)
    return hasher.digest()
