"""ONNX models read by structure: a bounded walk of the ModelProto protobuf, no dependency.

Identification (:func:`looks_like_model`) checks that the first bytes are a
well-formed ``ModelProto`` (field numbers, wire types, an ``ir_version`` and a
``graph``), so exporters that never write the word "onnx" near the start are
still recognised. :func:`read_model` walks every graph (subgraphs, functions,
training graphs) for the tensors whose bytes live in external files, skipping
tensor data by offset, within depth and field-count bounds.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

#: Protobuf wire types.
VARINT, I64, LEN, I32 = 0, 1, 2, 5
#: How deep graphs may nest (If/Loop bodies, functions) before the walk stops.
MAX_DEPTH = 32
#: Fields walked per model before the walk stops (a cap, reported as a limit).
MAX_FIELDS = 2_000_000
#: Highest ir_version accepted by identification (ONNX 1.19 writes 11).
MAX_IR_VERSION = 64

#: ModelProto field -> wire type (onnx.proto3); anything else is not an ONNX model.
_MODEL_FIELDS = {
    1: VARINT,  # ir_version
    2: LEN,  # producer_name
    3: LEN,  # producer_version
    4: LEN,  # domain
    5: VARINT,  # model_version
    6: LEN,  # doc_string
    7: LEN,  # graph
    8: LEN,  # opset_import
    14: LEN,  # metadata_props
    20: LEN,  # training_info
    25: LEN,  # functions
    26: LEN,  # configuration
}
# Sub-message fields the walk descends into, per message type.
_GRAPH_NODE, _GRAPH_INITIALIZER, _GRAPH_SPARSE = 1, 5, 15
_NODE_ATTRIBUTE = 5
_ATTRIBUTE_TENSOR, _ATTRIBUTE_GRAPH, _ATTRIBUTE_TENSORS, _ATTRIBUTE_GRAPHS = 5, 6, 10, 11
_ATTRIBUTE_SPARSE, _ATTRIBUTE_SPARSES = 22, 23
_SPARSE_VALUES, _SPARSE_INDICES = 1, 2
_TENSOR_NAME, _TENSOR_EXTERNAL, _TENSOR_LOCATION = 8, 13, 14
_FUNCTION_NODE = 7
_TRAINING_GRAPHS = (1, 2)
_DATA_LOCATION_EXTERNAL = 1


class OnnxFormatError(ValueError):
    """The bytes are not a well-formed ONNX model."""


class OnnxLimit(ValueError):
    """The model nests deeper or has more fields than the walk reads."""


@dataclass(frozen=True)
class ExternalData:
    """A tensor whose bytes live in another file, as the model names it."""

    tensor: str
    location: str


@dataclass(frozen=True)
class OnnxModel:
    ir_version: int
    producer: str
    #: (domain, version) of every opset_import ("" is the default ONNX domain).
    opsets: tuple[tuple[str, int], ...]
    external: tuple[ExternalData, ...]


class _Window:
    """Random-access reads of a file (or bytes) through one cached chunk."""

    CHUNK = 1 << 20

    def __init__(self, handle: BinaryIO | None, data: bytes = b"", size: int | None = None):
        self.handle = handle
        self.size = len(data) if size is None else size
        self._start = 0
        self._chunk = data

    def read(self, offset: int, length: int) -> bytes:
        end = min(offset + length, self.size)
        if self._start <= offset and end <= self._start + len(self._chunk):
            return self._chunk[offset - self._start : end - self._start]
        if self.handle is None:
            return self._chunk[max(0, offset - self._start) : max(0, end - self._start)]
        self.handle.seek(offset)
        self._start, self._chunk = offset, self.handle.read(max(self.CHUNK, end - offset))
        return self._chunk[: end - offset]


def _varint(window: _Window, offset: int, end: int) -> tuple[int, int]:
    """(value, offset after it); raises when the varint is cut or longer than 10 bytes."""
    raw = window.read(offset, min(10, end - offset))
    value = 0
    for index, byte in enumerate(raw):
        value |= (byte & 0x7F) << (7 * index)
        if not byte & 0x80:
            return value, offset + index + 1
    raise OnnxFormatError(f"malformed varint at offset {offset}")


def _fields(window: _Window, start: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """(field number, wire type, value or payload offset, payload length) of one message."""
    offset = start
    while offset < end:
        key, offset = _varint(window, offset, end)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise OnnxFormatError(f"field number 0 at offset {offset}")
        if wire == VARINT:
            value, offset = _varint(window, offset, end)
            yield number, wire, value, 0
            continue
        if wire == LEN:
            length, offset = _varint(window, offset, end)
            payload, offset = offset, offset + length
        elif wire in (I64, I32):
            length = 8 if wire == I64 else 4
            payload, offset = offset, offset + length
        else:
            raise OnnxFormatError(f"wire type {wire} (groups or invalid) at offset {offset}")
        if offset > end:
            raise OnnxFormatError(f"field {number} runs past the end of its message")
        yield number, wire, payload, length


def looks_like_model(head: bytes, size: int) -> bool:
    """True when ``head`` (the first bytes of a ``size``-byte file) starts a ModelProto.

    Every field that starts inside ``head`` must be a ModelProto field with its
    wire type; ``ir_version`` comes first (as every writer orders it) and a
    ``graph`` must start inside ``head``.
    """
    if not head.startswith(b"\x08") or size < 4:
        return False
    window = _Window(None, head, size)
    limit = min(len(head), size)
    offset = 0
    seen: list[int] = []
    while offset < limit:
        try:
            key, offset = _varint(window, offset, size)
            number, wire = key >> 3, key & 7
            if _MODEL_FIELDS.get(number) != wire:
                return False
            value, offset = _varint(window, offset, size)
        except OnnxFormatError:
            # a field cut by the end of ``head`` cannot be judged; one cut earlier is broken
            return offset >= limit - 20 and 7 in seen
        if not seen and (number != 1 or not 1 <= value <= MAX_IR_VERSION):
            return False
        if wire == LEN:
            offset += value
            if offset > size:
                return False
        seen.append(number)
    return 7 in seen and (offset == size or offset >= limit)


def read_model(handle: BinaryIO, size: int | None = None) -> OnnxModel:
    """Walk the model in ``handle`` (bounded); raises OnnxFormatError or OnnxLimit."""
    if size is None:
        size = os.fstat(handle.fileno()).st_size
    walk = _Walk(_Window(handle, size=size))
    ir_version, producer, opsets = 0, "", []
    for number, wire, value, length in walk.fields(0, size):
        if _MODEL_FIELDS.get(number) not in (None, wire):
            raise OnnxFormatError(f"ModelProto field {number} has wire type {wire}")
        if number == 1:
            ir_version = value
        elif number == 2:
            producer = walk.text(value, length)
        elif number == 7:
            walk.graph(value, length, 1)
        elif number == 8:
            opsets.append(walk.opset(value, length))
        elif number == 20:
            for sub, sub_wire, start, sub_len in walk.fields(value, value + length):
                if sub in _TRAINING_GRAPHS and sub_wire == LEN:
                    walk.graph(start, sub_len, 1)
        elif number == 25:
            walk.function(value, length, 1)
    if ir_version == 0:
        raise OnnxFormatError("no ir_version: not an ONNX model")
    return OnnxModel(ir_version, producer, tuple(opsets), tuple(walk.external))


class _Walk:
    def __init__(self, window: _Window) -> None:
        self.window = window
        self.count = 0
        self.external: list[ExternalData] = []

    def fields(self, start: int, end: int) -> Iterator[tuple[int, int, int, int]]:
        for field in _fields(self.window, start, end):
            self.count += 1
            if self.count > MAX_FIELDS:
                raise OnnxLimit(f"more than {MAX_FIELDS} protobuf fields")
            yield field

    def text(self, start: int, length: int) -> str:
        return self.window.read(start, min(length, 4096)).decode("utf-8", "replace")

    def opset(self, start: int, length: int) -> tuple[str, int]:
        domain, version = "", 0
        for number, wire, value, sub_len in self.fields(start, start + length):
            if number == 1 and wire == LEN:
                domain = self.text(value, sub_len)
            elif number == 2 and wire == VARINT:
                version = value
        return domain, version

    def _depth(self, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise OnnxLimit(f"graphs nest deeper than {MAX_DEPTH}")

    def graph(self, start: int, length: int, depth: int) -> None:
        self._depth(depth)
        for number, wire, value, sub_len in self.fields(start, start + length):
            if wire != LEN:
                continue
            if number == _GRAPH_NODE:
                self.node(value, sub_len, depth)
            elif number == _GRAPH_INITIALIZER:
                self.tensor(value, sub_len)
            elif number == _GRAPH_SPARSE:
                self.sparse(value, sub_len)

    def function(self, start: int, length: int, depth: int) -> None:
        self._depth(depth)
        for number, wire, value, sub_len in self.fields(start, start + length):
            if number == _FUNCTION_NODE and wire == LEN:
                self.node(value, sub_len, depth)

    def node(self, start: int, length: int, depth: int) -> None:
        for number, wire, value, sub_len in self.fields(start, start + length):
            if number == _NODE_ATTRIBUTE and wire == LEN:
                self.attribute(value, sub_len, depth)

    def attribute(self, start: int, length: int, depth: int) -> None:
        for number, wire, value, sub_len in self.fields(start, start + length):
            if wire != LEN:
                continue
            if number in (_ATTRIBUTE_TENSOR, _ATTRIBUTE_TENSORS):
                self.tensor(value, sub_len)
            elif number in (_ATTRIBUTE_GRAPH, _ATTRIBUTE_GRAPHS):
                self.graph(value, sub_len, depth + 1)
            elif number in (_ATTRIBUTE_SPARSE, _ATTRIBUTE_SPARSES):
                self.sparse(value, sub_len)

    def sparse(self, start: int, length: int) -> None:
        for number, wire, value, sub_len in self.fields(start, start + length):
            if number in (_SPARSE_VALUES, _SPARSE_INDICES) and wire == LEN:
                self.tensor(value, sub_len)

    def tensor(self, start: int, length: int) -> None:
        name, locations, external = "", [], False
        for number, wire, value, sub_len in self.fields(start, start + length):
            if number == _TENSOR_NAME and wire == LEN:
                name = self.text(value, sub_len)
            elif number == _TENSOR_LOCATION and wire == VARINT:
                external = value == _DATA_LOCATION_EXTERNAL
            elif number == _TENSOR_EXTERNAL and wire == LEN:
                key, text = self.entry(value, sub_len)
                if key == "location":
                    locations.append(text)
        if external or locations:
            # a tensor marked external without a location is still external data
            self.external.extend(ExternalData(name, loc) for loc in locations or [""])

    def entry(self, start: int, length: int) -> tuple[str, str]:
        key = value_text = ""
        for number, wire, value, sub_len in self.fields(start, start + length):
            if wire == LEN and number == 1:
                key = self.text(value, sub_len)
            elif wire == LEN and number == 2:
                value_text = self.window.read(value, min(sub_len, 1 << 16)).decode(
                    "utf-8", "replace"
                )
        return key, value_text


_DRIVE = re.compile(r"^[A-Za-z]:")


def location_problem(location: str) -> str | None:
    """Why an external-data location escapes the model's directory, or None when it stays inside.

    ONNX loaders join the location to the model's folder: an absolute path or
    a ``..`` component reads (or, on save, writes) any file the process can.
    """
    if not location:
        return "an empty location (the loader opens the model's own folder)"
    if "\x00" in location:
        return "a NUL byte in the location"
    if location.startswith(("/", "\\")) or _DRIVE.match(location):
        return f"an absolute path ({location!r})"
    parts = re.split(r"[\\/]", location)
    if ".." in parts:
        return f"a '..' component ({location!r}) that climbs out of the model's folder"
    return None
