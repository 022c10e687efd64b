"""``supplychain scan`` on files a loader unpickles from byte 0, whatever they look like.

The reference is CPython: its C and pure-Python unpicklers with a ``find_class``
that returns recording stubs (nothing real is imported or called).
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import pickle
import pickletools
import struct
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supplychain.formats.sniff import Format
from supplychain.picklevm import Global, Outcome, map_python2_name, parse
from supplychain.scanning import builtin_policy, scan_file
from supplychain.scanning.results import Severity
from tests.conftest import RunCli

PAYLOAD = b"\x8c\x05posix\x8c\x06system\x93\x8c\x02id\x85R."


def _tflite_polyglot() -> bytes:
    # A plausible FlatBuffer root offset (0x4d28) made of opcodes: MARK, BININT2 00 00; then
    # "TFL3" reads as BINSTRING whose length ("FL3\0") skips 3.4 MB to the payload.
    skip = int.from_bytes(b"FL3\x00", "little")
    return b"(M\x00\x00TFL3\x00" + bytes(skip) + b"001" + PAYLOAD


def _zip_after_a_pickle() -> bytes:
    # torch.load reads a file that does not start with PK\x03\x04 as a legacy pickle
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps({}, protocol=2))
    return b"\x88" + b"0" + PAYLOAD + archive.getvalue()


ATTACKS = {
    "short-binunicode.pkl": PAYLOAD,
    "frame-no-proto.bin": b"\x95" + struct.pack("<Q", len(PAYLOAD)) + PAYLOAD,
    "tfl3-at-offset-4.tflite": b"\x80\x04\x8c\x04TFL30" + PAYLOAD,
    "legacy-path.pt": b"\x88" + b"0" + PAYLOAD,
    "tflite-polyglot.tflite": _tflite_polyglot(),
    "zip-after-pickle.pt": _zip_after_a_pickle(),
    "gguf-polyglot.gguf": b"GGUF\x03\x00\x00\x00\x00" + b"0" + PAYLOAD,
    "text-named.txt": b"cposix\nsystem\n(S'id'\ntR.",
}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_a_pickle_from_byte_0_is_caught(run_cli: RunCli, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(ATTACKS[name])
    assert _cpython_calls(ATTACKS[name]) == [("posix", "system")]  # what a loader would run
    result = run_cli("scan", "--json", path)
    assert result.exit_code == 1, result
    (report,) = json.loads(result.stdout)["files"]
    assert report["max_severity"] == "critical", report
    assert any(f["symbol"] == "posix.system" for f in report["findings"]), report


def test_a_polyglot_keeps_its_identity_and_is_also_a_pickle(tmp_path: Path) -> None:
    path = tmp_path / "model.tflite"
    path.write_bytes(_tflite_polyglot())
    result = scan_file(path)
    assert result.format == Format.TFLITE.value and result.pickles >= 1
    rules = {f.rule for f in result.findings}
    assert {"file.loads-as-pickle", "pickle.gadget"} <= rules


def test_a_pickle_inside_gzip_without_proto_is_caught(tmp_path: Path) -> None:
    path = tmp_path / "weights.bin.gz"
    path.write_bytes(gzip.compress(b"\x95" + struct.pack("<Q", len(PAYLOAD)) + PAYLOAD))
    result = scan_file(path)
    assert result.max_severity is Severity.CRITICAL, result


def test_a_plain_data_pickle_without_proto_is_a_clean_pickle(
    run_cli: RunCli, tmp_path: Path
) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(pickle.dumps({"a": [1, 2.0, "x"]}, protocol=1))
    result = run_cli("scan", "--json", path)
    assert result.exit_code == 0, result
    (report,) = json.loads(result.stdout)["files"]
    assert report["format"] == "pickle" and report["findings"] == []


BENIGN = {
    "requirements.txt": b"click\nnumpy\ntorch>=2.0\n",
    "words.txt": b"cat\ndog\nmouse\n",
    "README.md": b"---\nlicense: mit\n---\n# Model\n",
    "LICENSE": b"MIT License\n\nCopyright (c) 2024\n",
    "CMakeLists.txt": b"cmake_minimum_required(VERSION 3.10)\nproject(x)\n",
    "version.txt": b"Version: 1.0\ncolorama\nrequests\n",
    "notes.txt": b"Copyright 2024 The Authors. All rights reserved.\n" * 40,
    "vocab.txt": b"[PAD]\n[UNK]\nthe\n",
    "config.json": json.dumps({"architectures": ["Bert"], "vocab_size": 30522}).encode(),
    "image.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(40),
    "flax_model.msgpack": b"\x82\xa6params\x81\xa1w\xc4\x04\x00\x00\x80?\xa4meta\xc0",
    "tokenizer.model": b"\n\x0b\n\x05<unk>\x15\x00\x00\x00\x00\x18\x02",
    # FLOAT lines every unpickler rejects, then R (REDUCE): a mail header
    "USAGE": b"From rms@gnu.org Thu Jul 22 1999\nFlags: 10\nReturn-Path: rms@gnu.org\n",
    # a long run of FLOAT lines: valid opcodes through the first 4 KiB, never a pickle
    "symbols.txt": b"FUNC:_ZNKSt11logic_error4whatEv@@GLIBCXX_3.4\n" * 300 + b"OBJECT:x\n",
}


def test_text_config_and_other_binaries_are_not_false_alarms(
    run_cli: RunCli, tmp_path: Path
) -> None:
    model = tmp_path / "model"
    model.mkdir()
    for name, data in BENIGN.items():
        (model / name).write_bytes(data)
    result = run_cli("scan", "--json", model)
    assert result.exit_code == 0, result
    report = json.loads(result.stdout)
    assert all(f["findings"] == [] for f in report["files"]), report


# -- differential: our scan against CPython's two unpicklers -------------------------------------

_POLICY = builtin_policy()


class _Made:
    """What a stub returns when called: an inert object that accepts BUILD state."""


def _stub(record: list[tuple[str, str]], module: str, name: str) -> type:
    def new(cls: type, *args: object, **kwargs: object) -> _Made:
        record.append((module, name))
        return _Made()

    return type("Stub", (), {"__new__": new})


def _run(unpickler: type[pickle.Unpickler], data: bytes) -> tuple[list, list]:
    asked: list[tuple[str, str]] = []
    called: list[tuple[str, str]] = []

    class Recording(unpickler):  # type: ignore[misc, valid-type]
        def find_class(self, module: str, name: str) -> type:
            asked.append((module, name))
            return _stub(called, module, name)

    with contextlib.suppress(Exception):
        Recording(io.BytesIO(data)).load()
    return asked, called


def _cpython_calls(data: bytes) -> list[tuple[str, str]]:
    return _run(pickle.Unpickler, data)[1]


def _unsafe(module: str, name: str) -> bool:
    """Importable and not on our safe list, however Python-2 mapping spells it."""
    if not all(p.isidentifier() for p in f"{module}.{name}".split(".")):
        return False
    spellings = {(module, name), map_python2_name(module, name, 2)}
    return all(
        _POLICY.grade(Global(m, n, offset=0, opcode="GLOBAL")).severity.rank >= Severity.HIGH.rank
        for m, n in spellings
    )


_TOKENS = [
    PAYLOAD,
    PAYLOAD[:-3],  # the import, no call
    b"cposix\nsystem\n(S'id'\ntR.",
    b"cposix\nsystem\n",
    b"(cposix\nsystem\nS'id'\no.",
    b"(S'id'\niposix\nsystem\n.",
    b"cmypkg\nThing\n)R.",
    b"ccollections\nOrderedDict\n)R.",
    b"\x8c\x05posix\x8c\x06system\x93",
    b"S'id'\n",
    b"(",
    b")",
    b"R",
    b"\x85",
    b"t",
    b"0",
    b"1",
    b".",
    b"\x95\x10\x00\x00\x00\x00\x00\x00\x00",
]


def _with_argument(op: pickletools.OpcodeInfo) -> st.SearchStrategy[bytes]:
    """The opcode byte followed by an argument of the shape it reads (random content)."""
    code = op.code.encode("latin-1")
    arg = op.arg
    if arg is None:
        return st.just(code)
    if arg.n >= 0:
        return st.binary(min_size=arg.n, max_size=arg.n).map(lambda b: code + b)
    if arg.n == pickletools.UP_TO_NEWLINE:
        line = st.one_of(
            st.from_regex(rb"[0-9A-Za-z_.']{0,8}", fullmatch=True), st.binary(max_size=6)
        )
        return line.map(lambda b: code + b.replace(b"\n", b"") + b"\n")
    width = {
        pickletools.TAKEN_FROM_ARGUMENT1: 1,
        pickletools.TAKEN_FROM_ARGUMENT4: 4,
        pickletools.TAKEN_FROM_ARGUMENT4U: 4,
        pickletools.TAKEN_FROM_ARGUMENT8U: 8,
    }[arg.n]
    return st.binary(max_size=6).map(lambda b: code + len(b).to_bytes(width, "little") + b)


_FIRST = st.sampled_from(pickletools.opcodes).flatmap(_with_argument)
_CHUNKS = st.lists(st.one_of(st.sampled_from(_TOKENS), st.binary(max_size=4)), max_size=4)


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(first=_FIRST, chunks=_CHUNKS)
def test_whatever_cpython_would_run_is_reported_high(
    tmp_path: Path, first: bytes, chunks: list[bytes]
) -> None:
    """Random streams that start with each opcode (and its argument), then payload fragments."""
    data = first + b"".join(chunks)
    path = tmp_path / "sample"
    path.write_bytes(data)
    result = scan_file(path)
    worst = result.max_severity.rank if result.max_severity else -1
    for unpickler in (pickle.Unpickler, pickle._Unpickler):  # type: ignore[attr-defined]
        asked, called = _run(unpickler, data)
        if unpickler is not pickle.Unpickler and _frame_past_the_end(data):
            continue
        if any(_unsafe(m, n) for m, n in called):
            assert worst >= Severity.HIGH.rank, (unpickler, data, result)
        # an import alone (no call) in content that is text is graded by what it imports
        text = result.format == Format.TEXT.value
        if unpickler is pickle.Unpickler and not text and any(_unsafe(m, n) for m, n in asked):
            assert worst >= Severity.HIGH.rank, (data, asked, result)


def _frame_past_the_end(data: bytes) -> bool:
    """A FRAME longer than the data: the C unpickler raises, ``pickle._Unpickler`` reads on.

    The pickle machine follows C here; following the pure-Python reading too is the
    machine's part of issue 15 (item 1), not identification's.
    """
    result = parse(data)
    return (
        result.outcome is Outcome.TRUNCATED
        and result.error is not None
        and (result.error.opcode == "FRAME")
    )


def test_a_payload_in_a_second_stacked_pickle_behind_a_magic_is_caught(tmp_path: Path) -> None:
    # a loader calling pickle.load twice (as torch's legacy reader does) runs the second one
    path = tmp_path / "model.gguf"
    path.write_bytes(b"GGUF\x03\x00\x00\x00\x00." + PAYLOAD)
    result = scan_file(path)
    assert result.format == Format.GGUF.value and result.max_severity is Severity.CRITICAL


def test_a_zip_is_not_read_as_a_pickle(tmp_path: Path) -> None:
    # PERSID at byte 0: pickle.load raises (no persistent_load), torch.load reads the zip
    archive = tmp_path / "archive.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("notes.txt", "cbuiltins\nLinear\n)\x81.")
    assert scan_file(archive).findings == ()


def test_text_longer_than_the_probe_is_read_to_where_a_loader_raises(tmp_path: Path) -> None:
    # 120,000 FLOAT lines: more opcodes than the probe's bound, then an invalid opcode
    path = tmp_path / "symbols.txt"
    path.write_bytes(b"FUNC:x\n" * 120_000 + b"OBJECT:y\n")
    result = scan_file(path)
    assert (result.format, result.findings) == (Format.TEXT.value, ())
