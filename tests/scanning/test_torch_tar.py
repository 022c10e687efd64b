"""Legacy torch tar checkpoints as torch.load reads them: V7 headers, polyglots, odd counts.

Each attack is checked twice: ``torch.load(weights_only=False)`` in a
subprocess reaches a harmless marker payload (it touches a file in tmp_path),
and ``scan`` reports it at high or above.
"""

from __future__ import annotations

import io
import pickle
import struct
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from supplychain.scanning import Severity, scan_file
from supplychain.scanning.results import FileResult

_LEGACY_HEAD = (
    b"\x80\x02\x8a\x0a"
    + (0x1950A86A20F9469CFC6C).to_bytes(10, "little")
    + b".\x80\x02M\xe9\x03.\x80\x02}.\x80\x02}.\x80\x02]."
)


def _payload(marker: Path) -> bytes:
    """A protocol-2 pickle that runs ``touch marker`` (posix.system)."""
    cmd = f"touch {marker}".encode()
    return b"\x80\x02cposix\nsystem\nX" + struct.pack("<I", len(cmd)) + cmd + b"\x85R."


def _torch_tar(storages: bytes, tensors: bytes = b"", pick: bytes = b"") -> bytes:
    tensors = tensors or pickle.dumps(0, protocol=2)
    pick = pick or pickle.dumps({}, protocol=2)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for name, data in (("storages", storages), ("tensors", tensors), ("pickle", pick)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _checksummed(block: bytearray) -> bytes:
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\0 " % sum(block)
    return bytes(block)


def _v7(data: bytes) -> bytes:
    """The same archive with pre-POSIX headers: no ``ustar`` magic, owner names blank."""
    out = bytearray(data)
    for offset in range(0, len(out) - 512, 512):
        block = out[offset : offset + 512]
        if block[257:262] == b"ustar":
            block[257:345] = b"\0" * 88
            out[offset : offset + 512] = _checksummed(block)
    return bytes(out)


def _with_head(name_field: bytes, tar: bytes) -> bytes:
    """A first (empty) member whose name field holds ``name_field``, then ``tar``."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        info = tarfile.TarInfo("A" * len(name_field))
        archive.addfile(info)
    first = bytearray(buf.getvalue()[:512])
    first[: len(name_field)] = name_field
    return _checksummed(first) + tar


def _worst(result: FileResult) -> Severity | None:
    return max((f.severity for f in result.findings), key=lambda s: s.rank, default=None)


def _assert_caught(result: FileResult) -> None:
    worst = _worst(result)
    assert worst is not None and worst.rank >= Severity.HIGH.rank, result


def _hardlinked(storages: bytes) -> bytes:
    """``storages`` is a hard link to a member ``x`` that holds the records."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for name, data in (("x", storages), ("tensors", pickle.dumps(0)), ("pickle", b"}.")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("storages")
        link.type, link.linkname = tarfile.LNKTYPE, "x"
        archive.addfile(link)
    return buf.getvalue()


def _attacks(tmp_path: Path) -> dict[str, tuple[Path, Path]]:
    """Each attack file, with the marker its payload touches."""
    made: dict[str, tuple[Path, Path]] = {}

    def put(name: str, build: Callable[[bytes], bytes]) -> None:
        marker = tmp_path / f"{name}.ran"
        path = tmp_path / name
        path.write_bytes(build(_payload(marker)))
        made[name] = (path, marker)

    count0, views = pickle.dumps(0, protocol=2), pickle.dumps([], protocol=2)
    put("v7.pt", lambda p: _v7(_torch_tar(p)))
    put("legacy.pt", lambda p: _with_head(_LEGACY_HEAD, _torch_tar(p)))
    put("pickle.pkl", lambda p: _with_head(pickle.dumps({"w": 1}, protocol=2), _torch_tar(p)))
    put("negstorages.tar", lambda p: _torch_tar(pickle.dumps(-1, protocol=2) + p))
    put("negtensors.tar", lambda p: _torch_tar(count0 + views, pickle.dumps(-5), p))
    put("hardlink.tar", lambda p: _hardlinked(pickle.dumps(-1, protocol=2) + p))
    return made


def test_torch_load_runs_every_payload_here(tmp_path: Path) -> None:
    """One subprocess loads them all (importing torch is slow)."""
    pytest.importorskip("torch")  # the reference: there is only a 3.11 torch wheel
    attacks = _attacks(tmp_path)
    code = (
        "import sys, torch\n"
        "for p in sys.argv[1:]:\n"
        "    try:\n"
        "        torch.load(p, weights_only=False)\n"
        "    except Exception:\n"
        "        pass\n"
    )
    paths = [str(path) for path, _ in attacks.values()]
    subprocess.run([sys.executable, "-c", code, *paths], capture_output=True, timeout=300)
    assert {name for name, (_, marker) in attacks.items() if not marker.exists()} == set()


def test_a_v7_tar_checkpoint_is_read_as_torch_reads_it(tmp_path: Path) -> None:
    result = scan_file(_attacks(tmp_path)["v7.pt"][0])
    assert result.format == "pytorch-tar"
    _assert_caught(result)
    assert any(f.rule == "pickle.gadget" for f in result.findings)


def test_a_legacy_checkpoint_in_the_first_tar_header_is_also_read_as_a_tar(
    tmp_path: Path,
) -> None:
    result = scan_file(_attacks(tmp_path)["legacy.pt"][0])
    assert result.format == "pytorch-legacy"
    _assert_caught(result)
    rules = {f.rule for f in result.findings}
    assert {"container.tar-polyglot", "pickle.gadget"} <= rules


def test_any_pickle_in_the_first_tar_header_is_also_read_as_a_tar(tmp_path: Path) -> None:
    result = scan_file(_attacks(tmp_path)["pickle.pkl"][0])
    _assert_caught(result)
    assert any(f.rule == "pickle.gadget" and "storages" in f.location for f in result.findings), (
        result
    )


def test_a_negative_storage_count_reads_on_to_the_storage_views(tmp_path: Path) -> None:
    result = scan_file(_attacks(tmp_path)["negstorages.tar"][0])
    _assert_caught(result)
    assert not any(f.rule == "container.malformed" for f in result.findings), result


def test_a_negative_tensor_count_reads_on_to_the_pickle_member(tmp_path: Path) -> None:
    _assert_caught(scan_file(_attacks(tmp_path)["negtensors.tar"][0]))


def test_a_harmless_tar_checkpoint_is_clean(tmp_path: Path) -> None:
    path = tmp_path / "model.tar"
    empty = pickle.dumps(0, protocol=2)
    path.write_bytes(_v7(_torch_tar(empty + pickle.dumps([], protocol=2))))
    result = scan_file(path)
    assert result.format == "pytorch-tar" and result.findings == (), result


def test_a_plain_pickle_is_not_called_a_tar(tmp_path: Path) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps({"w": list(range(300))}, protocol=2))
    result = scan_file(path)
    assert not any(f.rule == "container.tar-polyglot" for f in result.findings), result


def test_a_storages_hardlink_is_read_as_its_target(tmp_path: Path) -> None:
    """torch extracts a hard-linked ``storages`` as the data of the member it names."""
    result = scan_file(_attacks(tmp_path)["hardlink.tar"][0])
    assert result.format == "pytorch-tar"
    assert any(f.rule == "pickle.gadget" and "storages" in f.location for f in result.findings)
