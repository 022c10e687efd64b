"""safetensors headers: hostile nesting is a clear format error, never an internal error."""

from __future__ import annotations

import contextlib
import json
import struct
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supplychain.formats import safetensors
from tests.conftest import RunCli


def _file(path: Path, header: bytes, data: bytes = b"") -> Path:
    path.write_bytes(struct.pack("<Q", len(header)) + header + data)
    return path


DEEP = b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}"


def test_a_deeply_nested_header_is_a_format_error(tmp_path: Path) -> None:
    with pytest.raises(safetensors.SafetensorsError, match="nests deeper than 32"):
        safetensors.read_header(_file(tmp_path / "m.safetensors", DEEP))


def test_the_cli_reports_it_without_a_traceback(run_cli: RunCli, tmp_path: Path) -> None:
    path = _file(tmp_path / "m.safetensors", DEEP)
    result = run_cli("scan", "--json", path)
    report = json.loads(result.stdout)["files"][0]
    assert report["format"] == "safetensors"
    assert "internal error" not in (report["reason"] or "")
    assert [f["rule"] for f in report["findings"]] == ["safetensors.invalid-header"]
    assert "Traceback" not in result.stderr


def test_brackets_inside_strings_do_not_count(tmp_path: Path) -> None:
    header = json.dumps(
        {
            "__metadata__": {"note": "[" * 1000},
            "w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
        }
    ).encode()
    parsed = safetensors.read_header(_file(tmp_path / "m.safetensors", header, b"\x00" * 4))
    assert parsed.metadata == {"note": "[" * 1000}


@settings(max_examples=100, deadline=None, database=None)
@given(brackets=st.lists(st.sampled_from(["[", "]", "{", "}", '"', "\\", "1", ","]), max_size=400))
def test_fuzz_depth_check_matches_the_parser(brackets: list[str]) -> None:
    raw = ("{" + "".join(brackets)).encode()
    started = time.monotonic()
    with contextlib.suppress(safetensors.SafetensorsError):
        safetensors.parse_header(raw, len(raw) + 8, Path("x.safetensors"))
    assert time.monotonic() - started < 5
