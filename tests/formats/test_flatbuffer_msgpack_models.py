"""ExecuTorch ``.pte`` (FlatBuffer ``ET12``) and Flax msgpack checkpoints, by structure."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supplychain.formats import executorch, flax
from supplychain.formats.sniff import Format, sniff, sniff_bytes
from supplychain.scanning import scan_file
from supplychain.scanning.results import Severity

PAYLOAD = b"\x80\x04\x8c\x05posix\x8c\x06system\x93\x8c\x02id\x85R."


def pte(identifier: bytes = b"ET12", root: int = 32) -> bytes:
    """A FlatBuffer prefix as flatc writes it, then ExecuTorch's extended header."""
    return struct.pack("<I", root) + identifier + b"eh00" + bytes(52)


def _key(text: str) -> bytes:
    data = text.encode()
    return bytes([0xA0 | len(data)]) + data


def _ndarray_leaf(payload: bytes) -> bytes:
    return b"\xc7" + bytes([len(payload)]) + b"\x01" + payload  # ext8, Flax code 1


def flax_checkpoint() -> bytes:
    """What msgpack_serialize writes for {"params": {"Dense_0": {"bias": ..., "kernel": ...}}}."""
    leaf = _ndarray_leaf(b"\x93\xc4\x02\x02\x03\xa3<f4\xc4\x18" + bytes(24))
    dense = b"\x82" + _key("bias") + leaf + _key("kernel") + leaf
    return b"\x81" + _key("params") + b"\x81" + _key("Dense_0") + dense


SAMPLES = {
    "model.pte": (pte(), Format.EXECUTORCH),
    "old.pte": (pte(b"ET09"), Format.EXECUTORCH),
    "flax_model.msgpack": (flax_checkpoint(), Format.FLAX_MSGPACK),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_identified_and_clean(tmp_path: Path, name: str) -> None:
    data, expected = SAMPLES[name]
    path = tmp_path / name
    path.write_bytes(data)
    assert sniff(path) is expected
    result = scan_file(path)
    assert result.format == expected.value
    assert result.clean and not result.findings


CONFUSABLES = {
    "root past the end": pte(root=1 << 20),
    "misaligned root": pte(root=33),
    "not ET digits": pte(b"ETxx"),
    "msgpack list leaf": b"\x81" + _key("params") + b"\x92\x01\x02",
    "msgpack other ext": b"\x81" + _key("params") + b"\xd4\x05\x00",
    "int keys": b"\x81\x01" + _ndarray_leaf(b"\x00"),
    "empty map": b"\x80",
}


@pytest.mark.parametrize("name", sorted(CONFUSABLES))
def test_near_misses_are_not_claimed(name: str) -> None:
    data = CONFUSABLES[name]
    assert sniff_bytes(data, len(data)) not in (Format.EXECUTORCH, Format.FLAX_MSGPACK)


def test_a_pickle_carrying_et12_at_offset_4_is_still_a_pickle(tmp_path: Path) -> None:
    path = tmp_path / "model.pte"
    path.write_bytes(b"\x80\x04\x8c\x04ET120" + PAYLOAD + bytes(64))
    result = scan_file(path)
    assert result.format == Format.PICKLE.value
    assert result.max_severity is not None and result.max_severity >= Severity.HIGH


def test_deep_maps_stop_at_the_depth_cap() -> None:
    deep = (b"\x81" + _key("a")) * (flax.MAX_DEPTH + 5) + _ndarray_leaf(b"\x00")
    assert not flax.is_checkpoint(deep)
    shallow = (b"\x81" + _key("a")) * 4 + _ndarray_leaf(b"\x00")
    assert flax.is_checkpoint(shallow)


@settings(max_examples=100, deadline=None)
@given(
    prefix=st.sampled_from([flax_checkpoint()[:12], b"\x81", b"\xde\x00\x02", pte()[:8], b""]),
    body=st.binary(max_size=300),
)
def test_fuzz_identifiers_never_crash(prefix: bytes, body: bytes) -> None:
    head = prefix + body
    assert flax.is_checkpoint(head) in (True, False)
    assert executorch.is_program(head, len(head)) in (True, False)
    assert isinstance(sniff_bytes(head, len(head)), Format)


@pytest.mark.parametrize(
    "prefix",
    [
        flax_checkpoint(),
        pte(),
        b"tjgg" + struct.pack("<I", 3) + bytes(28),
        struct.pack("<ii", 793712314, 12) + bytes(24),
    ],
    ids=["flax", "executorch", "ggml", "fasttext"],
)
def test_a_zip_behind_a_data_format_is_still_read(tmp_path: Path, prefix: bytes) -> None:
    import io
    import zipfile

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("archive/data.pkl", PAYLOAD)
    path = tmp_path / "flax_model.msgpack"
    path.write_bytes(prefix + archive.getvalue())
    assert sniff(path) is Format.TORCH_ZIP
    result = scan_file(path)
    assert result.max_severity is not None and result.max_severity >= Severity.HIGH
