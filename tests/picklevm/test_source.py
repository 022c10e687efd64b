"""Sources: windows, skipping, line reads that stop at a boundary, forward-only streams."""

from __future__ import annotations

import io

from supplychain.picklevm import Source


def test_file_window(tmp_path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"0123456789")
    with open(path, "rb") as handle:
        source = Source.from_file(handle, 2, 5)
        assert source.read(3) == b"234" and source.skip(10) == 2 and source.at_end()
        assert source.window(1, 2).read(10) == b"34"


def test_stream_skip_and_readline() -> None:
    source = Source.from_stream(io.BytesIO(b"abc\ndef\n" + b"x" * 300_000 + b"\nend"))
    assert source.readline(100) == (b"abc\n", 4, "ok")
    source.skip(2)
    assert source.readline(100) == (b"f\n", 2, "ok")
    line, length, status = source.readline(100)
    assert line is None and length == 300_001 and status == "ok"
    assert source.read(10) == b"end" and source.tell() == 300_012
    assert not source.random_access


def test_readline_boundary() -> None:
    source = Source.from_bytes(b"abcdef\nxyz")
    assert source.readline(100, 3) == (b"abc", 3, "boundary")
    assert source.readline(100) == (b"def\n", 4, "ok")
    assert source.readline(100) == (b"xyz", 3, "eof")
