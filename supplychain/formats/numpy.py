"""numpy ``.npy`` headers read without numpy: dtype, shape, where the data (or pickle) starts."""

from __future__ import annotations

import ast
import struct
from dataclasses import dataclass
from typing import Any

from supplychain.errors import InputError

MAGIC = b"\x93NUMPY"
#: numpy refuses headers larger than this unless told otherwise.
MAX_HEADER = 10_000


class NumpyFormatError(InputError):
    """A file that claims to be ``.npy`` breaks the format's rules."""


@dataclass(frozen=True)
class NpyHeader:
    version: tuple[int, int]
    descr: Any
    fortran_order: bool
    shape: tuple[int, ...]
    #: Offset of the array data: raw elements, or a pickle when ``has_object``.
    data_offset: int

    @property
    def has_object(self) -> bool:
        """Object arrays are stored as a pickle (``np.load`` needs allow_pickle=True)."""
        return _descr_has_object(self.descr)


def _descr_has_object(descr: Any) -> bool:
    if isinstance(descr, str):
        return descr.lstrip("<>|=").startswith("O")
    if isinstance(descr, list):
        return any(isinstance(f, tuple) and len(f) >= 2 and _descr_has_object(f[1]) for f in descr)
    return True  # an unknown description: treat it as the dangerous case


def parse_npy_header(head: bytes) -> NpyHeader:
    """Parse the header at the start of ``head`` (which must contain all of it)."""
    if not head.startswith(MAGIC) or len(head) < 10:
        raise NumpyFormatError("not an .npy file (bad magic)")
    major, minor = head[6], head[7]
    if major == 1:
        (length,) = struct.unpack("<H", head[8:10])
        start = 10
    elif major in (2, 3):
        (length,) = struct.unpack("<I", head[8:12])
        start = 12
    else:
        raise NumpyFormatError(f".npy version {major}.{minor} is unknown")
    if length > MAX_HEADER or start + length > len(head):
        raise NumpyFormatError(f".npy header of {length} bytes is larger than numpy accepts")
    raw = head[start : start + length]
    try:
        text = raw.decode("utf-8" if major == 3 else "latin-1")
        # a Python literal, as numpy itself reads it (literal_eval evaluates no code)
        header = ast.literal_eval(text)
    except (UnicodeDecodeError, ValueError, SyntaxError, MemoryError, RecursionError):
        raise NumpyFormatError(".npy header is not a Python literal") from None
    if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
        raise NumpyFormatError(".npy header must have exactly descr, fortran_order and shape")
    shape = header["shape"]
    if not isinstance(shape, tuple) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise NumpyFormatError(f".npy shape {shape!r} is invalid")
    return NpyHeader(
        (major, minor), header["descr"], bool(header["fortran_order"]), shape, start + length
    )
