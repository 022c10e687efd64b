"""TensorFlow graphs read by structure: SavedModel ``saved_model.pb`` and frozen GraphDef ``.pb``.

Both are protobufs (tensorflow/core/protobuf/saved_model.proto and
framework/graph.proto). Identification checks the first bytes against the
message layout (a SavedModel opens with its schema version then a
MetaGraphDef; a GraphDef opens with a NodeDef whose name and op are
identifiers; TF-Keras's ``keras_metadata.pb`` opens with a SavedObject whose
identifier starts ``_tf_keras``). :func:`read_graph` lists the op of every node, in the graph
and in its function library, skipping tensor data by offset and bounded in
field count, reusing the wire-format walk of :mod:`supplychain.formats.onnx`;
:func:`read_keras_metadata` returns each Keras object's JSON config.
"""

from __future__ import annotations

import enum
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from supplychain.formats.onnx import LEN, VARINT, OnnxFormatError, _fields, _Window

#: Fields walked per file before the walk stops (a cap, reported as a limit).
MAX_FIELDS = 2_000_000
#: Op and node names longer than this are cut in reports.
MAX_NAME = 256

# SavedModel -> MetaGraphDef -> GraphDef -> NodeDef / FunctionDefLibrary -> FunctionDef.
_SAVED_SCHEMA, _SAVED_META_GRAPH = 1, 2
_META_GRAPH_DEF = 2
_GRAPH_NODE, _GRAPH_LIBRARY = 1, 2
_LIBRARY_FUNCTION = 1
_FUNCTION_SIGNATURE, _FUNCTION_NODE = 1, 3
_NODE_NAME, _NODE_OP = 1, 2
# keras/protobuf/saved_metadata.proto: SavedMetadata.nodes -> SavedObject.
_METADATA_NODE = 1
_OBJECT_PATH, _OBJECT_IDENTIFIER, _OBJECT_METADATA = 3, 4, 5
_SAVED_OBJECT_FIELDS = {1: LEN, 2: VARINT, 3: LEN, 4: LEN, 5: LEN}
#: Largest JSON metadata read per Keras object.
MAX_METADATA = 64 << 20
_OPDEF_NAME = 1
#: NodeDef field -> wire type: name, op, input, device, attr, debug info, type.
_NODE_FIELDS = {1: LEN, 2: LEN, 3: LEN, 4: LEN, 5: LEN, 6: LEN, 7: LEN}
#: MetaGraphDef fields (all sub-messages or maps): meta_info_def ... object_graph_def.
_META_GRAPH_FIELDS = frozenset(range(1, 8))
_NONE = (0, -1, 0, 0)
_UNBOUNDED = 1 << 62
_IDENTIFIER = re.compile(rb"[A-Za-z_][A-Za-z0-9_./>-]*\Z")


class GraphKind(str, enum.Enum):
    # the values are the format names scan reports (sniff.Format)
    SAVED_MODEL = "tf-savedmodel"
    GRAPH_DEF = "tf-graphdef"
    #: ``keras_metadata.pb`` beside a TF-Keras SavedModel: the layers' configs as JSON.
    KERAS_METADATA = "tf-keras-metadata"


class TensorflowFormatError(ValueError):
    """The bytes are not a well-formed SavedModel or GraphDef."""


class TensorflowLimit(ValueError):
    """The graph has more fields than the walk reads."""


@dataclass(frozen=True)
class OpUse:
    """One node: its op, its name, and the library function it sits in ("" for the graph)."""

    op: str
    node: str
    function: str


@dataclass(frozen=True)
class TensorflowGraph:
    kind: GraphKind
    nodes: tuple[OpUse, ...]


def identify(head: bytes, size: int) -> GraphKind | None:
    """What ``head`` (the first bytes of a ``size``-byte file) starts, if a TF graph."""
    window = _Window(None, head, size)
    limit = min(len(head), size)
    try:
        if head[:1] == b"\x08" and _starts_saved_model(window, limit, size):
            return GraphKind.SAVED_MODEL
        if head[:1] == b"\x0a" and _starts_keras_metadata(window, limit):
            return GraphKind.KERAS_METADATA
        if head[:1] == b"\x0a" and _starts_graph_def(window, limit, size):
            return GraphKind.GRAPH_DEF
    except (OnnxFormatError, IndexError):
        return None
    return None


def _starts_saved_model(window: _Window, limit: int, size: int) -> bool:
    # the end is not checked here: a truncated file is still a SavedModel, read_graph says it is cut
    fields = _fields(window, 0, _UNBOUNDED)
    number, wire, version, _ = next(fields, _NONE)
    if (number, wire) != (_SAVED_SCHEMA, VARINT) or not 1 <= version <= 16:
        return False
    number, wire, start, length = next(fields, _NONE)
    if (number, wire) != (_SAVED_META_GRAPH, LEN) or length == 0 or start >= limit:
        return False
    first = next(_fields(window, start, start + length), _NONE)
    return first[0] in _META_GRAPH_FIELDS and first[1] == LEN


def _starts_keras_metadata(window: _Window, limit: int) -> bool:
    """SavedMetadata: nodes=1 of SavedObject (version=1, node_id=2, node_path=3, identifier=4)."""
    number, wire, start, length = next(_fields(window, 0, _UNBOUNDED), _NONE)
    if (number, wire) != (_METADATA_NODE, LEN):
        return False
    for sub, sub_wire, value, sub_len in _fields(window, start, start + length):
        if _SAVED_OBJECT_FIELDS.get(sub) != sub_wire:
            return False
        if sub == _OBJECT_IDENTIFIER:
            return value + sub_len <= limit and window.read(value, sub_len).startswith(b"_tf_keras")
        if sub == _OBJECT_METADATA:
            return False  # the identifier is written first
    return False


