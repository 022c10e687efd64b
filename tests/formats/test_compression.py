"""Decompression is capped: a bomb ends as "could not scan", never as clean or as an OOM."""

from __future__ import annotations

import gzip
import lzma
from pathlib import Path

import pytest

from supplychain.formats.compression import decompressed
from supplychain.formats.sniff import Format, sniff_bytes
from supplychain.picklevm import Source
from supplychain.picklevm.source import SourceLimit
from supplychain.scanning import ScanOptions, Status, scan_file


def test_streams_decompress_and_concatenated_gzip_members_are_followed() -> None:
    data = gzip.compress(b"abc") + gzip.compress(b"def")
    assert decompressed(Source.from_bytes(data), Format.GZIP).read(100) == b"abcdef"


def test_the_cap_stops_expansion() -> None:
    bomb = gzip.compress(b"\x00" * (4 << 20))
    with pytest.raises(SourceLimit):
        decompressed(Source.from_bytes(bomb), Format.GZIP, cap=1 << 20).read(8 << 20)


def test_a_bomb_is_could_not_scan(tmp_path: Path) -> None:
    path = tmp_path / "bomb.pkl.gz"
    path.write_bytes(gzip.compress(b"\x80\x02]q\x00(" + b"K\x01" * (2 << 20) + b"e."))
    result = scan_file(path, options=ScanOptions(max_decompressed=1 << 20))
    assert result.status is Status.COULD_NOT_SCAN
    assert "cap" in (result.reason or "")


def test_lzma_alone_is_identified() -> None:
    assert sniff_bytes(lzma.compress(b"x" * 100, format=lzma.FORMAT_ALONE), 200) is Format.LZMA
