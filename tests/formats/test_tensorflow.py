"""TensorFlow graphs by structure: SavedModel and GraphDef identified and walked, bounded."""

from __future__ import annotations

import contextlib
import io
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supplychain.formats import tensorflow
from supplychain.formats.sniff import Format, sniff_bytes
from tests.formats.tfproto import (
    BENIGN_FUNCTIONS,
    BENIGN_NODES,
    field,
    function,
    graph_def,
    keras_metadata,
    node,
    saved_model,
)

EVIL_GRAPH = graph_def(
    [*BENIGN_NODES, node("callback", "PyFunc", "x")],
    [*BENIGN_FUNCTIONS, function("__inference_leak_9", node("read", "ReadFile"))],
)


METADATA = keras_metadata(("root.layer-0", "_tf_keras_layer", '{"class_name": "Dense"}'))


def _read(data: bytes) -> tensorflow.TensorflowGraph:
    return tensorflow.read_graph(io.BytesIO(data), len(data))


def test_a_saved_model_and_a_graph_def_are_identified_by_structure() -> None:
    model = saved_model(graph_def(BENIGN_NODES, BENIGN_FUNCTIONS))
    assert sniff_bytes(model[:4096], len(model)) is Format.TF_SAVED_MODEL
    frozen = graph_def(BENIGN_NODES)
    assert sniff_bytes(frozen[:4096], len(frozen)) is Format.TF_GRAPHDEF


@pytest.mark.parametrize(
    "data",
    [b"\n\nhello world\n", b"\x08\x01\x12", b"\x0a\x04\x0a\x02x\x00", field(1, b"not a node")],
)
def test_text_and_other_protobufs_are_not_taken_for_graphs(data: bytes) -> None:
    assert tensorflow.identify(data, len(data)) is None


def test_every_node_is_listed_with_its_function() -> None:
    graph = _read(saved_model(EVIL_GRAPH))
    assert graph.kind is tensorflow.GraphKind.SAVED_MODEL
    ops = {(u.op, u.node, u.function) for u in graph.nodes}
    assert ("PyFunc", "callback", "") in ops
    assert ("ReadFile", "read", "__inference_leak_9") in ops
    assert ("SaveV2", "SaveV2", "__inference__traced_save_42") in ops


def test_a_graph_def_is_walked_too() -> None:
    graph = _read(EVIL_GRAPH)
    assert graph.kind is tensorflow.GraphKind.GRAPH_DEF
    assert "PyFunc" in {u.op for u in graph.nodes}


def test_a_cut_file_is_a_format_error() -> None:
    data = saved_model(EVIL_GRAPH)
    with pytest.raises(tensorflow.TensorflowFormatError):
        _read(data[: len(data) - 7])


def test_the_field_cap_is_a_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tensorflow, "MAX_FIELDS", 10)
    with pytest.raises(tensorflow.TensorflowLimit):
        _read(saved_model(EVIL_GRAPH))


def _mutate(data: bytes, cut: int, flip: int) -> bytes:
    mutated = bytearray(data[: max(8, len(data) - cut)])
    mutated[flip % len(mutated)] ^= 0x5A
    return bytes(mutated)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
@given(
    data=st.one_of(
        st.binary(max_size=512),
        st.builds(
            _mutate,
            st.sampled_from([saved_model(EVIL_GRAPH), EVIL_GRAPH, METADATA]),
            st.integers(0, 400),
            st.integers(0, 400),
        ),
    )
)
def test_fuzz_never_crashes(data: bytes) -> None:
    started = time.monotonic()
    kind = tensorflow.identify(data[:4096], len(data))
    with contextlib.suppress(tensorflow.TensorflowFormatError, tensorflow.TensorflowLimit):
        if kind is tensorflow.GraphKind.KERAS_METADATA:
            tensorflow.read_keras_metadata(io.BytesIO(data), len(data))
        elif kind is not None:
            _read(data)
    assert time.monotonic() - started < 5


def test_keras_metadata_is_identified_and_read() -> None:
    data = keras_metadata(
        ("root", "_tf_keras_sequential", '{"class_name": "Sequential", "config": {}}'),
        ("root.layer-0", "_tf_keras_layer", '{"class_name": "Dense", "config": {}}'),
    )
    assert sniff_bytes(data[:4096], len(data)) is Format.TF_KERAS_METADATA
    objects = tensorflow.read_keras_metadata(io.BytesIO(data), len(data))
    assert [(o.path, o.identifier) for o in objects] == [
        ("root", "_tf_keras_sequential"),
        ("root.layer-0", "_tf_keras_layer"),
    ]
    assert objects[1].metadata == b'{"class_name": "Dense", "config": {}}'
