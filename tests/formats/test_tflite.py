"""TFLite operator codes: builtin, custom and Flex ops read from a hand-built FlatBuffer."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supplychain.formats import tflite
from supplychain.formats.sniff import Format, sniff
from supplychain.scanning import scan_file
from supplychain.scanning.results import Severity

#: BuiltinOperator values used below.
ADD, CONV_2D, CUSTOM = 0, 3, 32


def _pad(data: bytearray) -> None:
    data.extend(bytes(-len(data) % 4))


def tflite_model(codes: list[tuple[int, int, str | None]]) -> bytes:
    """A Model whose operator_codes are (deprecated_builtin_code, builtin_code, custom_code)."""
    data = bytearray(struct.pack("<I", 16) + b"TFL3")
    data += struct.pack("<HHHH", 8, 8, 0, 4)  # Model vtable: field 1 at +4
    data += struct.pack("<iI", 8, 4)  # Model table at 16, operator_codes vector at 24
    data += struct.pack("<I", len(codes))
    slots = len(data)
    data += bytes(4 * len(codes))
    for index, (deprecated, builtin, name) in enumerate(codes):
        _pad(data)
        vtable = len(data)
        data += struct.pack("<HHHHHH", 12, 16, 4, 8 if name is not None else 0, 0, 12)
        table = len(data)
        data += struct.pack("<ibxxxIi", table - vtable, deprecated, 0, builtin)
        slot = slots + 4 * index
        data[slot : slot + 4] = struct.pack("<I", table - slot)
        if name is not None:
            _pad(data)
            string = len(data)
            data[table + 8 : table + 12] = struct.pack("<I", string - (table + 8))
            encoded = name.encode()
            data += struct.pack("<I", len(encoded)) + encoded + b"\x00"
    _pad(data)
    return bytes(data)


def test_reads_builtin_and_custom_codes() -> None:
    data = tflite_model([(CONV_2D, CONV_2D, None), (CUSTOM, ADD, "MyOp"), (127, CUSTOM, "Op2")])
    codes = tflite.read_operator_codes(io.BytesIO(data), len(data))
    assert [(c.builtin, c.custom) for c in codes] == [(3, None), (32, "MyOp"), (127, "Op2")]
    assert [c.is_custom for c in codes] == [False, True, False]


def _scan(tmp_path: Path, codes: list[tuple[int, int, str | None]]) -> tuple[str, list[str], str]:
    path = tmp_path / "model.tflite"
    path.write_bytes(tflite_model(codes))
    assert sniff(path) is Format.TFLITE
    result = scan_file(path)
    top = result.max_severity.value if result.max_severity else "none"
    return result.format, [f.message for f in result.findings], top


def test_builtin_only_model_is_clean(tmp_path: Path) -> None:
    assert _scan(tmp_path, [(CONV_2D, CONV_2D, None), (ADD, ADD, None)]) == ("tflite", [], "none")


def test_custom_op_is_medium_and_named(tmp_path: Path) -> None:
    kind, messages, top = _scan(tmp_path, [(CUSTOM, CUSTOM, "TFLite_Detection_PostProcess")])
    assert kind == "tflite" and top == "medium"
    assert len(messages) == 1 and "'TFLite_Detection_PostProcess'" in messages[0]


def test_flex_op_reaching_files_is_high(tmp_path: Path) -> None:
    kind, messages, top = _scan(tmp_path, [(CUSTOM, CUSTOM, "FlexWriteFile")])
    assert kind == "tflite" and Severity(top) >= Severity.HIGH
    assert "WriteFile" in messages[0]


def test_truncated_model_is_never_clean(tmp_path: Path) -> None:
    path = tmp_path / "model.tflite"
    path.write_bytes(tflite_model([(CUSTOM, CUSTOM, "MyOp")])[:40])
    result = scan_file(path)
    assert result.format == "tflite" and not result.clean


def test_too_many_codes_is_could_not_scan(tmp_path: Path) -> None:
    data = bytearray(tflite_model([(ADD, ADD, None)]))
    data[24:28] = struct.pack("<I", tflite.MAX_OPERATOR_CODES + 1)
    with pytest.raises(tflite.TfliteLimit):
        tflite.read_operator_codes(io.BytesIO(bytes(data)), len(data))


@settings(max_examples=100, deadline=None)
@given(
    position=st.integers(min_value=0, max_value=200),
    garbage=st.binary(min_size=1, max_size=8),
)
def test_fuzz_corrupted_models_raise_only_format_errors(position: int, garbage: bytes) -> None:
    data = bytearray(tflite_model([(CONV_2D, CONV_2D, None), (CUSTOM, CUSTOM, "MyOp")]))
    position %= len(data)
    data[position : position + len(garbage)] = garbage
    try:
        codes = tflite.read_operator_codes(io.BytesIO(bytes(data)), len(data))
    except tflite.TfliteFormatError:
        return  # refused with the format's own error, never a traceback
    assert len(codes) <= tflite.MAX_OPERATOR_CODES
