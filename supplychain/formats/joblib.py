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
#: numpy.dtype's typestr: an optional byte order, one type character, an optional size.
_TYPESTR = re.compile(r"[<>|=]?([a-zA-Z?])(\d*)")
_DTYPE_GLOBALS = {
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "dtype"),
    ("numpy._core.multiarray", "dtype"),
}
_MAX_DTYPE_DEPTH = 16
_FLEXIBLE_KINDS = frozenset("SUVa")
#: Type characters numpy sizes without a count (``np.dtype(c).itemsize`` on 64-bit Linux).
_FIXED_SIZES: dict[str, int] = {
    "?": 1,
    "b": 1,
    "B": 1,
    "h": 2,
    "H": 2,
    "i": 4,
    "I": 4,
    "l": 8,
    "L": 8,
    "q": 8,
    "Q": 8,
    "p": 8,
    "P": 8,
    "e": 2,
    "f": 4,
    "d": 8,
    "g": 16,
    "F": 8,
    "D": 16,
    "G": 32,
    "M": 8,
    "m": 8,
}
#: Kind characters with an explicit size, and the sizes numpy accepts for them.
_SIZED_KINDS: dict[str, tuple[int, ...]] = {
    "b": (1,),
    "i": (1, 2, 4, 8),
    "u": (1, 2, 4, 8),
    "f": (2, 4, 8, 16),
    "c": (8, 16, 32),
    "M": (8,),
    "m": (8,),
}
#: Kinds whose arrays hold no Python objects (everything but 'O').
_PLAIN_KINDS = frozenset(_FIXED_SIZES) | frozenset(_SIZED_KINDS) | _FLEXIBLE_KINDS

