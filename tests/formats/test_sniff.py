"""Identification by content: a pickle is a pickle from byte 0 whatever it looks like.

The reference for "is a pickle" is CPython's own unpickler with a ``find_class``
that returns recording stubs (nothing real is ever imported or called).
"""

from __future__ import annotations

import contextlib
import io
import json
import pickle
import struct
from pathlib import Path

import pytest

from supplychain.formats.sniff import (
    LEGACY_TORCH_MAGIC,
    Format,
    probe_pickle,
    sniff,
    sniff_bytes,
)

PAYLOAD = b"\x8c\x05posix\x8c\x06system\x93\x8c\x02id\x85R."


def sniffed(data: bytes) -> Format:
    return sniff_bytes(data[:4096], len(data))


def cpython_imports(data: bytes) -> list[tuple[str, str]]:
    """Every name CPython's C unpickler asks ``find_class`` for before it stops."""
    asked: list[tuple[str, str]] = []

    class Recording(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> object:
            asked.append((module, name))
            return type("Stub", (), {})

    with contextlib.suppress(Exception):
        Recording(io.BytesIO(data)).load()
    return asked


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(PAYLOAD, id="short-binunicode"),
        pytest.param(b"\x95" + struct.pack("<Q", len(PAYLOAD)) + PAYLOAD, id="frame-no-proto"),
        pytest.param(b"(cposix\nsystem\nS'id'\no.", id="mark"),
        pytest.param(b"}\x94" + PAYLOAD, id="empty-dict"),
        pytest.param(b"cposix\nsystem\n(S'id'\ntR.", id="global"),
        pytest.param(b"\x88" + b"0" + PAYLOAD, id="newtrue-pop"),
        pytest.param(b"K\x010" + PAYLOAD, id="binint1-pop"),
        pytest.param(b"\x80\x04\x8c\x04TFL30" + PAYLOAD, id="tfl3-at-offset-4"),
        pytest.param(pickle.dumps({"w": [1.0] * 2000}, protocol=1), id="protocol-1-large"),
        pytest.param(pickle.dumps(["a", 1, None], protocol=0), id="protocol-0-data"),
    ],
)
def test_pickles_without_proto_are_pickles(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "weights"
    path.write_bytes(data)
    assert sniff(path) is Format.PICKLE  # the rest of the file decides when 4 KiB do not


def test_the_payloads_are_what_cpython_runs() -> None:
    # the reference: each attack above makes CPython ask for posix.system
    assert cpython_imports(PAYLOAD) == [("posix", "system")]
    assert cpython_imports(b"\x80\x04\x8c\x04TFL30" + PAYLOAD) == [("posix", "system")]


def test_a_real_tflite_header_stays_tflite() -> None:
    # FlatBuffer root offset 0x1c, file identifier "TFL3"
    data = struct.pack("<I", 0x1C) + b"TFL3" + bytes(200)
    assert sniffed(data) is Format.TFLITE


def test_tfl3_with_an_impossible_root_offset_is_not_tflite() -> None:
    data = b"\xff\xff\xff\x7fTFL3" + bytes(200)
    assert sniffed(data) is not Format.TFLITE


@pytest.mark.parametrize(
    "first",
    [
        pytest.param(
            b"\x80\x02\x8a\x0a" + LEGACY_TORCH_MAGIC.to_bytes(10, "little") + b".", id="torch"
        ),
        pytest.param(b"\x8a\x0a" + LEGACY_TORCH_MAGIC.to_bytes(10, "little") + b".", id="no-proto"),
        pytest.param(b"L%dL\n." % LEGACY_TORCH_MAGIC, id="protocol-0-long"),
    ],
)
def test_legacy_torch_is_known_by_its_unpickled_magic(first: bytes) -> None:
    # torch.load compares the unpickled value, so every spelling of the number counts
    assert sniffed(first + pickle.dumps(1001, protocol=2)) is Format.TORCH_LEGACY


REQUIREMENTS = b"click\nnumpy\ntorch>=2.0\n"
TEXTS = {
    "requirements": REQUIREMENTS,
    "readme": b"---\nlicense: mit\n---\n# A model\n\nUse it well.\n",
    "license": b"MIT License\n\nCopyright (c) 2024 Someone\n",
    "copyright": b"Copyright 2024 The Authors. All rights reserved.\n" * 3,
    "cmake": b"cmake_minimum_required(VERSION 3.10)\nproject(foo)\n",
    "vocab": b"[PAD]\n[UNK]\n[CLS]\nthe\nof\n",
    "merges": b"#version: 0.2\nt h\nth e\n",
    "word-list": b"cat\ndog\nmouse\n",
    "shell": b"cd build\nmake -j4\n",
    "python": b"import os\nprint(os.getcwd())\n",
    "numbers": b"1 2 3\n4 5 6\n",
    "notes": b"Notes on the run.\nSee the log.\n",
    "version": b"Version: 1.0\n",
}


@pytest.mark.parametrize("name", sorted(TEXTS))
def test_text_is_not_a_pickle(name: str) -> None:
    assert sniffed(TEXTS[name]) in (Format.TEXT, Format.JSON)


@pytest.mark.parametrize(
    "document",
    [{"architectures": ["Bert"], "hidden_size": 768}, [1, 2, 3], {"chat_template": "{{ x }}"}],
)
def test_json_is_json(document: object) -> None:
    assert sniffed(json.dumps(document).encode()) is Format.JSON


@pytest.mark.parametrize(
    "data",
    [
        PAYLOAD,
        b"cposix\nsystem\n",
        b"click\nnumpy\n",
        b"cmake_minimum_required(VERSION 3.10)\nproject(foo)\n",
        b"N.",
        b"\x93NUMPY",
        b"\x89HDF\r\n\x1a\n",
        b"GGUF\x03\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00",
        b"S'a'\ncos\nsystem\n",
        b"(\x8c\x02os\x8c\x06system\x93\x8c\x02id\x85R.",
        b"\x82\x01)R.",
        b"V\xff\n",
    ],
)
def test_the_probe_imports_what_cpython_imports(data: bytes) -> None:
    """The probe imports exactly when CPython asks ``find_class`` for an importable name."""
    expected = any(
        all(part.isidentifier() for part in f"{m}.{n}".split(".")) for m, n in cpython_imports(data)
    )
    assert probe_pickle(data).imports is expected


def _v7_header(name: bytes = b"storages", checksum_delta: int = 0) -> bytes:
    """A pre-POSIX tar header: no ``ustar`` magic at 257, only a valid checksum."""
    block = bytearray(512)
    block[: len(name)] = name
    block[100:108] = b"0000644\0"
    block[124:136] = b"00000000000\0"
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\0 " % (sum(block) + checksum_delta)
    return bytes(block)


def test_a_tar_without_ustar_magic_is_a_tar_as_tarfile_says() -> None:
    import tarfile

    head = _v7_header() + bytes(1024)
    with tarfile.open(fileobj=io.BytesIO(head), mode="r:") as archive:
        assert archive.getnames() == ["storages"]
    assert sniff_bytes(head, len(head)) is Format.TAR


def test_a_block_with_a_wrong_tar_checksum_is_not_a_tar() -> None:
    head = _v7_header(checksum_delta=1) + bytes(1024)
    assert sniff_bytes(head, len(head)) is not Format.TAR
