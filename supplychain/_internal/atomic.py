"""Atomic, crash-safe file writes: a temp file in the target directory, fsync, rename, fsync dir.

On Linux the temp file is unnamed (``O_TMPFILE``): it only gets a name,
briefly, once it is complete and fsynced, so a process killed mid-write
(even by SIGKILL) leaves nothing behind. Elsewhere, or on filesystems
without ``O_TMPFILE``, it is a hidden named file removed on every error. A
SIGTERM (what ``timeout``, systemd and Kubernetes send) during a write
raises :class:`Terminated`, which removes the temp file like any error. A
full disk or another write failure is an :class:`~supplychain.errors.InputError`
naming the file, never a traceback.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import BinaryIO

from supplychain.errors import InputError, SupplychainError

#: errno values meaning "this filesystem cannot make unnamed files": fall back to a named one.
_NO_TMPFILE = frozenset({errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOTSUP})
_PROC_FD = Path("/proc/self/fd")
#: OSErrors inside a writer's block that are about writing (the block's other errors pass through).
WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS})


class Terminated(SupplychainError):
    """SIGTERM arrived while files were being written; the partial files were removed."""

    exit_code = 128 + signal.SIGTERM  # type: ignore[assignment]  # the shell's convention


def write_error(exc: OSError, path: str | os.PathLike[str]) -> InputError:
    """An environment error for a failed write (full disk, quota, read-only filesystem...)."""
    full = exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
    return InputError(
        f"cannot write: {exc.strerror or exc}",
        path=path,
        hint="free some space (or choose another output location); nothing was written"
        if full
        else "check the output location; nothing was written",
    )


@dataclass
class _Temp:
    """A temporary file for ``target``: unnamed (``name`` is None) or a hidden named file."""

    fd: int
    target: Path
    name: Path | None
    mode: int | None

    @property
    def path(self) -> Path:
        """A path that opens this file, in this process and in its children."""
        if self.name is not None:
            return self.name
        return Path(f"/proc/{os.getpid()}/fd/{self.fd}")

    def publish(self) -> None:
        """fsync, set the mode and give the file ``target``'s name (atomically replacing it)."""
        os.fsync(self.fd)
        os.fchmod(self.fd, _default_mode() if self.mode is None else self.mode)
        if self.name is None:
            self.name = _link_unnamed(self.fd, self.target)
        os.replace(self.name, self.target)
        self.name = None

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)
        if self.name is not None:
            with contextlib.suppress(OSError):
                self.name.unlink()


def _as_write_error(temp: _Temp, step: Callable[[_Temp], None]) -> None:
    """Run one commit step; a failed write (full disk) becomes an input (environment) error."""
    try:
        step(temp)
    except OSError as exc:
        raise write_error(exc, temp.target) from None


def _directory(target: Path) -> Path:
    return target.parent if str(target.parent) else Path(".")


def _temp_beside(target: Path, mode: int | None = None) -> _Temp:
    """A new temporary file in ``target``'s directory (so the final rename is atomic)."""
    directory = _directory(target)
    if hasattr(os, "O_TMPFILE") and _PROC_FD.is_dir():
        try:
            fd = os.open(directory, os.O_TMPFILE | os.O_RDWR | os.O_CLOEXEC, 0o600)
            return _Temp(fd, target, None, mode)
        except OSError as exc:
            if exc.errno not in _NO_TMPFILE:
                raise InputError(f"cannot write here: {exc.strerror}", path=target) from None
    try:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise InputError(f"cannot write here: {exc.strerror}", path=target) from None
    return _Temp(fd, target, Path(name), mode)


def _link_unnamed(fd: int, target: Path) -> Path:
    """Give an ``O_TMPFILE`` file a hidden name beside ``target``.

    ``linkat`` cannot replace an existing name, so the file is linked under a
    fresh name and then renamed over the target (which is atomic).
    """
    directory = os.open(_directory(target), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for _ in range(100):
            name = f".{target.name}.{secrets.token_hex(4)}.tmp"
            try:
                # a directory descriptor makes os.link call linkat (plain link() would link
                # the /proc symlink itself), and AT_SYMLINK_FOLLOW links the file it names
                os.link(_PROC_FD / str(fd), name, dst_dir_fd=directory, follow_symlinks=True)
            except FileExistsError:
                continue
            return _directory(target) / name
    finally:
        os.close(directory)
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(target))


