"""joblib pickles: the array bytes joblib writes between opcodes, and its compressed wrappers.

joblib's pickler replaces each numpy array by a ``NumpyArrayWrapper`` and, just
after the wrapper's BUILD opcode, writes the array's raw bytes (or, for object
arrays, a whole nested pickle) into the stream. A generic pickle reader
desyncs there; :func:`array_hook` lets the pickle machine step over the raw
bytes exactly as ``joblib.load`` does, and parse the nested pickle.
"""

from __future__ import annotations

import math
import re
from typing import Any

from supplychain.picklevm import Call, Global, HookContext, HookError

WRAPPER = ("joblib.numpy_pickle", "NumpyArrayWrapper")
_TYPESTR = re.compile(r"[<>|=]?([a-zA-Z])(\d*)")

#: First bytes of each compressed form joblib writes (and reads back by sniffing).
COMPRESSED_PREFIXES: dict[str, tuple[bytes, ...]] = {
    "zlib": (b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda"),
    "gzip": (b"\x1f\x8b",),
    "bz2": (b"BZh",),
    "xz": (b"\xfd7zXZ",),
    "lzma": (b"]\x00\x00",),
    "lz4": (b"\x04\x22\x4d\x18",),
}
#: joblib < 0.10 "zfile": b"ZF", a 19-character hex length, then a zlib stream.
ZFILE_PREFIX = b"ZF"


def is_wrapper(node: Any) -> bool:
    return isinstance(node, Global) and (node.module, node.name) == WRAPPER


def array_hook(call: Call, state: Any, context: HookContext) -> None:
    """Build hook: after a NumpyArrayWrapper's BUILD, consume its inline array like joblib."""
    if not is_wrapper(call.callee) or not isinstance(state, dict):
        return None
    shape = state.get("shape")
    dtype = state.get("dtype")
    if not isinstance(shape, tuple) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise HookError("joblib array wrapper has no readable shape", limit=True)
    if _has_object(dtype):
        context.parse_inline()
        return None
    itemsize = _itemsize(dtype)
    if itemsize is None:
        raise HookError("joblib array wrapper has a dtype this reader cannot size", limit=True)
    source = context.source
    if "numpy_array_alignment_bytes" in state:
        pad = source.read(1)
        if not pad:
            raise HookError("the file ends inside a joblib array")
        if source.skip(pad[0]) < pad[0]:
            raise HookError("the file ends inside a joblib array")
    nbytes = math.prod(shape) * itemsize
    if source.skip(nbytes) < nbytes:
        raise HookError("the file ends inside a joblib array")
    return None


def _dtype_args(dtype: Any) -> tuple[str, Any] | None:
    if isinstance(dtype, Call) and dtype.target is not None and dtype.target.name == "dtype":
        args = dtype.args
        if isinstance(args, tuple) and args and isinstance(args[0], str):
            state = dtype.states[-1] if dtype.states else None
            return args[0], state
    return None


def _has_object(dtype: Any) -> bool:
    parsed = _dtype_args(dtype)
    if parsed is None:
        return True  # unknown: let the object-array path parse a pickle rather than skip bytes
    typestr, state = parsed
    if typestr.lstrip("<>|=").startswith("O"):
        return True
    fields = state[4] if isinstance(state, tuple) and len(state) > 4 else None
    if isinstance(fields, dict):
        return any(_has_object(v[0]) for v in fields.values() if isinstance(v, tuple) and v)
    return False


def _itemsize(dtype: Any) -> int | None:
    parsed = _dtype_args(dtype)
    if parsed is None:
        return None
    typestr, state = parsed
    if isinstance(state, tuple) and len(state) > 5 and isinstance(state[5], int) and state[5] > 0:
        return state[5]
    match = _TYPESTR.fullmatch(typestr)
    if not match or not match.group(2):
        return None
    size = int(match.group(2))
    return size * 4 if match.group(1) == "U" else size


def zfile_payload_offset(head: bytes) -> int | None:
    """Where the zlib stream of an old joblib zfile starts, or None if ``head`` is not one."""
    if not head.startswith(ZFILE_PREFIX) or len(head) < 22:
        return None
    try:
        int(head[2:21].strip(), 16)
    except ValueError:
        return None
    return 22 if head[21:22] == b" " else 21
