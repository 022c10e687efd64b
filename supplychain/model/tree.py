"""The model tree: the one safe, exact walk of a model that every command uses.

A model is a directory of regular files, or a single regular file. The walk
applies the OpenSSF Model Signing ignore rules (git metadata at the root, user
paths relative to the model root with their subtrees, the signature file),
refuses anything that is not a regular file, and refuses symbolic links unless
the caller allows them, in which case a link must resolve to a regular file
inside a boundary directory (the model root by default).

Files come out in model-signing's component order (``tok/a`` before
``tok.json``), which is what makes our root digests equal to theirs.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from supplychain._internal.safeopen import os_error
from supplychain.errors import InputError, ModelTreeError

#: Paths OMS ignores at the model root unless told otherwise.
GIT_PATHS: tuple[str, ...] = (".git", ".gitattributes", ".github", ".gitignore")

#: The resource name model-signing gives the only file of a single-file model.
SINGLE_FILE_NAME = "."


@dataclass(frozen=True, order=True)
class FileIdentity:
    """What identifies one version of a file on disk without reading it."""

    device: int
    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, st: os.stat_result) -> FileIdentity:
        return cls(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


@dataclass(frozen=True)
class ModelFile:
    """One regular file of a model."""

    #: POSIX path relative to the model root; ``"."`` for a single-file model.
    name: str
    #: Where to read it (for an allowed symlink: the link; it is opened following it).
    path: Path
    identity: FileIdentity
    #: True when ``path`` is a symbolic link the caller allowed.
    via_symlink: bool = False

    @property
    def size(self) -> int:
        return self.identity.size


@dataclass(frozen=True)
class ModelTree:
    """The result of walking a model: its files in component order and what was ignored."""

    root: Path
    is_single_file: bool
    files: tuple[ModelFile, ...]
    #: Ignore paths relative to the root, as OMS records them (sorted).
    ignore_paths: tuple[str, ...]
    allow_symlinks: bool = False
    _by_name: dict[str, ModelFile] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_name.update((f.name, f) for f in self.files)

    @property
    def name(self) -> str:
        """The model's name as OMS records it: the basename of the model path."""
        return self.root.name

    @property
    def total_size(self) -> int:
        return sum(f.size for f in self.files)

    def get(self, name: str) -> ModelFile | None:
        return self._by_name.get(name)

    def excluding(self, ignore_paths: Iterable[str]) -> ModelTree:
        """This tree without the files that OMS ignore paths (and their subtrees) cover."""
        extra = tuple(p for p in ignore_paths if p not in self.ignore_paths)
        if not extra:
            return self
        kept = tuple(f for f in self.files if not _is_ignored(f.name, extra))
        merged = tuple(sorted({*self.ignore_paths, *extra}))
        return ModelTree(self.root, self.is_single_file, kept, merged, self.allow_symlinks)

    def __len__(self) -> int:
        return len(self.files)


def component_key(name: str) -> tuple[str, ...]:
    """Sort key of model-signing: compare path components, not whole strings."""
    return tuple(name.split("/"))


def check_resource_name(name: str) -> str:
    """Validate a relative resource name from an untrusted source (a signature, a BOM).

    Returns the name unchanged, or raises :class:`ModelTreeError` when it could
    address something outside the model: ``..`` components, absolute paths,
    backslashes, empty components, NUL bytes.
    """
    if name == SINGLE_FILE_NAME:
        return name
    problems = []
    if not name:
        problems.append("it is empty")
    if name.startswith("/"):
        problems.append("it is an absolute path")
    if "\\" in name:
        problems.append("it contains a backslash")
    if "\x00" in name:
        problems.append("it contains a NUL byte")
    parts = name.split("/")
    if any(p == ".." for p in parts):
        problems.append("it contains a '..' component")
    if any(p in ("", ".") for p in parts):
        problems.append("it has an empty or '.' component")
    if problems:
        raise ModelTreeError(
            f"unsafe resource name {name!r}: {'; '.join(problems)}",
            hint="a resource name must be a relative POSIX path inside the model",
        )
    return name


