"""Where the pickle machine and CPython could part ways, a payload after the prefix is still found.

Each prefix is something one CPython unpickler accepts (the tests first prove
it with recording stubs: the ``posix.system`` call after it is reached), then
``scan`` must report the file at high or above, as a raw pickle and through
the same VM behind gzip and a numpy object array.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import pytest

from supplychain.scanning import pickles, scan_file
from supplychain.scanning.report import RULES
from supplychain.severity import Severity
from tests.picklevm.unpickler_stubs import loader_reaches

PAYLOAD = b"cposix\nsystem\n(S'echo pwned'\ntR"
_BYTEARRAY = b"\x96\x01\x00\x00\x00\x00\x00\x00\x00a"

#: Prefixes the machine once refused (medium "invalid stream", exit 0) while a loader went on.
PREFIXES = {
    "BUILD (None, {}) on a list": b"]N}\x86b0",
    "BUILD (None, {}) on an int": b"K\x05N}\x86b0",
    "BUILD (None, {}) on a str": b"X\x01\x00\x00\x00aN}\x86b0",
    "BUILD {} on a list (pickle._Unpickler only)": b"]}b0",
    "SETITEM on a list": b"]K\x01aK\x00K\x02s0",
    "SETITEMS on a list": b"]K\x01a(K\x00K\x02u0",
    "APPEND on a bytearray": _BYTEARRAY + b"K\x41a0",
    "APPENDS on a bytearray": _BYTEARRAY + b"(K\x41K\x42e0",
    "SETITEM on a bytearray": _BYTEARRAY + b"K\x00K\x41s0",
    "REDUCE with list arguments (pickle._Unpickler only)": b"cbuiltins\nlist\n]R0",
    "NEWOBJ with list arguments (pickle._Unpickler only)": b"cbuiltins\nlist\n]\x810",
    "SETITEM past a list's end (cannot be followed)": b"]K\x05K\x02s0",
    # _pickle parses text numbers as C strings: a NUL ends them (pickle._Unpickler raises)
    "PUT with a NUL after its index (_pickle only)": b"Np0\x00x\n0",
    "GET with a NUL after its index (_pickle only)": b"Np0\n0g0\x00x\n0",
    "LONG with a NUL inside (_pickle only)": b"L5\x00zz\n0",
}


def _stream(prefix: bytes) -> bytes:
    return b"\x80\x02" + prefix + PAYLOAD + b"."


def _severity(path: Path) -> Severity:
    severity = scan_file(path).max_severity
    assert severity is not None
    return severity


@pytest.mark.parametrize("name", [n for n in PREFIXES if "cannot be followed" not in n])
def test_a_loader_runs_the_payload_after_each_prefix(name: str) -> None:
    assert "posix.system" in loader_reaches(_stream(PREFIXES[name]))


@pytest.mark.parametrize("name", list(PREFIXES))
def test_the_payload_after_each_prefix_is_reported(tmp_path: Path, name: str) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(_stream(PREFIXES[name]))
    assert _severity(path).rank >= Severity.HIGH.rank
    symbols = {f.symbol for f in scan_file(path).findings}
    assert "posix.system" in symbols


@pytest.mark.parametrize(
    "name", ["SETITEM on a list", "SETITEM past a list's end (cannot be followed)"]
)
def test_the_payload_is_reported_behind_gzip(tmp_path: Path, name: str) -> None:
    path = tmp_path / "model.pkl.gz"
    path.write_bytes(gzip.compress(_stream(PREFIXES[name])))
    assert _severity(path).rank >= Severity.HIGH.rank


def test_the_payload_is_reported_in_a_numpy_object_array(tmp_path: Path) -> None:
    header = b"{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    path = tmp_path / "array.npy"
    path.write_bytes(
        b"\x93NUMPY\x01\x00"
        + struct.pack("<H", len(header))
        + header
        + _stream(PREFIXES["APPEND on a bytearray"])
    )
    assert _severity(path).rank >= Severity.HIGH.rank


def test_an_over_long_final_frame_is_read_as_pickle_unpickler_reads_it(tmp_path: Path) -> None:
    # _pickle raises on the short frame; pickle._Unpickler (joblib.load) runs what is there
    body = b"\x8c\x05posix\x8c\x06system\x93\x8c\x0aecho pwned\x85R."
    data = b"\x80\x04\x95" + struct.pack("<Q", len(body) + 100) + body
    assert "posix.system" in loader_reaches(data)
    path = tmp_path / "model.pkl"
    path.write_bytes(data)
    result = scan_file(path)
    assert result.max_severity is Severity.CRITICAL
    assert any(f.rule == "pickle.gadget" and f.symbol == "posix.system" for f in result.findings)


def test_inst_on_a_last_line_without_newline_is_a_call(tmp_path: Path) -> None:
    # pickle._Unpickler reads "system" from "systemX" (readline()[:-1]) and calls it
    data = b"\x80\x01(S'echo pwned'\nios\nsystemX"
    assert "os.system" in loader_reaches(data)
    path = tmp_path / "model.pkl"
    path.write_bytes(data)
    assert _severity(path) is Severity.CRITICAL


def test_inst_imports_before_it_looks_for_its_mark(tmp_path: Path) -> None:
    data = b"\x80\x01ievilpkg\nrun\n."
    assert "evilpkg.run" in loader_reaches(data)
    path = tmp_path / "model.pkl"
    path.write_bytes(data)
    assert _severity(path).rank >= Severity.HIGH.rank


def test_code_after_a_point_where_both_unpicklers_raise_stays_medium(tmp_path: Path) -> None:
    data = _stream(b"]\xff")  # 0xff is no opcode: every loader raises there
    assert loader_reaches(data) == []
    path = tmp_path / "model.pkl"
    path.write_bytes(data)
    result = scan_file(path)
    assert result.max_severity is Severity.MEDIUM
    after = [f for f in result.findings if f.rule == "pickle.code-after-error"]
    assert after and after[0].symbol == "posix.system"


def test_the_cli_fails_on_a_prefix_it_once_passed(run_cli, tmp_path: Path) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(_stream(PREFIXES["BUILD (None, {}) on a list"]))
    result = run_cli("scan", "--json", path)
    assert result.exit_code == 1, result
    assert "posix.system" in result.stdout


def test_every_pickle_rule_is_in_the_sarif_catalogue() -> None:
    rules = {value for name, value in vars(pickles).items() if name.startswith("RULE_")}
    assert rules - {pickles.RULE_SAFE} <= set(RULES)


def test_a_point_the_machine_cannot_follow_with_nothing_after_it_is_medium(tmp_path: Path) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(b"\x80\x02]K\x05K\x02s0N.")  # an index past the end, then only data
    result = scan_file(path)
    assert result.max_severity is Severity.MEDIUM
    assert [f.rule for f in result.findings] == ["pickle.cannot-follow"]


def test_a_pickle_without_proto_whose_payload_follows_an_uncertain_stop_is_sniffed(
    tmp_path: Path,
) -> None:
    # No PROTO, so only the byte-0 probe makes this a pickle; the machine stops at the
    # out-of-range SETITEM (earlier code could have grown the list), a loader may go on.
    data = b"]K\x05K\x02s0cposix\nsystem\n(S'true'\ntR."
    path = tmp_path / "weights.bin"
    path.write_bytes(data)
    result = scan_file(path)
    assert result.format == "pickle"
    assert result.max_severity.rank >= Severity.HIGH.rank
    assert any(f.symbol == "posix.system" for f in result.findings)


def test_an_embedded_pickle_whose_payload_follows_an_uncertain_stop_is_reported(
    tmp_path: Path,
) -> None:
    inner = b"\x80\x02]K\x05K\x02s0cposix\nsystem\n(S'true'\ntR."
    path = tmp_path / "model.pkl"
    path.write_bytes(b"\x80\x03C" + bytes([len(inner)]) + inner + b".")
    result = scan_file(path)
    embedded = [f for f in result.findings if f.rule == "pickle.embedded-pickle"]
    assert embedded and embedded[0].severity.rank >= Severity.HIGH.rank, result.findings


#: Protocol-0 literals _pickle reads up to their NUL (both unpicklers reject the whole line).
NUL_LITERALS = {"FLOAT": b"(F1.5\x00zz\n", "INT": b"(I5\x00zz\n", "LONG": b"(L5\x00zz\n"}


@pytest.mark.parametrize("name", list(NUL_LITERALS))
def test_a_file_without_proto_whose_literal_a_nul_ends_is_a_pickle(
    tmp_path: Path, name: str
) -> None:
    data = NUL_LITERALS[name] + PAYLOAD + b"t."
    assert "posix.system" in loader_reaches(data)
    path = tmp_path / "weights.bin"
    path.write_bytes(data)
    result = scan_file(path)
    assert result.format == "pickle"
    assert _severity(path).rank >= Severity.HIGH.rank
    assert any(f.symbol == "posix.system" for f in result.findings)


def _line_cut_by_the_head(head: int = 4096) -> bytes:
    """No PROTO; a GET line runs across byte ``head``: cut there, it reads as GET 100 (no slot)."""
    start = b"Np1000\n"
    filler = head - 5 - len(start) - 5  # BINBYTES header, then 'g1000' ends the head
    return (
        start
        + b"B"
        + struct.pack("<I", filler)
        + b"\x00" * filler
        + b"g1000\n"
        + b"00"
        + PAYLOAD
        + b"."
    )


def test_a_line_cut_by_the_first_4096_bytes_is_read_to_its_end(tmp_path: Path) -> None:
    data = _line_cut_by_the_head()
    assert data[4091:4097] == b"g1000\n"
    assert "posix.system" in loader_reaches(data)
    path = tmp_path / "weights.bin"
    path.write_bytes(data)
    result = scan_file(path)
    assert result.format == "pickle"
    assert _severity(path).rank >= Severity.HIGH.rank
    assert any(f.symbol == "posix.system" for f in result.findings)


def test_a_payload_past_the_first_4096_bytes_after_an_uncertain_stop_is_read(
    tmp_path: Path,
) -> None:
    # as above: the machine stops where earlier code could have let a loader go on (so a
    # scanner must assume it does); here what follows lies past the probed first bytes
    filler = b"B" + struct.pack("<I", 5000) + b"\x00" * 5000 + b"0"
    data = b"]K\x05K\x02s0" + filler + PAYLOAD + b"."
    path = tmp_path / "weights.bin"
    path.write_bytes(data)
    result = scan_file(path)
    assert result.format == "pickle"
    assert any(f.symbol == "posix.system" for f in result.findings)
    assert _severity(path).rank >= Severity.HIGH.rank
