"""Hand-written TensorFlow protobufs (field numbers from saved_model.proto and graph.proto)."""

from __future__ import annotations

from tests.formats.protowire import field, varint

__all__ = ["field", "varint"]


def node(name: str, op: str, *inputs: str, dtype: int = 1) -> bytes:
    """NodeDef: name=1, op=2, input=3, attr=5 (map entry key=1, AttrValue type=6)."""
    attr = field(5, field(1, b"T") + field(2, field(6, dtype)))
    return (
        field(1, name.encode())
        + field(2, op.encode())
        + b"".join(field(3, i.encode()) for i in inputs)
        + attr
    )


def function(name: str, *nodes: bytes) -> bytes:
    """FunctionDef: signature (OpDef name=1) = 1, node_def = 3."""
    return field(1, field(1, name.encode())) + b"".join(field(3, n) for n in nodes)


def graph_def(nodes: list[bytes], functions: list[bytes] = ()) -> bytes:  # type: ignore[assignment]
    """GraphDef: node=1, library=2 (FunctionDefLibrary function=1), versions=4 (producer=1)."""
    library = b"".join(field(1, f) for f in functions)
    body = b"".join(field(1, n) for n in nodes)
    if functions:
        body += field(2, library)
    return body + field(4, field(1, 1645))


def saved_model(graph: bytes) -> bytes:
    """SavedModel: schema version=1, meta_graphs=2 (MetaGraphDef: meta_info_def=1 with tags=4,
    graph_def=2, signature_def=5)."""
    meta_info = field(4, b"serve") + field(3, b"2.16.1") + field(5, b"v2.16.1")
    signature = field(1, b"serving_default") + field(2, field(3, b"tensorflow/serving/predict"))
    meta_graph = field(1, meta_info) + field(2, graph) + field(5, signature)
    return field(1, 1) + field(2, meta_graph)


#: What a Keras/TF2 export carries: arithmetic plus its own checkpoint functions.
BENIGN_NODES = [
    node("x", "Placeholder"),
    node("w", "Const"),
    node("matmul", "MatMul", "x", "w"),
    node("saver_filename", "Placeholder"),
    node("StatefulPartitionedCall", "StatefulPartitionedCall", "saver_filename"),
]
BENIGN_FUNCTIONS = [
    function(
        "__inference__traced_save_42",
        node("StringJoin", "StringJoin"),
        node("ShardedFilename", "ShardedFilename"),
        node("SaveV2", "SaveV2"),
        node("MergeV2Checkpoints", "MergeV2Checkpoints"),
    ),
    function("__inference__traced_restore_57", node("RestoreV2", "RestoreV2")),
]


def keras_metadata(*objects: tuple[str, str, str]) -> bytes:
    """keras_metadata.pb (keras/protobuf/saved_metadata.proto): SavedMetadata.nodes=1 of
    SavedObject(version=1 VersionDef, node_id=2, node_path=3, identifier=4, metadata=5 JSON)."""
    nodes = b""
    for index, (path, identifier, metadata) in enumerate(objects):
        saved_object = (
            field(1, field(1, 2) + field(2, 1))
            + (field(2, index) if index else b"")
            + field(3, path.encode())
            + field(4, identifier.encode())
            + field(5, metadata.encode())
        )
        nodes += field(1, saved_object)
    return nodes
