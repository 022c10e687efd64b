"""Write a planned safetensors file, streaming: read, hash and write overlap, one chunk at a time.

The header is known before the first byte is written (see
:mod:`supplychain.conversion.plan`), so the file is produced front to back
with positional writes. Each chunk is read into a reused buffer (or gathered
by numpy), then hashed and written concurrently by two worker threads while
the next chunk is read: SHA-256 of the whole output and a BLAKE3 digest per
tensor (the source side of the self-check) come out of the same pass, and no
Python object is created per element. Copying through user space rather than
``copy_file_range`` is deliberate: the bytes must be hashed anyway, and
reading them once costs less than copying in the kernel and reading the
output back.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import blake3

from supplychain.conversion.gather import BufferRing, chunks
from supplychain.conversion.plan import Plan
from supplychain.conversion.storage import Bytes

Advance = Callable[[int], None]
#: Per-tensor digests name their algorithm.
TENSOR_DIGEST = "blake3"


@dataclass(frozen=True)
class Written:
    """What the writer produced."""

    sha256: str
    size: int
    #: Tensor name -> BLAKE3 hex digest of the bytes written for it (from the source).
    digests: dict[str, str]


class _Pipeline:
    """Three lanes per chunk (file SHA-256, tensor digest, write), each one thread, in order.

    ``push`` returns once the *previous* chunk has gone through every lane, so
    the caller may refill that chunk's buffer while this one is processed.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.position = 0
        self.sha256 = hashlib.sha256()
        self._file_hash = ThreadPoolExecutor(1, thread_name_prefix="convert-sha256")
        self._tensor_hash = ThreadPoolExecutor(1, thread_name_prefix="convert-digest")
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="convert-write")
        self._pending: tuple[Future[object], ...] = ()

    def push(self, chunk: memoryview, digest: blake3.blake3 | None) -> None:
        lanes: list[Future[object]] = [
            self._file_hash.submit(self.sha256.update, chunk),
            self._writer.submit(_pwrite_all, self.fd, chunk, self.position),
        ]
        if digest is not None:
            lanes.append(self._tensor_hash.submit(digest.update, chunk))
        self.position += len(chunk)
        previous, self._pending = self._pending, tuple(lanes)
        for future in previous:
            future.result()

    def after_hashing(self, action: Callable[[], None]) -> None:
        """Run ``action`` in the tensor-digest lane once every chunk pushed so far is hashed."""
        self._tensor_hash.submit(action)

    def drain(self) -> None:
        pending, self._pending = self._pending, ()
        for future in pending:
            future.result()

    def close(self) -> None:
        for lane in (self._file_hash, self._tensor_hash, self._writer):
            lane.shutdown(wait=True)


def _pwrite_all(fd: int, chunk: memoryview, position: int) -> object:
    done = 0
    while done < len(chunk):
        done += os.pwrite(fd, chunk[done:], position + done)
    return done


def _recorder(digests: dict[str, str], name: str, digest: blake3.blake3) -> Callable[[], None]:
    def record() -> None:
        digests[name] = digest.hexdigest()

    return record


def write_plan(
    fd: int,
    plan: Plan,
    storage: Callable[[str], Bytes],
    *,
    advance: Advance | None = None,
) -> Written:
    """Write ``plan`` to the empty file ``fd``; ``storage(key)`` gives a storage's bytes."""
    step = advance or (lambda n: None)
    pipeline = _Pipeline(fd)
    ring = BufferRing()
    digests: dict[str, str] = {}
    try:
        pipeline.push(memoryview(plan.header), None)
        for tensor in plan.tensors:
            digest = blake3.blake3()
            for chunk in chunks(tensor.view, storage(tensor.view.storage), ring):
                pipeline.push(chunk, digest)
                step(len(chunk))
            pipeline.after_hashing(_recorder(digests, tensor.name, digest))
        pipeline.drain()
    finally:
        pipeline.close()
    if pipeline.position != plan.size:
        raise AssertionError(f"wrote {pipeline.position} bytes, planned {plan.size}")
    return Written(pipeline.sha256.hexdigest(), pipeline.position, digests)
