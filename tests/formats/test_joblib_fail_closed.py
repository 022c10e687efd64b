"""joblib files where the scanner once stepped over bytes that joblib.load runs as a pickle.

Each case is first proved against real ``joblib.load``, run in a subprocess on a
file built here whose payload only prints a marker (``builtins.print``); then
``scan`` must report the file at high or above.
"""

from __future__ import annotations

import lzma
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from supplychain.formats.joblib import COMPRESSED_PREFIXES
from supplychain.formats.sniff import Format, sniff_bytes
from supplychain.scanning import scan, scan_file
from supplychain.severity import Severity

MARKER = "joblib-fail-closed-marker"


def _u(text: str) -> bytes:
    """SHORT_BINUNICODE."""
    data = text.encode()
    return b"\x8c" + bytes([len(data)]) + data


def _call_print() -> bytes:
    """GLOBAL builtins.print applied to the marker, no PROTO and no STOP."""
    return b"cbuiltins\nprint\n" + _u(MARKER) + b"\x85R"


def _pickle() -> bytes:
    return b"\x80\x02" + _call_print() + b"."


def _dtype(typestr: str, state: bytes = b"") -> bytes:
    """numpy.dtype(typestr, False, True), then BUILD ``state`` (opcodes pushing a tuple)."""
    call = _u("numpy") + _u("dtype") + b"\x93" + _u(typestr) + b"\x89\x88\x87R"
    return call + (state + b"b" if state else b"")


def _state(
    typestr: str = "|",
    subarray: bytes = b"N",
    fields: bytes = b"NN",
    elsize: int = -1,
    flags: int = 0,
) -> bytes:
    """(3, byteorder, subarray, names, fields, elsize, alignment, flags), as numpy writes it."""
    elsize_op = b"J" + struct.pack("<i", elsize)
    tail = b"K\x08K" + bytes([flags]) + b"t"  # alignment 8
    return b"(K\x03" + _u(typestr) + subarray + fields + elsize_op + tail


def _wrapper(dtype: bytes, shape: int, extra: bytes = b"") -> bytes:
    """Protocol 4 up to and including a NumpyArrayWrapper's BUILD (its array bytes come next)."""
    return (
        b"\x80\x04"
        + _u("joblib.numpy_pickle")
        + _u("NumpyArrayWrapper")
        + b"\x93)\x81}("
        + _u("subclass")
        + _u("numpy")
        + _u("ndarray")
        + b"\x93"
        + _u("shape")
        + b"J"
        + struct.pack("<i", shape)
        + b"\x85"
        + _u("order")
        + _u("C")
        + _u("dtype")
        + dtype
        + _u("allow_mmap")
        + b"\x89"
        + extra
        + b"ub"
    )


