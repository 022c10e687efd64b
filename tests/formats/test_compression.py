"""Decompression is capped: a bomb ends as "could not scan", never as clean or as an OOM."""

from __future__ import annotations

import bz2
import gzip
import lzma
import zlib
from pathlib import Path

import pytest

from supplychain.formats.compression import DecompressionBudget, decompressed, inflated_member
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


def test_a_small_read_inflates_only_what_it_asks_for() -> None:
    # the old reader expanded a whole 64 KiB input chunk (64 MiB of zeros) for any read
    bomb = gzip.compress(bytes(64 << 20))
    budget = DecompressionBudget(1 << 40)
    stream = decompressed(Source.from_bytes(bomb), Format.GZIP, budget=budget)
    assert stream.read(10) == bytes(10)
    assert budget.used <= 1 << 18  # one source chunk, not the whole input chunk's expansion
    assert stream.skip(64 << 20) == (64 << 20) - 10
    assert budget.used == 64 << 20


@pytest.mark.parametrize(
    ("kind", "compress"),
    [(Format.BZIP2, bz2.compress), (Format.XZ, lzma.compress), (Format.GZIP, gzip.compress)],
)
def test_concatenated_streams_are_followed_as_their_openers_do(kind: Format, compress) -> None:
    data = compress(b"abc") + compress(b"def")
    assert decompressed(Source.from_bytes(data), kind).read(100) == b"abcdef"


def test_the_budget_is_shared_by_every_stream_of_a_file() -> None:
    budget = DecompressionBudget(3 << 20)
    data = gzip.compress(bytes(2 << 20))
    assert len(decompressed(Source.from_bytes(data), Format.GZIP, budget=budget).read(4 << 20)) == (
        2 << 20
    )
    with pytest.raises(SourceLimit, match="in all"):
        decompressed(Source.from_bytes(data), Format.GZIP, budget=budget).read(4 << 20)


def test_zip_members_inflate_in_small_steps_too() -> None:
    raw = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = raw.compress(bytes(32 << 20)) + raw.flush()
    budget = DecompressionBudget(1 << 40)
    member = inflated_member(Source.from_bytes(data), 8, "data.pkl", 1 << 30, budget)
    assert member.read(3) == bytes(3) and budget.used <= 1 << 18
