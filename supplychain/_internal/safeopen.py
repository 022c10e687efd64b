"""The one way to read a file a user or a model hands us: regular, bounded, parsed safely.

Keys, certificates, signatures, trust configurations, policies, BOMs,
provenance files, conversion records, requirement files, allowlists and a
model's own small files (config.json, README.md) all come through here:

- Only regular files are read. A FIFO would block ``open`` forever and
  ``/dev/zero`` never ends, so the type is checked with ``stat`` before
  opening (a device is never even opened), the file is opened with
  ``O_NONBLOCK`` (a FIFO swapped in meanwhile cannot block the open) and the
  type is checked again with ``fstat`` on what was actually opened. Symbolic
  links are followed: a user may keep a key behind one; what it points to
  must still be a regular file.
- Every kind of file has a size cap (:data:`KINDS`), and the read itself stops
  at cap + 1 bytes, so a file that grows while being read cannot exhaust memory.
- ``OSError`` (``ENAMETOOLONG``, ``ELOOP``, ``EACCES``, ``ENOTDIR``...) becomes
  an input error naming the file; text must be UTF-8.
- JSON is checked for nesting depth before it is parsed: Python's decoder,
  jsonschema and our own walkers all recurse, so a million ``[`` would end in
  ``RecursionError``. :data:`MAX_NESTING` levels is far beyond any legitimate
  file we read and far inside every recursive consumer's stack.
"""

from __future__ import annotations

import errno
import itertools
import json
import operator
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from supplychain.errors import InputError

#: Deepest nesting accepted in a JSON or YAML document (objects and arrays).
#: A CycloneDX BOM with ten generations of lineage nests about 40 levels; the
#: jsonschema validators and the JSON encoder stay far from Python's recursion
#: limit at this depth.
MAX_NESTING = 128

_MiB = 1 << 20


@dataclass(frozen=True)
class FileKind:
    """A kind of file we read whole: what to call it in messages and its size cap."""

    what: str
    max_bytes: int


KEY = FileKind("key", 1 * _MiB)
CERTIFICATE = FileKind("certificate", 1 * _MiB)
#: A manifest of ~300,000 files; OMS bundles of real models are kilobytes.
SIGNATURE = FileKind("signature file", 64 * _MiB)
TRUST_CONFIG = FileKind("trust configuration", 4 * _MiB)
POLICY = FileKind("policy", 1 * _MiB)
ALLOWLIST = FileKind("allowlist", 4 * _MiB)
BOM = FileKind("BOM", 64 * _MiB)
PROVENANCE = FileKind("provenance file", 16 * _MiB)
CONVERSION_RECORD = FileKind("conversion record", 16 * _MiB)
REQUIREMENTS = FileKind("requirements file", 32 * _MiB)
#: config.json, tokenizer_config.json, README.md of a model.
MODEL_METADATA = FileKind("model metadata file", 16 * _MiB)
#: .git/HEAD, refs, packed-refs, config of a model's git checkout.
GIT_METADATA = FileKind("git metadata file", 16 * _MiB)
HASH_CACHE = FileKind("hash cache", 256 * _MiB)

#: Every kind, for documentation and tests.
KINDS: tuple[FileKind, ...] = (
    KEY,
    CERTIFICATE,
    SIGNATURE,
    TRUST_CONFIG,
    POLICY,
    ALLOWLIST,
    BOM,
    PROVENANCE,
    CONVERSION_RECORD,
    REQUIREMENTS,
    MODEL_METADATA,
    GIT_METADATA,
    HASH_CACHE,
)

_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
)
_CHUNK = 1 * _MiB


def read_bytes(
    path: str | os.PathLike[str],
    kind: FileKind,
    *,
    what: str | None = None,
    error: type[InputError] = InputError,
    missing_hint: str | None = None,
) -> bytes:
    """The whole content of the regular file ``path``, at most ``kind.max_bytes`` bytes.

    Every failure raises ``error`` (an :class:`InputError` subclass) naming the
    file; ``what`` overrides the kind's name in messages ("public key") and
    ``missing_hint`` says what to do when the file does not exist.
    """
    source = Path(path)
    label = what or kind.what
    try:
        _require_regular(os.stat(source).st_mode, source, label, error)
        fd = os.open(source, _OPEN_FLAGS)
    except OSError as exc:
        hint = missing_hint if exc.errno == errno.ENOENT else None
        raise os_error(exc, source, label, error, hint=hint) from None
    try:
        st = os.fstat(fd)
        _require_regular(st.st_mode, source, label, error)  # what we opened, not what we stat'ed
        _require_size(st.st_size, source, label, kind.max_bytes, error)
        data = _read_at_most(fd, kind.max_bytes + 1)
    except OSError as exc:
        raise os_error(exc, source, label, error) from None
    finally:
        os.close(fd)
    _require_size(len(data), source, label, kind.max_bytes, error)  # it grew while we read
    return data


def read_text(
    path: str | os.PathLike[str],
    kind: FileKind,
    *,
    what: str | None = None,
    error: type[InputError] = InputError,
    missing_hint: str | None = None,
) -> str:
    """:func:`read_bytes` decoded as UTF-8 (strictly: a bad byte is an input error)."""
    data = read_bytes(path, kind, what=what, error=error, missing_hint=missing_hint)
    return decode_utf8(data, path, what or kind.what, error)


