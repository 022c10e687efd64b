"""Scanning zips: what any reader would load is scanned; inflating stays linear and bounded."""

from __future__ import annotations

import io
import pickle
import struct
import time
import zipfile
import zlib
from pathlib import Path

import pytest

from supplychain.scanning import ScanOptions, Severity, Status, scan_file
from tests.formats import zipcraft

ATTACKS = {
    "fake end record, torch only": lambda: zipcraft.fake_eocd_attack(fool_zipfile=False),
    "fake end record, torch and zipfile": lambda: zipcraft.fake_eocd_attack(fool_zipfile=True),
    "zip64 locator pointing elsewhere": zipcraft.zip64_locator_attack,
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_a_data_pkl_only_a_loader_sees_fails_the_scan(run_cli, tmp_path: Path, attack: str) -> None:
    path = tmp_path / "model.pt"
    path.write_bytes(ATTACKS[attack]())
    result = scan_file(path)
    rules = {(f.rule, f.severity) for f in result.findings}
    assert ("container.zip-inconsistent", Severity.HIGH) in rules
    gadget = [f for f in result.findings if f.symbol == "posix.system"]
    assert gadget and gadget[0].severity is Severity.CRITICAL
    assert gadget[0].location.startswith("archive/data.pkl")
    cli = run_cli("scan", path)
    assert cli.exit_code == 1
    assert "zip readers disagree" in cli.stdout and "posix.system" in cli.stdout


def test_an_ordinary_torch_zip_is_still_clean(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    path.write_bytes(
        zipcraft.torch_zip({"archive/data.pkl": zipcraft.BENIGN, "archive/version": b"3\n"})
    )
    result = scan_file(path)
    assert result.status is Status.SCANNED and not result.findings


def _deflated_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_a_64_mib_member_inflates_in_linear_time(tmp_path: Path) -> None:
    # the scanner reads all of data.pkl (the pickle, then its CRC-32): 64 MiB of inflating
    big = pickle.dumps(bytes(64 << 20), protocol=4)
    path = tmp_path / "model.pt"
    path.write_bytes(_deflated_zip({"archive/data.pkl": big, "archive/version": b"3\n"}))
    assert path.stat().st_size < 1 << 20
    started = time.monotonic()
    result = scan_file(path)
    assert time.monotonic() - started < 20
    assert result.status is Status.SCANNED and not result.findings


def test_a_261_kb_bomb_stops_at_the_cap_with_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "bomb.pt"
    bomb = b"\x80\x02]q\x00." + bytes(256 << 20)
    path.write_bytes(_deflated_zip({"archive/data.pkl": bomb, "archive/version": b"3\n"}))
    assert 200_000 < path.stat().st_size < 300_000
    started = time.monotonic()
    result = scan_file(path, options=ScanOptions(max_decompressed=64 << 20))
    assert time.monotonic() - started < 20
    assert result.status is Status.COULD_NOT_SCAN
    assert "decompression bomb" in (result.reason or "")


def _entries_sharing_one_member(data: bytes, copies: int) -> bytes:
    """A zip whose central directory lists ``copies`` names for one local member (overlap bomb)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("archive/data.pkl", data)
    raw = buffer.getvalue()
    cd_size, cd_at = struct.unpack("<II", raw[-10:-2])
    entry = raw[cd_at : cd_at + cd_size]
    name_at = entry.index(b"archive/data.pkl")
    entries = [entry] + [
        entry[:name_at] + f"archive/a{i:03}.pkl".encode() + entry[name_at + 16 :]
        for i in range(copies - 1)
    ]
    directory = b"".join(entries)
    end = zipcraft.end_record(copies, len(directory), cd_at, 0)
    return raw[:cd_at] + directory + end


def test_many_entries_sharing_one_bomb_hit_the_budget_for_the_file(tmp_path: Path) -> None:
    member = b"\x80\x02]q\x00." + bytes(16 << 20)
    path = tmp_path / "overlap.pt"
    path.write_bytes(_entries_sharing_one_member(member, 16))
    started = time.monotonic()
    result = scan_file(path, options=ScanOptions(max_decompressed=64 << 20))
    assert time.monotonic() - started < 20
    assert result.status is Status.COULD_NOT_SCAN
    assert "in all" in (result.reason or "")


def test_7z_members_are_capped_in_all_not_only_each(tmp_path: Path) -> None:
    py7zr = pytest.importorskip("py7zr")
    path = tmp_path / "model.7z"
    with py7zr.SevenZipFile(path, "w") as archive:
        for index in range(4):
            archive.writestr(bytes(1 << 20), f"part{index}.bin")
    result = scan_file(path, options=ScanOptions(max_spool=3 << 20))
    assert result.status is Status.COULD_NOT_SCAN
    assert "in all" in (result.reason or "")
    assert scan_file(path).status is Status.SCANNED


def test_torch_finds_data_pkl_whatever_its_case_and_so_do_we(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    path.write_bytes(
        zipcraft.torch_zip({"archive/version": b"3\n", "archive/DATA.PKL": zipcraft.PAYLOAD})
    )
    torch = pytest.importorskip("torch")
    assert bytes(torch._C.PyTorchFileReader(str(path)).get_record("data.pkl")) == zipcraft.PAYLOAD
    result = scan_file(path)
    assert result.format == "pytorch-zip"
    assert any(f.symbol == "posix.system" for f in result.findings)


def test_a_corrupt_deflated_member_is_could_not_scan_without_a_traceback(
    run_cli, tmp_path: Path
) -> None:
    data = bytearray(_deflated_zip({"a.pkl": b"\x80\x04" + b"N" * 5000 + b"."}))
    start = 30 + len("a.pkl")  # the member's compressed bytes follow its local header
    for i in range(start + 2, start + 12):
        data[i] ^= 0xFF
    path = tmp_path / "model.zip"
    path.write_bytes(bytes(data))
    result = run_cli("scan", path)
    assert result.exit_code == 3, result
    assert "a.pkl: cannot be read" in result.stdout
    assert "Traceback" not in result.stderr and "internal error" not in result.stdout


def _stored_sizes_disagree(data: bytes, name: bytes, stored: int) -> bytes:
    """Record ``stored`` as the compressed size of stored member ``name`` (CRCs to match).

    miniz refuses a stored member whose two sizes differ only when the 32-bit
    word at the method field (method and modification time) is zero: with a
    modification time it copies the recorded uncompressed size, while zipfile
    and a reader trusting the compressed size read ``stored`` bytes.
    """
    raw = bytearray(data)
    entry = raw.find(b"PK\x01\x02")
    while raw[entry + 46 : entry + 46 + len(name)] != name:
        entry = raw.find(b"PK\x01\x02", entry + 4)
    (local,) = struct.unpack("<I", raw[entry + 42 : entry + 46])
    (size,) = struct.unpack("<I", raw[entry + 24 : entry + 28])
    start = local + 30 + len(name)
    crc = zlib.crc32(raw[start : start + stored])
    for time_at, crc_at in ((entry + 12, entry + 16), (local + 10, local + 14)):
        struct.pack_into("<H", raw, time_at, 0x0800)  # modified at 01:00
        struct.pack_into("<II", raw, crc_at, crc, stored)
    assert size > stored
    return bytes(raw)


def test_a_stored_member_torch_reads_past_its_stored_size_fails_the_scan(
    run_cli, tmp_path: Path
) -> None:
    path = tmp_path / "model.pt"
    data = zipcraft.torch_zip({"archive/data.pkl": zipcraft.PAYLOAD, "archive/version": b"3\n"})
    path.write_bytes(_stored_sizes_disagree(data, b"archive/data.pkl", stored=2))
    torch = pytest.importorskip("torch")
    # torch's reader (no unpickling) hands torch.load the whole payload
    assert bytes(torch._C.PyTorchFileReader(str(path)).get_record("data.pkl")) == zipcraft.PAYLOAD
    result = scan_file(path)
    assert any(f.symbol == "posix.system" for f in result.findings)
    problems = [f for f in result.findings if f.rule == "container.zip-inconsistent"]
    assert any("2 bytes stored but" in f.message for f in problems)
    assert all(f.severity >= Severity.HIGH for f in problems)
    cli = run_cli("scan", path)
    assert cli.exit_code == 1 and "posix.system" in cli.stdout


def _object_npy(pickled: bytes) -> bytes:
    header = io.BytesIO()
    np = pytest.importorskip("numpy")
    np.lib.format.write_array_header_1_0(
        header, {"descr": "|O", "fortran_order": False, "shape": (1,)}
    )
    return header.getvalue() + pickled


@pytest.mark.parametrize("layout", ["npz", "torch zip"])
def test_a_directory_entry_that_holds_an_npy_is_scanned(
    run_cli, tmp_path: Path, layout: str
) -> None:
    members = {"archive/data.pkl": zipcraft.BENIGN} if layout == "torch zip" else {}
    members["archive/evil/"] = _object_npy(zipcraft.PAYLOAD)
    path = tmp_path / "model.npz"
    path.write_bytes(zipcraft.torch_zip(members))
    np = pytest.importorskip("numpy")
    # np.load opens any key, a name ending in "/" too, and unpickles it when allowed
    with np.load(path, allow_pickle=False) as npz, pytest.raises(ValueError, match="allow_pickle"):
        npz["archive/evil/"]
    result = scan_file(path)
    gadget = [f for f in result.findings if f.symbol == "posix.system"]
    assert gadget and gadget[0].severity is Severity.CRITICAL
    assert run_cli("scan", path).exit_code == 1


def test_a_keras_weights_member_that_is_an_npy_is_scanned(run_cli, tmp_path: Path) -> None:
    path = tmp_path / "model.npz"
    path.write_bytes(
        zipcraft.torch_zip(
            {
                "config.json": b'{"class_name": "Sequential", "config": {"layers": []}}',
                "metadata.json": b'{"keras_version": "3.0.0"}',
                "model.weights.h5": _object_npy(zipcraft.PAYLOAD),
            }
        )
    )
    np = pytest.importorskip("numpy")
    with np.load(path, allow_pickle=False) as npz, pytest.raises(ValueError, match="allow_pickle"):
        npz["model.weights.h5"]  # np.load would unpickle it when allowed
    result = scan_file(path)
    assert result.format == "keras"
    assert any(f.symbol == "posix.system" for f in result.findings)
    assert run_cli("scan", path).exit_code == 1