def normalize_ignore_path(root: Path, entry: str | os.PathLike[str]) -> str | None:
    """Turn a user ignore path into a POSIX path relative to the model root.

    Relative paths are relative to the model root. Absolute paths are accepted
    when they lie inside it. Returns ``None`` for an absolute path outside the
    model (it cannot match anything); raises on ``..`` escapes.
    """
    text = os.fspath(entry)
    if os.path.isabs(text):
        try:
            rel = Path(os.path.abspath(text)).relative_to(root)
        except ValueError:
            return None
        return rel.as_posix() if rel.parts else "."
    pure = PurePosixPath(text.replace(os.sep, "/"))
    if ".." in pure.parts:
        raise ModelTreeError(
            f"ignore path {text!r} leaves the model directory",
            hint="ignore paths are relative to the model root and may not contain '..'",
        )
    rel_text = pure.as_posix()
    return rel_text


@dataclass(frozen=True)
class _Selection:
    """The resource names to keep, and every directory on the way to them."""

    names: frozenset[str]
    dirs: frozenset[str]

    @classmethod
    def of(cls, names: Collection[str]) -> _Selection:
        dirs: set[str] = set()
        for name in names:
            parts = name.split("/")
            dirs.update("/".join(parts[:i]) for i in range(1, len(parts)))
        return cls(frozenset(names), frozenset(dirs))


def _is_ignored(name: str, ignores: Iterable[str]) -> bool:
    for ignored in ignores:
        if ignored == "." or name == ignored or name.startswith(ignored + "/"):
            return True
    return False


def _inside(path: str, boundary: str) -> bool:
    return path == boundary or path.startswith(boundary.rstrip(os.sep) + os.sep)


def walk_model(
    model: str | os.PathLike[str],
    *,
    ignore: Iterable[str | os.PathLike[str]] = (),
    ignore_git_paths: bool = True,
    signature: str | os.PathLike[str] | None = None,
    allow_symlinks: bool = False,
    symlink_boundary: str | os.PathLike[str] | None = None,
    only: Collection[str] | None = None,
) -> ModelTree:
    """Walk ``model`` (a directory or a single file) and return its regular files.

    ``ignore`` entries are relative to the model root (absolute paths inside it
    are accepted too) and match the path and its subtree. ``signature`` is
    excluded when it lies inside the model. ``only`` restricts the result to
    those resource names (used to verify a subset); names not found are simply
    absent from the result. Symbolic links raise :class:`ModelTreeError` unless
    ``allow_symlinks``; allowed links must resolve to a regular file inside
    ``symlink_boundary`` (default: the model root).
    """
    given = Path(model)
    try:
        st = os.lstat(given)
    except FileNotFoundError:
        raise InputError("no such file or directory", path=given) from None
    except OSError as exc:  # ENAMETOOLONG, ELOOP, EACCES, ENOTDIR...
        raise os_error(exc, given, "model") from None
    root = Path(os.path.abspath(given))
    if stat.S_ISLNK(st.st_mode):
        # The model path itself may be a link (e.g. a snapshot directory); we
        # walk what it points to but report paths under the name given.
        try:
            st = os.stat(given)
        except OSError:
            raise ModelTreeError("the model path is a broken symbolic link", path=given) from None
        if not stat.S_ISDIR(st.st_mode) and not allow_symlinks:
            raise ModelTreeError(
                "the model path is a symbolic link to a file",
                path=given,
                hint="pass the link target instead, or allow symbolic links explicitly",
            )

    ignores: set[str] = set()
    if ignore_git_paths:
        ignores.update(GIT_PATHS)
    for entry in ignore:
        rel = normalize_ignore_path(root, entry)
        if rel is not None:
            ignores.add(rel)
    if signature is not None:
        rel = normalize_ignore_path(root, os.path.abspath(signature))
        if rel is not None and rel != ".":
            ignores.add(rel)
    ignore_paths = tuple(sorted(ignores))

    if stat.S_ISREG(st.st_mode):
        via_link = os.path.islink(given)
        entry_file = ModelFile(SINGLE_FILE_NAME, root, FileIdentity.of(st), via_symlink=via_link)
        files: tuple[ModelFile, ...] = (entry_file,)
        if only is not None and SINGLE_FILE_NAME not in only:
            files = ()
        return ModelTree(root, True, files, ignore_paths, allow_symlinks)
    if not stat.S_ISDIR(st.st_mode):
        raise ModelTreeError(
            "not a regular file or directory (a device, FIFO or socket cannot be a model)",
            path=given,
        )

    real_root = os.path.realpath(root)
    boundary = os.path.realpath(symlink_boundary) if symlink_boundary is not None else real_root
    wanted = None if only is None else _Selection.of(only)
    found: list[ModelFile] = []
    _walk_dir(root, "", ignore_paths, allow_symlinks, boundary, wanted, found)
    found.sort(key=lambda f: component_key(f.name))
    return ModelTree(root, False, tuple(found), ignore_paths, allow_symlinks)