def read_json(
    path: str | os.PathLike[str],
    kind: FileKind,
    *,
    what: str | None = None,
    error: type[InputError] = InputError,
    hint: str | None = None,
) -> Any:
    """:func:`read_bytes` parsed as UTF-8 JSON nested at most :data:`MAX_NESTING` levels."""
    label = what or kind.what
    text = decode_utf8(read_bytes(path, kind, what=label, error=error), path, label, error)
    return parse_json(text, path=path, what=label, error=error, hint=hint)


def decode_utf8(
    data: bytes,
    path: str | os.PathLike[str] | None,
    what: str,
    error: type[InputError] = InputError,
) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(
            f"the {what} is not UTF-8 text (invalid byte at offset {exc.start})", path=path
        ) from None


def parse_json(
    text: str | bytes,
    *,
    path: str | os.PathLike[str] | None = None,
    what: str = "file",
    error: type[InputError] = InputError,
    hint: str | None = None,
) -> Any:
    """Parse JSON from an untrusted source: depth-checked first, every failure an input error."""
    if json_nesting(text) > MAX_NESTING:
        raise error(nesting_problem(what), path=path, hint=NESTING_HINT)
    try:
        return json.loads(text)
    except UnicodeDecodeError as exc:
        raise error(
            f"the {what} is not UTF-8 text (invalid byte at offset {exc.start})", path=path
        ) from None
    except ValueError as exc:
        raise error(f"the {what} is not valid JSON ({exc})", path=path, hint=hint) from None


NESTING_HINT = "no legitimate file nests this deep; this one is malformed or hostile"


def nesting_problem(what: str) -> str:
    return f"the {what} nests objects or arrays more than {MAX_NESTING} levels deep"


# Strings are skipped whole (a bracket inside one is text); the unrolled loop
# keeps the regular expression linear on long strings.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
#: An opening bracket counts +1 and a closing one -1, stored as step + 1.
_STEPS = bytes.maketrans(b"[{]}", b"\x02\x02\x00\x00")


def json_nesting(text: str | bytes) -> int:
    """How deeply a JSON text nests arrays and objects, in one linear pass without recursion.

    Invalid JSON may be over-counted (an unterminated string's brackets count),
    which only ever refuses a document the parser would refuse anyway.
    """
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    brackets = _JSON_STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    if not brackets:
        return 0
    # Running sum of (step + 1) minus the count so far = the depth after each
    # bracket; every iterator here runs in C, so a megabyte of brackets is cheap.
    depths = map(operator.sub, itertools.accumulate(brackets.translate(_STEPS)), itertools.count(1))
    deepest: int = max(depths)
    return deepest


def check_nesting(value: Any, *, limit: int = MAX_NESTING) -> str | None:
    """Why a parsed document is unsafe to walk recursively, or None.

    Iterative. Refuses nesting beyond ``limit`` and containers reached twice
    (YAML aliases: a few lines can otherwise expand to billions of nodes for
    every consumer that walks the tree).
    """
    seen: set[int] = set()
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list | tuple):
            children = node
        else:
            continue
        if id(node) in seen:
            return "it refers to the same node twice (a YAML alias); write the value out in full"
        seen.add(id(node))
        if depth > limit:
            return f"it nests more than {limit} levels deep"
        stack.extend((child, depth + 1) for child in children)
    return None


def os_error(
    exc: OSError,
    path: str | os.PathLike[str] | None,
    what: str = "file",
    error: type[InputError] = InputError,
    *,
    hint: str | None = None,
) -> InputError:
    """An input error explaining ``exc`` (from opening or reading ``path``) in plain words."""
    reason, default_hint = _REASONS.get(exc.errno or 0, (None, None))
    problem = reason.format(what=what) if reason else f"cannot read the {what}: {exc.strerror}"
    where = path if path is not None else exc.filename
    return error(problem, path=where, hint=hint or default_hint)


_REASONS: dict[int, tuple[str, str | None]] = {
    errno.ENOENT: ("{what} not found", "check the path"),
    errno.ENAMETOOLONG: (
        "cannot open the {what}: the path or one of its components is too long "
        "(most file systems allow 255 bytes per name)",
        "check the path; shorten or rename the file",
    ),
    errno.ELOOP: (
        "cannot open the {what}: too many levels of symbolic links (a link loop?)",
        "point the path at the real file",
    ),
    errno.EACCES: ("cannot read the {what}: permission denied", "make the file readable"),
    errno.EPERM: ("cannot read the {what}: operation not permitted", None),
    errno.ENOTDIR: (
        "cannot open the {what}: a component of the path is not a directory",
        "check the path",
    ),
    errno.EISDIR: ("the {what} path is a directory, not a file", "pass the file itself"),
    errno.ENXIO: ("the {what} is a socket or a device, not a regular file", None),
    errno.ENOSPC: ("no space left on the device while handling the {what}", "free some space"),
}


def _require_regular(mode: int, path: Path, what: str, error: type[InputError]) -> None:
    if stat.S_ISREG(mode):
        return
    raise error(
        f"the {what} is {_describe_type(mode)}, not a regular file",
        path=path,
        hint="pass a regular file (a FIFO, device or directory is never read)",
    )


def _describe_type(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def _require_size(size: int, path: Path, what: str, limit: int, error: type[InputError]) -> None:
    if size > limit:
        raise error(
            f"the {what} is larger than {limit} bytes, the most accepted for a {what}",
            path=path,
            hint="check that this is the right file",
        )


def _read_at_most(fd: int, limit: int) -> bytes:
    os.set_blocking(fd, True)  # a regular file never blocks; be explicit anyway
    chunks = []
    remaining = limit
    while remaining > 0:
        chunk = os.read(fd, min(remaining, _CHUNK))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)
