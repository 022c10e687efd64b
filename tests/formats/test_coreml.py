"""CoreML ``.mlmodel``: identified by its Model protobuf, custom models and layers named."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supplychain.formats import coreml
from supplychain.formats.sniff import Format, sniff, sniff_bytes
from supplychain.scanning import scan_file
from tests.formats.protowire import field


def _description() -> bytes:
    feature = field(1, b"input") + field(3, field(5, field(1, 4)))
    return field(1, feature) + field(10, field(1, b"output"))


def mlmodel(model_type: bytes, version: int = 4) -> bytes:
    return field(1, version) + field(2, _description()) + model_type


def _layer(name: str, custom: str | None = None) -> bytes:
    kind = field(500, field(10, custom.encode())) if custom else field(140, field(1, 1))
    return field(1, field(1, name.encode()) + kind)


NEURAL_NETWORK = field(500, _layer("dense") + _layer("relu"))
WITH_CUSTOM_LAYER = field(500, _layer("dense") + _layer("mystery", "EvilLayer"))
CUSTOM_MODEL = field(555, field(10, b"MyCustomModel"))
PIPELINE = field(200, field(1, field(1, mlmodel(WITH_CUSTOM_LAYER)) + field(1, mlmodel(b""))))


def _scan(tmp_path: Path, data: bytes) -> tuple[str, list[str]]:
    path = tmp_path / "model.mlmodel"
    path.write_bytes(data)
    assert sniff(path) is Format.COREML
    result = scan_file(path)
    assert result.format == "coreml"
    return (result.max_severity.value if result.max_severity else "none"), [
        f.message for f in result.findings
    ]


def test_neural_network_is_identified_and_clean(tmp_path: Path) -> None:
    assert _scan(tmp_path, mlmodel(NEURAL_NETWORK)) == ("none", [])


def test_updatable_model_is_identified(tmp_path: Path) -> None:
    data = field(1, 4) + field(2, _description()) + field(10, 1) + NEURAL_NETWORK
    assert _scan(tmp_path, data) == ("none", [])


@pytest.mark.parametrize(
    ("model_type", "needle"),
    [
        (WITH_CUSTOM_LAYER, "'EvilLayer'"),
        (CUSTOM_MODEL, "'MyCustomModel'"),
        (PIPELINE, "models[0]/layer 'mystery'"),
    ],
)
def test_custom_code_is_medium_and_named(tmp_path: Path, model_type: bytes, needle: str) -> None:
    top, messages = _scan(tmp_path, mlmodel(model_type))
    assert top == "medium" and len(messages) == 1 and needle in messages[0]


def test_onnx_and_savedmodel_lookalikes_are_not_coreml() -> None:
    onnx_like = field(1, 8) + field(2, b"pytorch") + field(7, field(1, b""))
    saved_model_like = field(1, 1) + field(2, field(1, field(1, b"serve")))
    for data in (onnx_like, saved_model_like):
        assert sniff_bytes(data, len(data)) is not Format.COREML


def test_deep_pipelines_stop_at_the_cap() -> None:
    data = mlmodel(b"")
    for _ in range(coreml.MAX_DEPTH + 2):
        data = mlmodel(field(202, field(1, data)))
    with pytest.raises(coreml.CoremlLimit):
        coreml.native_code(io.BytesIO(data), len(data))


@settings(max_examples=100, deadline=None)
@given(position=st.integers(min_value=0, max_value=400), garbage=st.binary(max_size=8))
def test_fuzz_corrupted_models_raise_only_format_errors(position: int, garbage: bytes) -> None:
    data = bytearray(mlmodel(PIPELINE))
    position %= len(data)
    data[position : position + len(garbage)] = garbage
    assert isinstance(sniff_bytes(bytes(data), len(data)), Format)
    try:
        natives = coreml.native_code(io.BytesIO(bytes(data)), len(data))
    except (coreml.CoremlFormatError, coreml.CoremlLimit):
        return  # refused with the format's own error, never a traceback
    assert all(isinstance(n.class_name, str) for n in natives)