def _walk_dir(
    directory: Path,
    prefix: str,
    ignores: tuple[str, ...],
    allow_symlinks: bool,
    boundary: str,
    wanted: _Selection | None,
    out: list[ModelFile],
) -> None:
    try:
        entries = list(os.scandir(directory))
    except PermissionError:
        raise ModelTreeError(
            "permission denied while listing the directory",
            path=directory,
            hint="make the directory readable, or ignore it with --ignore",
        ) from None
    except OSError as exc:
        raise ModelTreeError(f"cannot list the directory: {exc.strerror}", path=directory) from None
    for entry in entries:
        _check_name(entry.name, directory)
        name = f"{prefix}{entry.name}"
        if _is_ignored(name, ignores):
            continue
        if wanted is not None and name not in wanted.names and name not in wanted.dirs:
            continue
        path = Path(entry.path)
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError as exc:
            raise ModelTreeError(f"cannot stat: {exc.strerror}", path=path) from None
        if stat.S_ISLNK(st.st_mode):
            out.append(_follow_link(path, name, allow_symlinks, boundary))
        elif stat.S_ISDIR(st.st_mode):
            _walk_dir(path, name + "/", ignores, allow_symlinks, boundary, wanted, out)
        elif stat.S_ISREG(st.st_mode):
            out.append(ModelFile(name, path, FileIdentity.of(st)))
        else:
            raise ModelTreeError(
                "not a regular file (a device, FIFO or socket cannot be part of a model)",
                path=path,
                hint="remove it, or exclude it with --ignore",
            )


def _check_name(entry_name: str, directory: Path) -> None:
    try:
        entry_name.encode("utf-8")
    except UnicodeEncodeError:
        raise ModelTreeError(
            f"file name {entry_name.encode('utf-8', 'surrogateescape')!r} is not valid UTF-8",
            path=directory,
            hint="rename the file: OMS resource names are UTF-8 text",
        ) from None
    if "\\" in entry_name:
        raise ModelTreeError(
            f"file name {entry_name!r} contains a backslash",
            path=directory,
            hint="rename the file: a backslash is a path separator on Windows and "
            "signatures with such names are rejected by verifiers",
        )


def _follow_link(path: Path, name: str, allow_symlinks: bool, boundary: str) -> ModelFile:
    if not allow_symlinks:
        raise ModelTreeError(
            "is a symbolic link; links are refused by default",
            path=path,
            hint="replace the link with the file it points to, exclude it with --ignore, "
            "or pass --allow-symlinks to follow links that stay inside the model",
        )
    target = os.path.realpath(path)
    if not _inside(target, boundary):
        raise ModelTreeError(
            f"symbolic link points outside the model (to {target})",
            path=path,
            hint="links may only point inside the model directory",
        )
    try:
        st = os.stat(target)
    except OSError:
        raise ModelTreeError("is a broken symbolic link", path=path) from None
    if stat.S_ISDIR(st.st_mode):
        raise ModelTreeError(
            "is a symbolic link to a directory; its files would not be covered",
            path=path,
            hint="replace the link with a real directory, or exclude it with --ignore",
        )
    if not stat.S_ISREG(st.st_mode):
        raise ModelTreeError("symbolic link does not point to a regular file", path=path)
    return ModelFile(name, path, FileIdentity.of(st), via_symlink=True)