def _starts_graph_def(window: _Window, limit: int, size: int) -> bool:
    number, wire, start, length = next(_fields(window, 0, _UNBOUNDED), _NONE)
    if (number, wire) != (_GRAPH_NODE, LEN) or length < 4:
        return False
    seen: list[int] = []
    for sub, sub_wire, value, sub_len in _fields(window, start, start + length):
        if _NODE_FIELDS.get(sub) != sub_wire:
            return False
        named = sub in (_NODE_NAME, _NODE_OP)
        if named and (
            value + sub_len > limit or not _IDENTIFIER.match(window.read(value, sub_len))
        ):
            return False
        seen.append(sub)
        if len(seen) == 2:
            break
    return seen == [_NODE_NAME, _NODE_OP]


@dataclass(frozen=True)
class KerasObject:
    """One Keras object of ``keras_metadata.pb``: where it sits and its JSON metadata."""

    path: str
    identifier: str
    metadata: bytes


def read_keras_metadata(handle: BinaryIO, size: int) -> tuple[KerasObject, ...]:
    """Every object of a ``keras_metadata.pb``; raises TensorflowFormatError or TensorflowLimit."""
    walk = _Walk(_Window(handle, size=size))
    objects = []
    try:
        for number, wire, start, length in walk.fields(0, size):
            if number == _METADATA_NODE and wire == LEN:
                objects.append(walk.keras_object(start, length))
    except OnnxFormatError as exc:
        raise TensorflowFormatError(str(exc)) from None
    return tuple(objects)


def read_graph(handle: BinaryIO, size: int | None = None, head: bytes = b"") -> TensorflowGraph:
    """Every node of the graph in ``handle``; raises TensorflowFormatError or TensorflowLimit."""
    if size is None:
        size = os.fstat(handle.fileno()).st_size
    window = _Window(handle, size=size)
    if not head:
        head = window.read(0, 4096)
    kind = identify(head, size)
    if kind not in (GraphKind.SAVED_MODEL, GraphKind.GRAPH_DEF):
        raise TensorflowFormatError("neither a SavedModel nor a GraphDef")
    walk = _Walk(window)
    try:
        if kind is GraphKind.SAVED_MODEL:
            walk.saved_model(size)
        else:
            walk.graph(0, size)
    except OnnxFormatError as exc:
        raise TensorflowFormatError(str(exc)) from None
    return TensorflowGraph(kind, tuple(walk.nodes))


class _Walk:
    def __init__(self, window: _Window) -> None:
        self.window = window
        self.count = 0
        self.nodes: list[OpUse] = []

    def fields(self, start: int, end: int) -> Iterator[tuple[int, int, int, int]]:
        for field in _fields(self.window, start, end):
            self.count += 1
            if self.count > MAX_FIELDS:
                raise TensorflowLimit(f"more than {MAX_FIELDS} protobuf fields")
            yield field

    def text(self, start: int, length: int) -> str:
        return self.window.read(start, min(length, MAX_NAME)).decode("utf-8", "replace")

    def saved_model(self, size: int) -> None:
        for number, wire, value, length in self.fields(0, size):
            if number == _SAVED_META_GRAPH and wire == LEN:
                for sub, sub_wire, start, sub_len in self.fields(value, value + length):
                    if sub == _META_GRAPH_DEF and sub_wire == LEN:
                        self.graph(start, start + sub_len)

    def graph(self, start: int, end: int) -> None:
        for number, wire, value, length in self.fields(start, end):
            if wire != LEN:
                continue
            if number == _GRAPH_NODE:
                self.node(value, length, "")
            elif number == _GRAPH_LIBRARY:
                self.library(value, length)

    def library(self, start: int, length: int) -> None:
        for number, wire, value, sub_len in self.fields(start, start + length):
            if number == _LIBRARY_FUNCTION and wire == LEN:
                self.function(value, sub_len)

    def function(self, start: int, length: int) -> None:
        name, nodes = "", []
        for number, wire, value, sub_len in self.fields(start, start + length):
            if number == _FUNCTION_SIGNATURE and wire == LEN:
                name = self.opdef_name(value, sub_len)
            elif number == _FUNCTION_NODE and wire == LEN:
                nodes.append((value, sub_len))
        for value, sub_len in nodes:
            self.node(value, sub_len, name or "?")

    def opdef_name(self, start: int, length: int) -> str:
        for number, wire, value, sub_len in self.fields(start, start + length):
            if number == _OPDEF_NAME and wire == LEN:
                return self.text(value, sub_len)
        return ""

    def keras_object(self, start: int, length: int) -> KerasObject:
        path = identifier = ""
        metadata = b""
        for number, wire, value, sub_len in self.fields(start, start + length):
            if wire != LEN:
                continue
            if number == _OBJECT_PATH:
                path = self.text(value, sub_len)
            elif number == _OBJECT_IDENTIFIER:
                identifier = self.text(value, sub_len)
            elif number == _OBJECT_METADATA:
                if sub_len > MAX_METADATA:
                    raise TensorflowLimit(f"Keras metadata of {sub_len} bytes at {path!r}")
                metadata = self.window.read(value, sub_len)
        return KerasObject(path, identifier, metadata)

    def node(self, start: int, length: int, function: str) -> None:
        name = op = ""
        for number, wire, value, sub_len in self.fields(start, start + length):
            if number == _NODE_NAME and wire == LEN:
                name = self.text(value, sub_len)
            elif number == _NODE_OP and wire == LEN:
                op = self.text(value, sub_len)
        self.nodes.append(OpUse(op, name, function))