def _joblib_prints_marker(path: Path) -> bool:
    """Real joblib.load, in a child process, on a file whose only effect is a print.

    Unbuffered (``-u``): some crafted dtypes crash numpy after the print has run.
    """
    run = subprocess.run(
        [sys.executable, "-u", "-c", "import joblib, sys; joblib.load(sys.argv[1])", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=path.parent,
    )
    return MARKER in run.stdout


def _severity(path: Path) -> Severity:
    severity = scan(path).max_severity
    assert severity is not None, f"{path.name} scanned clean"
    return severity


# --- item 7: an LZMA-alone stream joblib recognises by its first two bytes -----------------


@pytest.mark.parametrize("dict_size", [4096, 65536, 1 << 20])
def test_lzma_alone_with_any_dictionary_is_sniffed_and_scanned(
    tmp_path: Path, dict_size: int
) -> None:
    filters = [{"id": lzma.FILTER_LZMA1, "dict_size": dict_size}]
    blob = lzma.compress(_pickle(), format=lzma.FORMAT_ALONE, filters=filters)
    assert blob.startswith(COMPRESSED_PREFIXES["lzma"])
    path = tmp_path / "model.joblib"
    path.write_bytes(blob)
    assert sniff_bytes(blob[:64], len(blob)) is Format.LZMA
    if dict_size == 4096:  # 5d 00 10 00 00: the header the old three-byte check refused
        assert blob[:5] == b"]\x00\x10\x00\x00"
        assert _joblib_prints_marker(path)
    assert _severity(path).rank >= Severity.HIGH.rank


def test_lzma_alone_with_an_odd_dictionary_size_is_scanned(tmp_path: Path) -> None:
    blob = bytearray(lzma.compress(_pickle(), format=lzma.FORMAT_ALONE))
    blob[1:5] = struct.pack("<I", 0x00180000)  # 2**20 + 2**19: a size liblzma accepts
    path = tmp_path / "model.joblib"
    path.write_bytes(bytes(blob))
    assert _joblib_prints_marker(path)
    assert _severity(path).rank >= Severity.HIGH.rank


# --- item 8: dtypes numpy marks hasobject, however the pickle spells them --------------------


def _field(name: str, dtype: bytes) -> bytes:
    return _u(name) + dtype + b"K\x00\x86"


OBJECT_DTYPES = {
    "typestr 'object'": _dtype("object", _state(elsize=8, flags=63)),
    "'O8' as numpy writes it": _dtype("O8", _state(elsize=8, flags=63)),
    "'O8' with no state": _dtype("O8"),
    "comma string 'f8,O'": _dtype("f8,O"),
    "subarray string '(2,)O'": _dtype("(2,)O"),
    "structured void with an object field": _dtype(
        "V16",
        _state(
            fields=_u("a")
            + b"\x85}"
            + _field("a", _dtype("O8", _state(elsize=8, flags=63)))
            + b"s",
            elsize=16,
            flags=63,
        ),
    ),
    "void subarray of objects": _dtype(
        "V16", _state(subarray=_dtype("O8") + b"K\x02\x85\x86", elsize=16, flags=63)
    ),
}


def _aligned_inline() -> bytes:
    """An inline pickle a whole number of 8-byte items long, so skipping it as data lands on STOP.

    It names ``builtins`` through memo slot 0, which the outer stream fills with ``()``:
    a reader that took the inline bytes for outer opcodes dies before the import.
    """
    for pad in range(8):
        inline = (
            b"\x80\x04"
            + _u("builtins")
            + b"\x940h\x00"
            + _u("print")
            + b"\x93"
            + _u(MARKER + " " * pad)
            + b"\x85R."
        )
        if len(inline) % 8 == 0:
            return inline
    raise AssertionError("no padding gives a multiple of 8")


@pytest.mark.parametrize("name", list(OBJECT_DTYPES))
def test_object_dtype_spellings_have_their_inline_pickle_scanned(tmp_path: Path, name: str) -> None:
    inline = _aligned_inline()
    wrapper = _wrapper(OBJECT_DTYPES[name], shape=len(inline) // 8)
    stream = b"\x80\x04)\x940" + wrapper[2:] + inline + b"."
    path = tmp_path / "model.joblib"
    path.write_bytes(stream)
    assert _joblib_prints_marker(path)
    assert _severity(path).rank >= Severity.HIGH.rank


def test_state_itemsize_is_ignored_for_fixed_size_types(tmp_path: Path) -> None:
    # numpy sizes 'f8' at 8 whatever elsize the state claims; skipping elsize bytes hid the payload
    payload = _call_print() + b"0"
    dtype = _dtype("f8", _state("<", elsize=8 + len(payload)))
    path = tmp_path / "model.joblib"
    path.write_bytes(_wrapper(dtype, shape=1) + b"\x00" * 8 + payload + b"N.")
    assert _joblib_prints_marker(path)
    assert _severity(path).rank >= Severity.HIGH.rank


def test_a_slot_state_pair_still_steps_over_the_array(tmp_path: Path) -> None:
    # BUILD (None, {...}) sets the same attributes through setattr; joblib still reads the array
    dict_build = _wrapper(_dtype("f8", _state("<", elsize=8)), shape=1)
    pair_build = dict_build.replace(b"\x93)\x81}(", b"\x93)\x81N}(", 1)[:-2] + b"u\x86b"
    path = tmp_path / "model.joblib"
    path.write_bytes(pair_build + b"\x00" * 8 + _call_print() + b".")
    assert _joblib_prints_marker(path)
    assert _severity(path).rank >= Severity.HIGH.rank


# --- item 9: numpy_array_alignment_bytes=None means no padding byte --------------------------


def test_alignment_none_reads_no_padding_byte(tmp_path: Path) -> None:
    payload = _call_print() + b"0"
    # read as a padding length, this first array byte made the scanner skip the payload
    array = bytes([len(payload) - 1]) + b"\x00" * 7
    extra = _u("numpy_array_alignment_bytes") + b"N"
    stream = (
        _wrapper(_dtype("f8", _state("<", elsize=8)), shape=1, extra=extra)
        + array
        + payload
        + b"N."
    )
    path = tmp_path / "model.joblib"
    path.write_bytes(stream)
    assert _joblib_prints_marker(path)
    assert _severity(path).rank >= Severity.HIGH.rank


def test_alignment_bytes_set_still_reads_the_padding(tmp_path: Path) -> None:
    extra = _u("numpy_array_alignment_bytes") + b"K\x10"
    pad = b"\x03\xff\xff\xff"
    stream = (
        _wrapper(_dtype("f8", _state("<", elsize=8)), shape=1, extra=extra)
        + pad
        + b"\x00" * 8
        + b"."
    )
    path = tmp_path / "model.joblib"
    path.write_bytes(stream)
    result = scan_file(path)
    assert result.clean, result.findings


# --- item 10: joblib < 0.10 wrappers load a file the pickle names -----------------------------


def _ndarray_wrapper(filename: str, cls: str = "NDArrayWrapper") -> bytes:
    return (
        b"\x80\x04"
        + _u("joblib.numpy_pickle_compat")
        + _u(cls)
        + b"\x93)\x81}("
        + _u("filename")
        + _u(filename)
        + _u("subclass")
        + _u("numpy")
        + _u("ndarray")
        + b"\x93"
        + _u("allow_mmap")
        + b"\x89ub."
    )


@pytest.mark.parametrize("filename", [".git/arr.npy", "../outside.npy", "arr.npy"])
def test_ndarray_wrapper_is_reported_wherever_its_file_lives(tmp_path: Path, filename: str) -> None:
    model = tmp_path / "sub" / "model"
    (model / ".git").mkdir(parents=True)
    (model / "model.joblib").write_bytes(_ndarray_wrapper(filename))
    (model / filename).write_bytes(
        _pickle()
    )  # np.load(allow_pickle=True) falls back to pickle.load
    if filename == ".git/arr.npy":  # the directory walk skips .git, so only the wrapper shows it
        assert _joblib_prints_marker(model / "model.joblib")
    assert _severity(model).rank >= Severity.HIGH.rank
    assert _severity(model / "model.joblib").rank >= Severity.HIGH.rank


@pytest.mark.parametrize("module", ["joblib.numpy_pickle_compat", "joblib.numpy_pickle"])
@pytest.mark.parametrize("cls", ["NDArrayWrapper", "ZNDArrayWrapper"])
def test_every_spelling_of_the_old_wrappers_is_at_least_high(
    tmp_path: Path, module: str, cls: str
) -> None:
    stream = _ndarray_wrapper("arr.npy", cls).replace(_u("joblib.numpy_pickle_compat"), _u(module))
    path = tmp_path / "model.joblib"
    path.write_bytes(stream)
    result = scan_file(path)
    assert any(f.severity.rank >= Severity.HIGH.rank and cls in f.message for f in result.findings)


# --- the dtype reader agrees with numpy on every dtype numpy itself pickles -------------------

NUMPY_DTYPES = [
    "?", "b", "B", "h", "H", "i", "I", "l", "L", "q", "Q", "e", "f", "d", "g", "F", "D", "G",
    "<i8", ">u2", "c8", "M8[ns]", "m8[s]", "S7", "U3", "V12", "O",
    "f8,O", "i4,f8", "(2,3)f4", "(2,)O", [("a", "O"), ("b", "f8")], [("a", "f8", (3,))],
    [("a", [("b", "O")])], [("a", [("b", "i2")])],
]  # fmt: skip


@pytest.mark.parametrize("spec", NUMPY_DTYPES, ids=str)
def test_dtype_object_and_itemsize_agree_with_numpy(spec: object) -> None:
    # numpy builds and pickles the dtype; the reader only parses those bytes (no unpickling)
    import pickle

    import numpy as np

    from supplychain.formats import joblib as reader
    from supplychain.picklevm import parse

    dtype = np.dtype(spec)  # type: ignore[call-overload]
    value = parse(pickle.dumps(dtype, protocol=2)).value
    assert reader._has_object(value) == dtype.hasobject
    if not dtype.hasobject:
        assert reader._itemsize(value) == dtype.itemsize
