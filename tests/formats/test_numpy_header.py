"""The .npy header reader agrees with numpy on where data starts and what it holds."""

from __future__ import annotations

import io

import numpy as np
import pytest

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
