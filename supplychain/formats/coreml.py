"""CoreML ``.mlmodel``: a protobuf ``Model`` (Model.proto), recognised and walked by structure.

A Model starts with ``specificationVersion`` (field 1, varint), its
``description`` (field 2), optionally ``isUpdatable`` (10), then one field of
the ``Type`` oneof, numbered 200 and up (pipelines 200-202, neural networks
303/403/500, ``CustomModel`` 555, ...). Neither ONNX nor TensorFlow has a
top-level field that high, which is what tells the formats apart.

The walk reports the native code a model needs: a ``CustomModel`` and any
neural-network layer of the ``custom`` kind name a class the app must supply
(``className``). Pipelines are followed into their models, bounded in depth.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from supplychain.formats.onnx import LEN, VARINT, OnnxFormatError, _fields, _Window

#: Highest specificationVersion accepted (coremltools 8 writes 9).
MAX_SPEC_VERSION = 32
#: Pipelines nested in pipelines before the walk stops.
MAX_DEPTH = 16
#: Fields walked per model file before the walk stops.
MAX_FIELDS = 2_000_000
_SPEC_VERSION, _DESCRIPTION, _UPDATABLE = 1, 2, 10
#: Type oneof numbers that are pipelines (field 1 a Pipeline, whose field 1 lists Models).
_PIPELINES = frozenset({200, 201, 202})
#: Neural network types (field 1: repeated NeuralNetworkLayer).
_NEURAL_NETWORKS = frozenset({303, 403, 500})
_CUSTOM_MODEL = 555
_LAYER_CUSTOM = 500
_CUSTOM_CLASS_NAME = 10
_LAYER_NAME = 1
_FIRST_TYPE = 200


class CoremlFormatError(ValueError):
    """The bytes are not a well-formed CoreML model."""


class CoremlLimit(ValueError):
    """The model nests deeper or has more fields than the walk reads."""


@dataclass(frozen=True)
class NativeCode:
    """A custom model or layer: the class the app must register, and where it is used."""

    class_name: str
    where: str


def looks_like_model(head: bytes, size: int, read_at: Callable[[int, int], bytes]) -> bool:
    """Version, description, then a Type field; ``read_at`` reads past ``head`` when needed."""
    if not head.startswith(b"\x08") or size < 4:
        return False
    window = _Window(None, head, size)
    try:
        fields = _fields(window, 0, size)
        number, wire, version, _ = next(fields)
        if (number, wire) != (_SPEC_VERSION, VARINT) or not 1 <= version <= MAX_SPEC_VERSION:
            return False
        number, wire, start, length = next(fields)
        if (number, wire) != (_DESCRIPTION, LEN):
            return False
        after = start + length
        if after >= size:
            return False
        tail = _Window(None, read_at(after, 32), size - after)
        for number, wire, _, _ in _fields(tail, 0, size - after):
            if number == _UPDATABLE and wire == VARINT:
                continue
            return number >= _FIRST_TYPE and wire == LEN
    except (OnnxFormatError, StopIteration, IndexError):
        return False
    return False


def native_code(handle: BinaryIO, size: int) -> tuple[NativeCode, ...]:
    """Every custom model and custom layer in the model (pipelines followed)."""
    walk = _Walk(_Window(handle, size=size))
    try:
        return tuple(walk.model(0, size, "model", 0))
    except OnnxFormatError as exc:
        raise CoremlFormatError(str(exc)) from exc


class _Walk:
    def __init__(self, window: _Window) -> None:
        self.window = window
        self.fields = 0

    def each(self, start: int, end: int) -> Iterator[tuple[int, int, int, int]]:
        for field in _fields(self.window, start, end):
            self.fields += 1
            if self.fields > MAX_FIELDS:
                raise CoremlLimit(f"more than {MAX_FIELDS} protobuf fields")
            yield field

    def model(self, start: int, end: int, where: str, depth: int) -> Iterator[NativeCode]:
        if depth > MAX_DEPTH:
            raise CoremlLimit(f"pipelines nested more than {MAX_DEPTH} deep")
        for number, wire, value, length in self.each(start, end):
            if wire != LEN:
                continue
            if number == _CUSTOM_MODEL:
                yield NativeCode(self.class_name(value, value + length), where)
            elif number in _NEURAL_NETWORKS:
                yield from self.layers(value, value + length, where)
            elif number in _PIPELINES:
                yield from self.pipeline(number, value, value + length, where, depth)

    def pipeline(
        self, kind: int, start: int, end: int, where: str, depth: int
    ) -> Iterator[NativeCode]:
        # PipelineClassifier/Regressor wrap a Pipeline in field 1; a Pipeline lists Models in 1
        index = 0
        for number, wire, value, length in self.each(start, end):
            if number != 1 or wire != LEN:
                continue
            if kind != 202:
                yield from self.pipeline(202, value, value + length, where, depth)
                continue
            yield from self.model(value, value + length, f"{where}/models[{index}]", depth + 1)
            index += 1

    def layers(self, start: int, end: int, where: str) -> Iterator[NativeCode]:
        for number, wire, value, length in self.each(start, end):
            if number != 1 or wire != LEN:
                continue
            name = ""
            for sub, sub_wire, sub_value, sub_length in self.each(value, value + length):
                if sub == _LAYER_NAME and sub_wire == LEN:
                    name = self.text(sub_value, sub_length)
                elif sub == _LAYER_CUSTOM and sub_wire == LEN:
                    class_name = self.class_name(sub_value, sub_value + sub_length)
                    yield NativeCode(class_name, f"{where}/layer {name!r}")

    def class_name(self, start: int, end: int) -> str:
        for number, wire, value, length in self.each(start, end):
            if number == _CUSTOM_CLASS_NAME and wire == LEN:
                return self.text(value, length)
        return ""

    def text(self, offset: int, length: int) -> str:
        return self.window.read(offset, min(length, 256)).decode("utf-8", errors="replace")
