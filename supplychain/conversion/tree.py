"""What a checkpoint holds, once interpreted: containers, tensor views and everything else.

The interpreter (:mod:`supplychain.conversion.interpret`) turns the inert
pickle graph into these values; numpy files produce them directly. Tensor
views are shared objects: two names bound to one view are tied weights.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Union

from supplychain.conversion.dtypes import DType


@dataclass(frozen=True, eq=False)
class TensorView:
    """A dense tensor: ``shape``/``stride`` elements of ``dtype`` from ``offset`` of a storage."""

    storage: str
    dtype: DType
    #: In elements of ``dtype``.
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]
    #: Lazily conjugated / negated (torch's conj and neg bits): resolved while writing.
    conj: bool = False
    neg: bool = False
    #: The storage holds big-endian values (torch ``byteorder`` record, numpy ``>`` types).
    big_endian: bool = False
    #: How the checkpoint builds it (``torch._utils._rebuild_tensor_v2``, ``numpy array``).
    origin: str = ""

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.numel * self.dtype.itemsize

    @property
    def contiguous(self) -> bool:
        """Row-major with no gaps (dimensions of size 1 may have any stride)."""
        expected = 1
        for size, stride in zip(reversed(self.shape), reversed(self.stride), strict=True):
            if size != 1 and stride != expected:
                return False
            expected *= size
        return True

    @property
    def plain(self) -> bool:
        """The output bytes are a straight copy of a storage range (the fast path)."""
        return (self.contiguous or self.numel == 0) and not (
            self.conj or self.neg or (self.big_endian and self.dtype.unit > 1)
        )

    @property
    def byte_range(self) -> tuple[int, int]:
        """[first, last) storage bytes any element touches (empty views: an empty range)."""
        start = self.offset * self.dtype.itemsize
        if self.numel == 0:
            return start, start
        last = self.offset + sum(
            (size - 1) * stride for size, stride in zip(self.shape, self.stride, strict=True)
        )
        return start, (last + 1) * self.dtype.itemsize

    def identity(self) -> tuple[object, ...]:
        """Views with equal identities are the same tensor (tied weights)."""
        return (
            self.storage,
            self.dtype.code,
            self.offset,
            self.shape,
            self.stride,
            self.conj,
            self.neg,
            self.big_endian,
        )


@dataclass(frozen=True, eq=False)
class Unsupported:
    """A tensor safetensors cannot hold (quantized, sparse, meta, complex128...)."""

    kind: str
    reason: str


@dataclass(frozen=True, eq=False)
class Leaf:
    """A value that is not a tensor."""

    #: What it is: ``int``, ``str``, ``torch.dtype``, or the class of a foreign object.
    type_name: str
    #: An object of a class this converter will not interpret (it would need the class's code).
    foreign: bool = False
    #: Tensors reachable inside a foreign object's arguments or state.
    tensors_inside: int = 0


@dataclass(eq=False)
class Mapping:
    """A dict, OrderedDict or Counter: keys in insertion order."""

    type_name: str
    items: list[tuple[object, Node]] = field(default_factory=list)
    #: Attributes set on it by BUILD (a torch state_dict's ``_metadata``).
    attributes: list[tuple[str, Node]] = field(default_factory=list)

    def get(self, key: object) -> Node | None:
        found = None
        for item_key, value in self.items:
            if item_key == key and type(item_key) is type(key):
                found = value  # a later SETITEM wins, as in a dict
        return found

    @property
    def is_optimizer_state(self) -> bool:
        keys = {k for k, _ in self.items}
        return keys == {"state", "param_groups"}


@dataclass(eq=False)
class Sequence:
    """A list or tuple."""

    type_name: str
    items: list[Node] = field(default_factory=list)


Node = Union[TensorView, Unsupported, Leaf, Mapping, Sequence]  # noqa: UP007 (a runtime alias on 3.10)
