"""The dtype table: every safetensors code, torch's spellings, numpy descriptors, refusals."""

from __future__ import annotations

import pytest

from supplychain.conversion import dtypes
from supplychain.formats.safetensors import DTYPE_BITS


def test_every_code_is_known_to_the_safetensors_reader_and_ordered() -> None:
    for dtype in dtypes.BY_CODE.values():
        assert DTYPE_BITS[dtype.code] == dtype.itemsize * 8 // dtype.header_scale
        assert dtype.code in dtypes.HEADER_RANK
    assert set(dtypes.HEADER_ORDER) == set(DTYPE_BITS)


def test_torch_names_aliases_and_storages() -> None:
    assert dtypes.torch_dtype("float").code == "F32"
    assert dtypes.torch_dtype("cfloat").code == "C64"
    assert dtypes.storage_dtype("BFloat16Storage").code == "BF16"
    assert dtypes.storage_dtype("UntypedStorage").code == "U8"
    assert dtypes.storage_itemsize("ComplexDoubleStorage") == 16
    assert dtypes.torch_dtype("float8_e8m0fnu").kind == dtypes.FLOAT8


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("complex128", "no complex128"),
        ("cdouble", "no complex128"),
        ("qint8", "quantized"),
        ("bits16", "bits"),
        ("uint4", "sub-byte"),
        ("int2", "sub-byte"),
        ("nonsense", "unknown"),
    ],
)
def test_refused_torch_dtypes_say_why(name: str, reason: str) -> None:
    with pytest.raises(dtypes.DTypeRefused, match=reason):
        dtypes.torch_dtype(name)


def test_quantized_storages_are_refused() -> None:
    with pytest.raises(dtypes.DTypeRefused, match="quantized"):
        dtypes.storage_dtype("QUInt8Storage")


@pytest.mark.parametrize(
    ("descr", "code", "big"),
    [
        ("<f4", "F32", False),
        (">f8", "F64", True),
        ("|b1", "BOOL", False),
        ("|u1", "U8", False),
        (">u1", "U8", False),
        ("<c8", "C64", False),
        (">i2", "I16", True),
        ("=u8", "U64", False),
    ],
)
def test_numpy_descriptors(descr: str, code: str, big: bool) -> None:
    dtype, is_big = dtypes.numpy_dtype(descr)
    assert (dtype.code, is_big) == (code, big)


@pytest.mark.parametrize(
    ("descr", "reason"),
    [
        ("|O", "Python objects"),
        ("<c16", "complex128"),
        ("<f16", "longdouble"),
        ("|V2", "raw void"),
        ("<U4", "text"),
        ("<M8[s]", "datetimes"),
    ],
)
def test_numpy_descriptors_without_a_code(descr: str, reason: str) -> None:
    with pytest.raises(dtypes.DTypeRefused, match=reason):
        dtypes.numpy_dtype(descr)
