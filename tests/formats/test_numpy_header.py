"""The .npy header reader agrees with numpy on where data starts and what it holds."""

from __future__ import annotations

import io
import struct
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supplychain.formats.numpy import NumpyFormatError, parse_npy_header


@pytest.mark.parametrize(
    "array",
    [
        np.arange(5),
        np.ones((2, 3), dtype=">f4"),
        np.zeros((0, 4)),
        np.array("x"),
        np.zeros(3, dtype=[("a", "<i4"), ("b", "<f8")]),
    ],
)
def test_header_matches_numpy(array: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.save(buffer, array)
    data = buffer.getvalue()
    header = parse_npy_header(data)
    assert header.shape == array.shape and not header.has_object
    assert data[header.data_offset :] == array.tobytes()


def test_object_arrays_are_recognised() -> None:
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    assert parse_npy_header(buffer.getvalue()).has_object
    text = b"{'descr': [('a', '<i4'), ('o', '|O')], 'fortran_order': False, 'shape': (1,), }\n"
    structured = b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text
    assert parse_npy_header(structured).has_object


@pytest.mark.parametrize(
    "data",
    [
        b"\x93NUMPY\x09\x00\x00\x00",
        b"\x93NUMPY\x01\x00\x05\x00__import__('os')",
        b"\x93NUMPY\x01\x00\x0a\x00{'a': 1}  ",
    ],
)
def test_bad_headers_are_refused_without_evaluating_them(data: bytes) -> None:
    with pytest.raises(NumpyFormatError):
        parse_npy_header(data)


# --- the object decision agrees with numpy's own header reader -----------------------------------

CODES = ["|O", "O", "object", "O8", "i4,O", "(2,)O", "<i4", "f8", "|b1", "<U3", "S2", "i4,f8"]
CODES += ["<M8[ns]", "V8", "float32", "(2,)i4", "O,O", "x", "", "int64", "object_", " O"]
SHAPES = st.one_of(st.integers(-3, 3), st.tuples(st.integers(-3, 3)), st.just("x"))
DESCRS = st.recursive(
    st.sampled_from(CODES) | st.text("iOf48,()<|", max_size=6),
    lambda inner: st.one_of(
        st.tuples(inner, SHAPES),
        st.lists(st.tuples(st.sampled_from(["a", "b", ""]), inner), max_size=3),
        st.lists(st.tuples(st.sampled_from(["a", "b"]), inner, SHAPES), max_size=2),
        st.lists(st.lists(st.sampled_from(["a", "O", "i4"]), min_size=1, max_size=3), max_size=2),
        st.dictionaries(st.sampled_from(["aO", "bf", "ci4", "x"]), st.none(), max_size=2),
    ),
    max_leaves=5,
)


def _header_text(descr: object, shape: tuple[int, ...], long_suffix: bool, fortran: object) -> str:
    dims = "".join(f"{d}{'L' if long_suffix else ''}," for d in shape)
    return f"{{'descr': {descr!r}, 'fortran_order': {fortran!r}, 'shape': ({dims})}}"


def _npy(text: str, major: int) -> bytes:
    raw = text.encode("latin-1") + b"\n"
    length = struct.pack("<H" if major == 1 else "<I", len(raw))
    return b"\x93NUMPY" + bytes((major, 0)) + length + raw


def _numpy_says(data: bytes, major: int) -> bool | None:
    """numpy's own verdict: hasobject, or None when numpy refuses the header."""
    reader = (
        np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
    )
    stream = io.BytesIO(data[8:])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            _, _, dtype = reader(stream, max_header_size=1 << 30)
        except Exception:  # any refusal: ValueError, TypeError, IndexError, ...
            return None
    return bool(dtype.hasobject)


def _we_say(data: bytes) -> bool | None:
    try:
        return parse_npy_header(data).has_object
    except NumpyFormatError:
        return None


@settings(max_examples=200, deadline=None)
@given(
    descr=DESCRS,
    shape=st.lists(st.integers(-2, 5), max_size=3).map(tuple),
    long_suffix=st.booleans(),
    fortran=st.sampled_from([False, True, 0]),
    major=st.sampled_from([1, 2]),
)
def test_no_header_numpy_unpickles_is_taken_for_plain_data(
    descr: object, shape: tuple[int, ...], long_suffix: bool, fortran: object, major: int
) -> None:
    data = _npy(_header_text(descr, shape, long_suffix, fortran), major)
    theirs, ours = _numpy_says(data, major), _we_say(data)
    if theirs is not None:
        assert ours is not None, "numpy reads a header we call invalid"
    if theirs:
        assert ours, "numpy unpickles an array we take for plain data"


PLAIN = st.sampled_from(["<i4", ">f8", "|b1", "<U3", "|S2", "<M8[ns]", "|V4", "<c16", "|u1"])


@settings(max_examples=60, deadline=None)
@given(fields=st.lists(st.tuples(PLAIN | st.just("|O"), st.integers(1, 2)), min_size=1, max_size=3))
def test_what_np_save_writes_is_decided_exactly(fields: list[tuple[str, int]]) -> None:
    dtype = np.dtype([(f"f{i}", code, (n,)) for i, (code, n) in enumerate(fields)])
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, np.lib.format.header_data_from_array_1_0(np.zeros(2, dtype=dtype))
    )
    assert parse_npy_header(buffer.getvalue()).has_object == dtype.hasobject
