"""A tiny protocol-2 pickle assembler and torch-zip writer for hand-made (hostile) checkpoints."""

from __future__ import annotations

import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class G:
    """GLOBAL module name."""

    module: str
    name: str


@dataclass(frozen=True)
class Call:
    """``func(*args)`` with REDUCE; ``state`` adds a BUILD."""

    func: Any
    args: tuple[Any, ...] = ()
    state: Any = None


@dataclass(frozen=True)
class Pid:
    """BINPERSID of a tuple."""

    pid: Any


@dataclass(frozen=True)
class OD:
    """``collections.OrderedDict()`` filled with SETITEMS."""

    items: tuple[tuple[Any, Any], ...]


def dumps(value: Any) -> bytes:
    return b"\x80\x02" + _emit(value) + b"."


def _emit(value: Any) -> bytes:
    if value is None:
        return b"N"
    if value is True:
        return b"\x88"
    if value is False:
        return b"\x89"
    if isinstance(value, int):
        return b"J" + struct.pack("<i", value)
    if isinstance(value, float):
        return b"G" + struct.pack(">d", value)
    if isinstance(value, str):
        data = value.encode()
        return b"X" + struct.pack("<I", len(data)) + data
    if isinstance(value, tuple):
        return b"(" + b"".join(_emit(v) for v in value) + b"t"
    if isinstance(value, list):
        return b"]" + (b"(" + b"".join(_emit(v) for v in value) + b"e" if value else b"")
    if isinstance(value, dict):
        body = b"".join(_emit(k) + _emit(v) for k, v in value.items())
        return b"}" + (b"(" + body + b"u" if value else b"")
    if isinstance(value, G):
        return b"c" + value.module.encode() + b"\n" + value.name.encode() + b"\n"
    if isinstance(value, Call):
        out = _emit(value.func) + _emit(tuple(value.args)) + b"R"
        if value.state is not None:
            out += _emit(value.state) + b"b"
        return out
    if isinstance(value, Pid):
        return _emit(value.pid) + b"Q"
    if isinstance(value, OD):
        body = b"".join(_emit(k) + _emit(v) for k, v in value.items)
        return _emit(Call(G("collections", "OrderedDict"))) + (
            b"(" + body + b"u" if value.items else b""
        )
    raise TypeError(type(value))


def tensor(
    key: str,
    numel: int,
    size: tuple[int, ...],
    stride: tuple[int, ...],
    *,
    offset: int = 0,
    storage: str = "FloatStorage",
    rebuild: G = G("torch._utils", "_rebuild_tensor_v2"),
) -> Call:
    pid = Pid(("storage", G("torch", storage), key, "cpu", numel))
    return Call(rebuild, (pid, offset, size, stride, False, Call(G("collections", "OrderedDict"))))


def open_marker(marker: Path) -> Call:
    """``builtins.open(marker, 'w')``: loading it creates the marker file."""
    return Call(G("builtins", "open"), (str(marker), "w"))


def torch_zip(
    path: Path,
    pickle: bytes,
    records: dict[str, bytes],
    *,
    prefix: str = "archive",
    byteorder: str | None = "little",
) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{prefix}/data.pkl", pickle)
        if byteorder is not None:
            archive.writestr(f"{prefix}/byteorder", byteorder)
        for key, data in records.items():
            archive.writestr(f"{prefix}/data/{key}", data)
        archive.writestr(f"{prefix}/version", "3\n")
    return path


def floats(*values: float) -> bytes:
    return struct.pack(f"<{len(values)}f", *values)
