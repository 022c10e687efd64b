"""Planning: tied-weight choice, header bytes (sorted, compact, padded), storage coverage."""

from __future__ import annotations

import json
import struct

import pytest

from supplychain.conversion.dtypes import BY_CODE
from supplychain.conversion.errors import UnsupportedContentError
from supplychain.conversion.plan import plan, storage_use
from supplychain.conversion.select import Exported
from supplychain.conversion.tree import TensorView


def view(
    storage: str = "0",
    code: str = "F32",
    offset: int = 0,
    shape: tuple[int, ...] = (4,),
    stride: tuple[int, ...] = (1,),
    **flags: bool,
) -> TensorView:
    return TensorView(storage, BY_CODE[code], offset, shape, stride, **flags)


def exported(name: str, tensor: TensorView) -> Exported:
    return Exported(name, tensor, (name,))


def header(raw: bytes) -> tuple[int, dict]:
    (length,) = struct.unpack("<Q", raw[:8])
    return length, json.loads(raw[8 : 8 + length])


def test_identical_views_keep_the_first_sorted_name() -> None:
    shared = view()
    result = plan(
        [
            exported("lm_head.weight", shared),
            exported("embed.weight", shared),
            exported("z", view()),
        ],
        {"0": 16},
    )
    assert [t.name for t in result.tensors] == ["embed.weight"]
    assert {a.name: a.kept for a in result.aliases} == {
        "lm_head.weight": "embed.weight",
        "z": "embed.weight",
    }
    assert list(result.metadata) == sorted(result.metadata)
    assert result.metadata == {
        "format": "pt",
        "lm_head.weight": "embed.weight",
        "z": "embed.weight",
    }


def test_overlapping_but_different_views_are_not_aliases() -> None:
    result = plan(
        [
            exported("all", view(shape=(4,))),
            exported("head", view(shape=(2,))),
            exported("t", view(shape=(2, 2), stride=(1, 2))),
        ],
        {"0": 16},
    )
    assert sorted(t.name for t in result.tensors) == ["all", "head", "t"]
    assert not result.aliases


def test_header_is_compact_padded_and_ordered_by_dtype_rank_then_utf8_name() -> None:
    result = plan(
        [
            exported("b", view("1", "U8", shape=(3,))),
            exported("é", view("0")),
            exported("z", view("2", "U64", shape=(1,))),
            exported("a", view("3")),
        ],
        {"0": 16, "1": 3, "2": 8, "3": 16},
    )
    length, document = header(result.header)
    assert length % 8 == 0 and len(result.header) == 8 + length
    raw = result.header[8:].rstrip(b" ")
    assert b", " not in raw and b": " not in raw and "é".encode() in raw
    assert list(document) == ["__metadata__", "z", "a", "é", "b"]
    assert document["z"]["data_offsets"] == [0, 8]
    assert document["a"]["data_offsets"] == [8, 24]
    assert document["b"]["data_offsets"] == [40, 43]
    assert result.size == len(result.header) + 43


def test_float4_header_counts_values() -> None:
    result = plan([exported("x", view(code="F4", shape=(2, 3), stride=(3, 1)))], {"0": 6})
    _, document = header(result.header)
    assert document["x"] == {"dtype": "F4", "shape": [2, 6], "data_offsets": [0, 6]}


@pytest.mark.parametrize(
    ("tensor", "message"),
    [
        (view(code="F4", shape=(), stride=()), "scalar float4"),
        (view(code="F32", conj=True), "conjugate bit"),
        (view(code="F8_E4M3", neg=True), "lazily negated"),
    ],
)
def test_unwritable_views_are_refused(tensor: TensorView, message: str) -> None:
    with pytest.raises(UnsupportedContentError, match=message):
        plan([exported("x", tensor)], {"0": 64})


def test_an_alias_named_format_is_refused() -> None:
    shared = view()
    with pytest.raises(UnsupportedContentError, match="reserved metadata key"):
        plan([exported("a", shared), exported("format", shared)], {"0": 16})


def test_storage_use_counts_bytes_no_tensor_covers() -> None:
    # 100 floats, a slice of 10 and a strided view of every 4th of the first 40
    use = storage_use(
        [view(offset=10, shape=(10,)), view(shape=(10,), stride=(4,))], {"0": 400, "optimizer": 64}
    )
    covered = {10 + i for i in range(10)} | {4 * i for i in range(10)}
    assert use.unreferenced_bytes == 400 - len(covered) * 4
    assert use.unexported_bytes == 64 and not use.approximate


def test_transposed_and_expanded_views_cover_their_extent() -> None:
    use = storage_use(
        [view(shape=(3, 2), stride=(1, 3)), view("1", shape=(5, 5), stride=(0, 0))],
        {"0": 24, "1": 4},
    )
    assert use.unreferenced_bytes == 0