#: First bytes of each compressed form joblib writes (and reads back by sniffing).
COMPRESSED_PREFIXES: dict[str, tuple[bytes, ...]] = {
    "zlib": (b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda"),
    "gzip": (b"\x1f\x8b",),
    "bz2": (b"BZh",),
    "xz": (b"\xfd7zXZ",),
    "lzma": (b"]\x00",),
    "lz4": (b"\x04\x22\x4d\x18",),
}
#: joblib < 0.10 "zfile": b"ZF", a 19-character hex length, then a zlib stream.
ZFILE_PREFIX = b"ZF"


def is_wrapper(node: Any) -> bool:
    return isinstance(node, Global) and (node.module, node.name) == WRAPPER


def array_hook(call: Call, state: Any, context: HookContext) -> None:
    """Build hook: after a NumpyArrayWrapper's BUILD, consume its inline array like joblib."""
    if not is_wrapper(call.callee):
        return None
    attributes = _build_attributes(state)
    shape = attributes.get("shape")
    dtype = attributes.get("dtype")
    if not isinstance(shape, tuple) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise HookError("joblib array wrapper has no readable shape", limit=True)
    if _has_object(dtype):
        context.parse_inline()
        return None
    itemsize = _itemsize(dtype)
    if itemsize is None:
        raise HookError("joblib array wrapper has a dtype this reader cannot size", limit=True)
    source = context.source
    # joblib reads the padding byte only when getattr(wrapper, "numpy_array_alignment_bytes", None)
    # is not None: an explicit None means no padding byte at all.
    if attributes.get("numpy_array_alignment_bytes") is not None:
        pad = source.read(1)
        if not pad:
            raise HookError("the file ends inside a joblib array")
        if source.skip(pad[0]) < pad[0]:
            raise HookError("the file ends inside a joblib array")
    nbytes = math.prod(shape) * itemsize
    if source.skip(nbytes) < nbytes:
        raise HookError("the file ends inside a joblib array")
    return None


def _build_attributes(state: Any) -> dict[Any, Any]:
    """The attributes BUILD gives the wrapper: a dict, or pickle's (dict, slot-dict) pair."""
    if isinstance(state, dict):
        return state
    if isinstance(state, tuple) and len(state) == 2:
        merged: dict[Any, Any] = {}
        for part in state:
            if isinstance(part, dict):
                merged.update(part)
            elif part is not None:
                raise HookError(
                    "joblib array wrapper has a state this reader cannot follow", limit=True
                )
        return merged
    raise HookError("joblib array wrapper has a state this reader cannot follow", limit=True)


def _dtype_parts(dtype: Any) -> tuple[str, tuple[Any, ...] | None] | None:
    """``numpy.dtype(typestr, ...)`` with at most one BUILD state numpy 1.x/2.x reads alike.

    None when the dtype is spelled any other way (a type object, a list, a comma string
    parses later) or its state is not the version 3/4 tuple numpy writes.
    """
    if not isinstance(dtype, Call) or dtype.target is None:
        return None
    if (dtype.target.module, dtype.target.name) not in _DTYPE_GLOBALS:
        return None
    args = dtype.args
    if not (isinstance(args, tuple) and args and isinstance(args[0], str)) or len(dtype.states) > 1:
        return None
    if dtype.setitems or dtype.appends or dtype.additems:
        return None
    if not dtype.states:
        return args[0], None
    state = dtype.states[0]
    if not isinstance(state, tuple) or (len(state), state[0]) not in {(8, 3), (9, 4)}:
        return None
    return args[0], state


def _has_object(dtype: Any, depth: int = 0) -> bool:
    """``dtype.hasobject`` as numpy decides it; True when this reader cannot tell (fail closed)."""
    parsed = _dtype_parts(dtype)
    if parsed is None or depth > _MAX_DTYPE_DEPTH:
        return True
    typestr, state = parsed
    match = _TYPESTR.fullmatch(typestr)
    if match is None:
        return True  # 'object', 'f8,O', '(2,)O', ...: spellings this reader does not size
    kind = match.group(1)
    if kind not in _PLAIN_KINDS:
        return True
    if state is None:
        return False
    subarray, names, fields = state[2], state[3], state[4]
    if kind != "V":
        # numpy ignores fields and subarray on non-void dtypes; anything there is not numpy's own
        return subarray is not None or names is not None or fields is not None
    if subarray is not None:
        if not (isinstance(subarray, tuple) and len(subarray) == 2):
            return True
        if _has_object(subarray[0], depth + 1):
            return True
    if fields is None:
        return names is not None
    if not isinstance(fields, dict):
        return True
    return any(
        not (isinstance(v, tuple) and v) or _has_object(v[0], depth + 1) for v in fields.values()
    )


def _itemsize(dtype: Any) -> int | None:
    """``dtype.itemsize`` as numpy computes it for a non-object dtype, or None."""
    parsed = _dtype_parts(dtype)
    if parsed is None:
        return None
    typestr, state = parsed
    match = _TYPESTR.fullmatch(typestr)
    if match is None:
        return None
    kind, digits = match.group(1), match.group(2)
    if kind in _FLEXIBLE_KINDS:
        if not digits or int(digits) == 0:
            return None  # numpy sizes an unsized flexible dtype 0 whatever the state says
        if state is not None:
            elsize = state[5]
            return elsize if isinstance(elsize, int) and elsize >= 0 else None
        return int(digits) * (4 if kind == "U" else 1)
    size = _FIXED_SIZES.get(typestr.lstrip("<>|=")) if not digits else None
    if size is not None:
        return size
    if digits and int(digits) in _SIZED_KINDS.get(kind, ()):
        return int(digits)
    return None


def zfile_payload_offset(head: bytes) -> int | None:
    """Where the zlib stream of an old joblib zfile starts, or None if ``head`` is not one."""
    if not head.startswith(ZFILE_PREFIX) or len(head) < 22:
        return None
    try:
        int(head[2:21].strip(), 16)
    except ValueError:
        return None
    return 22 if head[21:22] == b" " else 21
