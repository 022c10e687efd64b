"""numpy ``.npy`` headers read without numpy: dtype, shape, where the data (or pickle) starts.

The reading follows ``numpy.lib.format._read_array_header`` step by step, because what matters
is what ``np.load(allow_pickle=True)`` does with a hostile file: it accepts any header length
(``max_header_size`` is ignored with allow_pickle), Python 2 ``1L`` integers, negative shapes,
and every dtype string ``numpy.dtype`` understands ('object', 'i4,O', '(2,)O', ...). Whether
the dtype holds objects is decided conservatively: only descriptions known to be plain data
are plain; anything else is read as the pickle numpy would unpickle.
"""

from __future__ import annotations

import ast
import io
import re
import struct
import tokenize
from dataclasses import dataclass
from typing import Any

from supplychain.errors import InputError

MAGIC = b"\x93NUMPY"
#: The largest header read. numpy reads any length when allow_pickle=True (its own 10,000-byte
#: limit applies only without it), so a longer header is "could not scan", never "invalid".
MAX_HEADER = 1 << 20
#: Header length field and text encoding per format version (numpy's ``_header_size_info``).
_VERSIONS = {(1, 0): ("<H", "latin-1"), (2, 0): ("<I", "latin-1"), (3, 0): ("<I", "utf-8")}
_KEYS = {"descr", "fortran_order", "shape"}
#: Nesting deeper than this in a dtype description is treated as holding objects.
_MAX_DESCR_DEPTH = 32
#: dtype strings that are plain data for certain (as ``np.save`` writes them, plus type names).
_PLAIN_CODE = re.compile(
    r"[<>|=]?(?:[?bBhHiIlLqQnNpPefdgFDG]|[biufcSUVa]\d+|[SUVa]|[Mm]8(?:\[\d*[A-Za-z]+\])?)"
)
_PLAIN_NAMES = frozenset(
    {"bool", "float16", "float32", "float64", "complex64", "complex128", "bytes", "str"}
    | {f"{s}int{n}" for s in ("", "u") for n in (8, 16, 32, 64)}
)


class NumpyFormatError(InputError):
    """A file that claims to be ``.npy`` breaks the format's rules (numpy refuses it too)."""


class NpyHeaderTooLarge(NumpyFormatError):
    """The header is longer than we read: numpy would still load it, so it is unscanned."""


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
        return descr_has_object(self.descr)


def descr_has_object(descr: Any, depth: int = 0) -> bool:
    """Whether ``numpy.lib.format.descr_to_dtype(descr).hasobject`` could be true.

    False only when the description is certainly plain data; a description numpy would refuse
    may come out True (that costs a pickle read, never a missed payload).
    """
    if depth > _MAX_DESCR_DEPTH:
        return True
    if isinstance(descr, str):
        return not (_PLAIN_CODE.fullmatch(descr) or descr in _PLAIN_NAMES)
    if isinstance(descr, tuple):
        # (base, shape): numpy builds dtype((base, descr[1])); a non-shape second part is a
        # (base, new dtype) union, whose second dtype could hold objects
        return len(descr) < 2 or descr_has_object(descr[0], depth + 1) or not _is_shape(descr[1])
    if isinstance(descr, (list, dict, set, frozenset)):
        # numpy iterates any other description as fields: (name, descr[, shape])
        return any(_field_has_object(field, depth + 1) for field in descr)
    return True


def _field_has_object(field: Any, depth: int) -> bool:
    if not isinstance(field, (str, bytes, tuple, list, dict, set, frozenset)):
        return True
    parts = list(field)  # numpy unpacks the field, so any sequence (even a str) will do
    if len(parts) not in (2, 3):
        return True
    return descr_has_object(parts[1], depth) or (len(parts) == 3 and not _is_shape(parts[2]))


def _is_shape(value: Any) -> bool:
    if isinstance(value, int):
        return True
    return isinstance(value, tuple) and all(isinstance(d, int) for d in value)


def header_span(head: bytes) -> tuple[tuple[int, int], int, int]:
    """The version, where the header text starts and how long it is (from the first 12 bytes)."""
    if not head.startswith(MAGIC) or len(head) < 10:
        raise NumpyFormatError("not an .npy file (bad magic)")
    version = (head[6], head[7])
    if version not in _VERSIONS:
        raise NumpyFormatError(f".npy version {version[0]}.{version[1]} is unknown")
    length_type = _VERSIONS[version][0]
    start = 6 + 2 + struct.calcsize(length_type)
    if len(head) < start:
        raise NumpyFormatError(".npy header length is cut off")
    (length,) = struct.unpack(length_type, head[8:start])
    if length > MAX_HEADER:
        raise NpyHeaderTooLarge(
            f".npy header of {length} bytes is longer than the {MAX_HEADER} read "
            "(np.load with allow_pickle=True still reads it)"
        )
    return version, start, length


def parse_npy_header(head: bytes) -> NpyHeader:
    """Parse the header at the start of ``head`` (which must contain all of it)."""
    version, start, length = header_span(head)
    if start + length > len(head):
        raise NumpyFormatError(f".npy header of {length} bytes is cut off")
    try:
        text = head[start : start + length].decode(_VERSIONS[version][1])
    except UnicodeDecodeError:
        raise NumpyFormatError(".npy header is not UTF-8") from None
    header = _literal(text, version)
    if not isinstance(header, dict) or set(header) != _KEYS:
        raise NumpyFormatError(".npy header must have exactly descr, fortran_order and shape")
    shape = header["shape"]
    if not isinstance(shape, tuple) or not all(isinstance(d, int) for d in shape):
        raise NumpyFormatError(f".npy shape {shape!r} is invalid")
    if not isinstance(header["fortran_order"], bool):
        raise NumpyFormatError(f".npy fortran_order {header['fortran_order']!r} is not a bool")
    return NpyHeader(version, header["descr"], header["fortran_order"], shape, start + length)


def _literal(text: str, version: tuple[int, int]) -> Any:
    """The header's Python literal, as numpy reads it (literal_eval evaluates no code)."""
    try:
        return ast.literal_eval(text)
    except SyntaxError:
        if version > (2, 0):
            raise NumpyFormatError(".npy header is not a Python literal") from None
    except (ValueError, TypeError, MemoryError, RecursionError):
        raise NumpyFormatError(".npy header is not a Python literal") from None
    try:
        # numpy retries versions 1.0 and 2.0 without Python 2's long suffix ('1L')
        return ast.literal_eval(_filter_header(text))
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError, tokenize.TokenError):
        raise NumpyFormatError(".npy header is not a Python literal") from None


def _filter_header(text: str) -> str:
    """numpy's ``_filter_header``: drop an ``L`` token that follows a number."""
    tokens = []
    after_number = False
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if not (after_number and token.type == tokenize.NAME and token.string == "L"):
            tokens.append(token)
        after_number = token.type == tokenize.NUMBER
    return tokenize.untokenize(tokens)
