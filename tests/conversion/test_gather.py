"""Gathering tensor bytes: straight copies, strided gathers, byte order, conj, neg; raw bits."""

from __future__ import annotations

import numpy as np
import pytest

from supplychain.conversion import gather
from supplychain.conversion.dtypes import BY_CODE
from supplychain.conversion.storage import Bytes
from supplychain.conversion.tree import TensorView


def gathered(
    storage: bytes,
    code: str,
    offset: int,
    shape: tuple[int, ...],
    stride: tuple[int, ...],
    **flags: bool,
) -> bytes:
    view = TensorView("0", BY_CODE[code], offset, shape, stride, **flags)
    return b"".join(
        bytes(c) for c in gather.chunks(view, Bytes.of_bytes("s", storage), gather.BufferRing())
    )


def test_a_plain_view_is_its_byte_range() -> None:
    data = bytes(range(64))
    assert gathered(data, "F32", 2, (3, 2), (2, 1)) == data[8:32]
    assert gathered(data, "U8", 5, (1, 1, 4), (9, 9, 1)) == data[5:9]  # size-1 dims: any stride


def test_strided_views_match_numpy() -> None:
    values = np.arange(60, dtype="<i4")
    data = values.tobytes()
    assert gathered(data, "I32", 0, (5, 12), (1, 5)) == values[:60].reshape(12, 5).T.tobytes()
    assert gathered(data, "I32", 3, (4,), (7,)) == values[3::7][:4].tobytes()
    assert gathered(data, "I32", 9, (2, 3), (0, 1)) == np.tile(values[9:12], 2).tobytes()


def test_big_endian_values_are_swapped_per_component() -> None:
    values = np.array([1.5, -2.25, 3.0], dtype=">f8")
    assert (
        gathered(values.tobytes(), "F64", 0, (3,), (1,), big_endian=True)
        == values.astype("<f8").tobytes()
    )
    pairs = np.array([1 + 2j, -3 - 4j], dtype=">c8")  # two big-endian float32 halves each
    assert (
        gathered(pairs.tobytes(), "C64", 0, (2,), (1,), big_endian=True)
        == pairs.astype("<c8").tobytes()
    )
    one_byte = bytes([1, 2, 3])
    assert gathered(one_byte, "U8", 0, (3,), (1,), big_endian=True) == one_byte


def test_conj_flips_only_the_imaginary_sign_bit() -> None:
    values = np.array([1 + 2j, -3 + 0j, 0 - 0j], dtype="<c8")
    got = np.frombuffer(gathered(values.tobytes(), "C64", 0, (3,), (1,), conj=True), "<u4")
    want = values.view("<u4").copy()
    want[1::2] ^= 0x80000000
    assert got.tolist() == want.tolist()


def test_neg_is_bit_exact_for_floats_ints_and_bfloat16_bits() -> None:
    floats = np.array([1.0, -0.0, np.inf, np.nan], dtype="<f4")
    got = np.frombuffer(gathered(floats.tobytes(), "F32", 0, (4,), (1,), neg=True), "<u4")
    assert got.tolist() == (floats.view("<u4") ^ 0x80000000).tolist()
    ints = np.array([1, -5, -(2**31)], dtype="<i4")
    got_ints = np.frombuffer(gathered(ints.tobytes(), "I32", 0, (3,), (1,), neg=True), "<i4")
    assert got_ints.tolist() == [-1, 5, -(2**31)]  # wraps like torch
    bf16 = np.array([0x3FC0, 0xBF80], dtype="<u2")  # 1.5, -1.0 as bfloat16 bits
    got_bf16 = np.frombuffer(gathered(bf16.tobytes(), "BF16", 0, (2,), (1,), neg=True), "<u2")
    assert got_bf16.tolist() == [0xBFC0, 0x3F80]


def test_large_gathers_are_cut_into_bounded_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gather, "CHUNK", 1000)
    values = np.arange(40 * 30, dtype="<u2")
    view = TensorView("0", BY_CODE["U16"], 0, (30, 40), (1, 30))
    chunks = [
        bytes(c)
        for c in gather.chunks(view, Bytes.of_bytes("s", values.tobytes()), gather.BufferRing())
    ]
    assert all(len(c) <= 1000 for c in chunks) and len(chunks) > 1
    assert b"".join(chunks) == values.reshape(40, 30).T.tobytes()
    row = TensorView("0", BY_CODE["U16"], 0, (1200,), (1,), big_endian=True)
    pieces = list(gather.chunks(row, Bytes.of_bytes("s", values.tobytes()), gather.BufferRing()))
    assert all(len(p) <= 1000 for p in pieces)
    assert b"".join(bytes(p) for p in pieces) == values.byteswap().tobytes()