# -- SIGTERM ---------------------------------------------------------------------------------------
class _TermGuard:
    """While active, SIGTERM raises :class:`Terminated` in the main thread (or waits for commit).

    Only installed from the main thread and only over the default action:
    a handler the application chose (or SIG_IGN) is left alone.
    """

    def __init__(self, what: Path | None) -> None:
        self.what = what
        self.previous: object = None
        self.installed = False
        self.deferring = False
        self.pending = False

    def __enter__(self) -> _TermGuard:
        if threading.current_thread() is threading.main_thread():
            with contextlib.suppress(ValueError, OSError):
                if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
                    self.previous = signal.signal(signal.SIGTERM, self._handle)
                    self.installed = True
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.deferring:
            self.pending = True
            return
        self._raise()

    def _raise(self, complete: bool = False) -> None:
        raise Terminated(
            "stopped by SIGTERM "
            + ("after the output was complete and in place" if complete else "while writing")
            + "; no partial file was left",
            path=self.what,
            hint="run the command again when it may complete",
        )

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        """Let a SIGTERM wait until the block (renaming files into place) is done."""
        self.deferring = True
        try:
            yield
        finally:
            self.deferring = False
        if self.pending:
            self._raise(complete=True)

    def __exit__(self, *exc: object) -> None:
        if self.installed:
            signal.signal(signal.SIGTERM, self.previous)  # type: ignore[arg-type]
            self.installed = False


# -- writers ---------------------------------------------------------------------------------------
@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike[str], *, mode: int | None = None) -> Iterator[BinaryIO]:
    """Yield a binary file that replaces ``path`` only if the block completes.

    Readers see either the old file or the complete new one, never a partial
    write; on error (or SIGTERM, or SIGKILL on Linux) the temporary file is
    removed and ``path`` is untouched. ``mode`` defaults to 0666 minus the
    umask (what ``open`` would give).
    """
    target = Path(path)
    with _TermGuard(target) as guard:
        temp = _temp_beside(target, mode)
        try:
            try:
                with os.fdopen(os.dup(temp.fd), "wb") as handle:
                    yield handle
                    handle.flush()
            except OSError as exc:
                if exc.errno not in WRITE_ERRNOS:
                    raise
                raise write_error(exc, target) from None
            with guard.deferred():
                try:
                    temp.publish()
                except OSError as exc:
                    raise write_error(exc, target) from None
        except BaseException:
            temp.discard()
            raise
        temp.discard()
    _fsync_dir(_directory(target))


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
    directory, so the final rename is atomic; unnamed where the system
    allows); :meth:`commit` fsyncs every one, renames them all into place and
    fsyncs their directories. Leaving the ``with`` block without committing
    (an error, a failed check, SIGTERM) removes every temporary file: no
    target is touched. A write that fails with an ``OSError`` (full disk)
    surfaces as an :class:`~supplychain.errors.InputError`.
    """

    def __init__(self) -> None:
        self._staged: list[_Temp] = []
        self._guard: _TermGuard | None = None

    def create(self, path: str | os.PathLike[str], *, mode: int | None = None) -> tuple[int, Path]:
        """A new empty temporary file for ``path``: (read/write descriptor, a path that opens it).

        The path works for reading in this process and its children; it is
        not the name the file will have.
        """
        temp = _temp_beside(Path(path), mode)
        self._staged.append(temp)
        return temp.fd, temp.path

    def commit(self) -> None:
        """Make every staged file durable, then rename each over its target."""
        directories: set[Path] = set()
        try:
            with self._guard.deferred() if self._guard else contextlib.nullcontext():
                for temp in self._staged:  # all durable before any is renamed
                    _as_write_error(temp, lambda t: os.fsync(t.fd))
                for temp in self._staged:
                    _as_write_error(temp, _Temp.publish)
                    directories.add(_directory(temp.target))
        finally:
            self.discard()
        for directory in sorted(directories):
            _fsync_dir(directory)

    def discard(self) -> None:
        for temp in self._staged:
            temp.discard()
        self._staged.clear()

    def __enter__(self) -> StagedFiles:
        self._guard = _TermGuard(None).__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.discard()
        finally:
            if self._guard is not None:
                self._guard.__exit__()
                self._guard = None
