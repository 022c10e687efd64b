"""GGUF metadata reader: key/values before the tensors, with refusals for broken headers."""

from __future__ import annotations

import struct

import pytest

from supplychain.formats.gguf import GgufFormatError, read_metadata
from supplychain.picklevm import Source


def _string(text: str) -> bytes:
    data = text.encode()
    return struct.pack("<Q", len(data)) + data


def _gguf(entries: list[tuple[str, int, bytes]], version: int = 3) -> bytes:
    body = b"".join(_string(k) + struct.pack("<I", t) + v for k, t, v in entries)
    return b"GGUF" + struct.pack("<IQQ", version, 7, len(entries)) + body


def test_reads_scalars_strings_and_arrays() -> None:
    data = _gguf(
        [
            ("general.architecture", 8, _string("llama")),
            ("llama.context_length", 4, struct.pack("<I", 4096)),
            ("general.quantized", 7, b"\x01"),
            ("scores", 9, struct.pack("<IQ", 6, 3) + struct.pack("<3f", 0.5, 1.0, 2.0)),
            ("tokens", 9, struct.pack("<IQ", 8, 2) + _string("a") + _string("b")),
        ]
    )
    metadata = read_metadata(Source.from_bytes(data))
    assert metadata.version == 3 and metadata.tensor_count == 7
    assert metadata.values == {
        "general.architecture": "llama",
        "llama.context_length": 4096,
        "general.quantized": True,
        "scores": [0.5, 1.0, 2.0],
        "tokens": ["a", "b"],
    }


@pytest.mark.parametrize(
    "data",
    [
        b"GGUF" + struct.pack("<IQQ", 9, 0, 0),
        _gguf([("k", 8, _string("v"))])[:-1],
        _gguf([("k", 99, b"")]),
        b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 1 << 40),
    ],
)
def test_broken_headers_are_refused(data: bytes) -> None:
    with pytest.raises(GgufFormatError):
        read_metadata(Source.from_bytes(data))
