"""Atomic file writes: temp file in the target directory, fsync, rename, fsync the directory."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from supplychain.errors import InputError


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike[str], *, mode: int | None = None) -> Iterator[BinaryIO]:
    """Yield a binary file that replaces ``path`` only if the block completes.

    Readers see either the old file or the complete new one, never a partial
    write; on error the temporary file is removed and ``path`` is untouched.
    ``mode`` defaults to 0666 minus the umask (what ``open`` would give).
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    fd, tmp = _temp_beside(target)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _default_mode() if mode is None else mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(directory)


def _temp_beside(target: Path) -> tuple[int, Path]:
    """A new temporary file in ``target``'s directory (so the final rename is atomic)."""
    directory = target.parent if str(target.parent) else Path(".")
    try:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise InputError(f"cannot write here: {exc.strerror}", path=target) from None
    return fd, Path(name)


def write_bytes_atomic(
    path: str | os.PathLike[str], data: bytes, *, mode: int | None = None
) -> None:
    with atomic_writer(path, mode=mode) as handle:
        handle.write(data)


def _default_mode() -> int:
    return 0o666 & ~_current_umask()


def _current_umask() -> int:
    # Reading it from /proc avoids briefly changing the process umask, which
    # would race with other threads creating files.
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class StagedFiles:
    """Several files that appear together, or not at all.

    Each :meth:`create` makes a temporary file beside its target (same
    directory, so the final rename is atomic); :meth:`commit` fsyncs every
    one, renames them all into place and fsyncs their directories. Leaving
    the ``with`` block without committing (an error, a failed check) removes
    every temporary file: no target is touched.
    """

    def __init__(self) -> None:
        self._staged: list[tuple[int, Path, Path, int | None]] = []

    def create(self, path: str | os.PathLike[str], *, mode: int | None = None) -> tuple[int, Path]:
        """A new empty temporary file for ``path``: (read/write descriptor, temporary path)."""
        target = Path(path)
        fd, tmp = _temp_beside(target)
        self._staged.append((fd, tmp, target, mode))
        return fd, tmp

    def commit(self) -> None:
        """Make every staged file durable, then rename each over its target."""
        for fd, _, _, mode in self._staged:
            os.fsync(fd)
            os.fchmod(fd, _default_mode() if mode is None else mode)
        directories: set[Path] = set()
        for fd, tmp, target, _ in self._staged:
            os.close(fd)
            os.replace(tmp, target)
            directories.add(target.parent if str(target.parent) else Path("."))
        self._staged.clear()
        for directory in sorted(directories):
            _fsync_dir(directory)

    def discard(self) -> None:
        for fd, tmp, _, _ in self._staged:
            with contextlib.suppress(OSError):
                os.close(fd)
            with contextlib.suppress(OSError):
                tmp.unlink()
        self._staged.clear()

    def __enter__(self) -> StagedFiles:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()
