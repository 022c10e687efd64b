"""Scanning .npy/.npz: every header np.load(allow_pickle=True) unpickles is read as a pickle."""

from __future__ import annotations

import pickle
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

from supplychain.formats.numpy import MAX_HEADER
from supplychain.scanning import Severity, Status, scan_file

OBJ = "{'descr': '|O', 'fortran_order': False, 'shape': (1,)}"
#: Header variants numpy accepts (and then unpickles the data) that the scanner once missed.
VARIANTS: dict[str, tuple[str, tuple[int, int], int]] = {
    "descr 'object'": (OBJ.replace("'|O'", "'object'"), (1, 0), 0),
    "descr 'i4,O'": (OBJ.replace("'|O'", "'i4,O'"), (1, 0), 0),
    "descr '(2,)O'": (OBJ.replace("'|O'", "'(2,)O'"), (1, 0), 0),
    "list field": (OBJ.replace("'|O'", "[['a', '|O']]"), (1, 0), 0),
    "dict of field names": (OBJ.replace("'|O'", "{'aO': 0}"), (1, 0), 0),
    "shape (-1,)": (OBJ.replace("(1,)", "(-1,)"), (1, 0), 0),
    "header of 5,000 bytes": (OBJ, (1, 0), 5_000),
    "header of 20,000 bytes": (OBJ, (2, 0), 20_000),
    "Python 2 '1L'": (OBJ.replace("(1,)", "(1L,)"), (1, 0), 0),
}


def npy(header: str, body: bytes, version: tuple[int, int] = (1, 0), pad_to: int = 0) -> bytes:
    text = header.encode("latin-1")
    text += b" " * max(0, pad_to - len(text) - 1) + b"\n"
    length = struct.pack("<H" if version == (1, 0) else "<I", len(text))
    return b"\x93NUMPY" + bytes(version) + length + text + body


def payload(marker: Path) -> bytes:
    """A pickle that calls os.system('touch MARKER'): harmless, and visible when it ran."""
    command = f"touch {marker}".encode()
    return b"\x80\x02cposix\nsystem\nX" + struct.pack("<I", len(command)) + command + b"\x85R."


def numpy_runs(paths: list[Path]) -> None:
    """np.load(allow_pickle=True) each file, every key read, in one subprocess (errors ignored)."""
    code = (
        "import sys, numpy\n"
        "for path in sys.argv[1:]:\n"
        "    try:\n"
        "        r = numpy.load(path, allow_pickle=True)\n"
        "        [r[k] for k in r.files] if hasattr(r, 'files') else None\n"
        "    except Exception:\n"
        "        pass\n"
    )
    subprocess.run([sys.executable, "-c", code, *map(str, paths)], capture_output=True, timeout=120)


def assert_high(path: Path) -> None:
    result = scan_file(path)
    top = result.max_severity
    assert top is not None and top.rank >= Severity.HIGH.rank, result.findings
    assert any(f.symbol == "posix.system" for f in result.findings)


def test_every_header_numpy_unpickles_is_read_as_a_pickle(run_cli, tmp_path: Path) -> None:
    files = {}
    for number, (name, (header, version, pad_to)) in enumerate(VARIANTS.items()):
        marker = tmp_path / f"ran{number}"
        path = tmp_path / f"array{number}.npy"
        path.write_bytes(npy(header, payload(marker), version, pad_to))
        files[name] = (path, marker)
    numpy_runs([path for path, _ in files.values()])
    for name, (path, marker) in files.items():
        assert marker.exists(), f"numpy did not unpickle the {name} variant"
        assert_high(path)
    assert run_cli("scan", files["descr 'i4,O'"][0]).exit_code == 1


def test_an_npz_member_under_a_torch_layout_is_read_as_npy(run_cli, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = tmp_path / "arrays.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({}, protocol=2))
        archive.writestr("archive/version", b"3\n")
        archive.writestr("archive/data/0.npy", npy(OBJ, payload(marker)))
    numpy_runs([path])
    assert marker.exists()
    assert_high(path)
    assert run_cli("scan", path).exit_code == 1


def test_a_header_longer_than_we_read_is_not_clean(tmp_path: Path) -> None:
    path = tmp_path / "array.npy"
    path.write_bytes(npy(OBJ, payload(tmp_path / "ran"), (2, 0), MAX_HEADER + 16))
    result = scan_file(path)
    assert result.status is Status.COULD_NOT_SCAN
    assert result.reason and "longer than" in result.reason


def test_a_header_numpy_refuses_is_only_malformed(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = tmp_path / "array.npy"
    path.write_bytes(npy(OBJ.replace("False", "0"), payload(marker)))
    numpy_runs([path])
    assert not marker.exists()
    result = scan_file(path)
    assert [f.severity for f in result.findings] == [Severity.MEDIUM]
    assert "fortran_order" in result.findings[0].message


def test_a_torch_record_that_cannot_be_inflated_is_not_clean(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({}, protocol=2))
        archive.writestr("archive/version", b"3\n")
        archive.writestr("archive/data/0", b"A" * 5000, compress_type=zipfile.ZIP_DEFLATED)
        info = archive.getinfo("archive/data/0")
    data = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start : start + 8] = b"\xff" * 8  # not a deflate stream: numpy cannot read it either
    path.write_bytes(bytes(data))
    result = scan_file(path)
    assert result.status is Status.COULD_NOT_SCAN
    assert result.reason and "archive/data/0" in result.reason
