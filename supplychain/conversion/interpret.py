"""Read a torch checkpoint's inert pickle graph as containers, tensor views and plain values.

Only the globals of convert.md §7.1 mean anything here: the torch rebuild
functions, storage classes and dtypes, ``collections.OrderedDict``, a few
builtins, and numpy arrays of plain dtypes. Every other call is an object of
a foreign class: it becomes an opaque :class:`~supplychain.conversion.tree.Leaf`
(never resolved, never called), and the caller decides whether one may sit
where it sits. Tensors that cannot be represented become
:class:`~supplychain.conversion.tree.Unsupported` with a named reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from supplychain.conversion import dtypes
from supplychain.conversion.errors import CheckpointFormatError
from supplychain.conversion.tree import Leaf, Mapping, Node, Sequence, TensorView, Unsupported
from supplychain.picklevm import Call, CallKind, Global, LargeBytes, Opaque, PersistentRef

_UTILS = "torch._utils."
REBUILD_V1 = _UTILS + "_rebuild_tensor"
REBUILD_V2 = _UTILS + "_rebuild_tensor_v2"
REBUILD_V3 = _UTILS + "_rebuild_tensor_v3"
PARAMETER = _UTILS + "_rebuild_parameter"
PARAMETER_WITH_STATE = _UTILS + "_rebuild_parameter_with_state"
FROM_TYPE = "torch._tensor._rebuild_from_type_v2"
TENSOR_REBUILDS = frozenset({REBUILD_V1, REBUILD_V2, REBUILD_V3, PARAMETER, PARAMETER_WITH_STATE})
#: ``_rebuild_from_type_v2`` may only re-type a tensor as one of these.
PLAIN_TENSOR_TYPES = frozenset(
    {"torch.nn.parameter.Parameter", "torch.Tensor", "torch._tensor.Tensor"}
)

#: Tensor kinds torch can pickle and safetensors cannot hold.
REFUSED_REBUILDS: dict[str, str] = {
    _UTILS + "_rebuild_qtensor": "quantized tensor",
    _UTILS + "_rebuild_sparse_tensor": "sparse tensor",
    _UTILS + "_rebuild_sparse_csr_tensor": "sparse tensor",
    _UTILS + "_rebuild_meta_tensor_no_storage": "meta tensor (it has no data)",
    _UTILS + "_rebuild_nested_tensor": "nested tensor",
    _UTILS + "_rebuild_wrapper_subclass": "tensor wrapper subclass",
    _UTILS + "_rebuild_device_tensor_from_cpu_tensor": "device tensor (XLA, MAIA, MTIA...)",
    _UTILS + "_rebuild_device_tensor_from_numpy": "device tensor (XLA, MAIA, MTIA...)",
    _UTILS + "_rebuild_xla_tensor": "device tensor (XLA)",
    _UTILS + "_rebuild_mlc_tensor": "device tensor (MLC)",
}

#: The mapping classes torch's weights-only unpickler builds (``defaultdict`` and a GLOBAL
#: ``builtins.dict`` are not among them: torch refuses those files, so do we).
MAPPINGS = frozenset({"collections.OrderedDict", "collections.Counter"})
#: ``torch.nn.Parameter(data[, requires_grad])``, called directly by old torch's pickles.
PARAMETER_CLASS = "torch.nn.parameter.Parameter"
#: Sets are containers torch reads, but their members have no names to export them under.
SETS = frozenset({"builtins.set", "builtins.frozenset"})
#: Calls that build plain data (reported as such, never needed to locate a tensor).
DATA_CALLS: dict[str, str] = {
    "torch.Size": "torch.Size",
    "torch.device": "torch.device",
    "_codecs.encode": "bytes",
    "builtins.set": "set",
    "builtins.frozenset": "frozenset",
    "builtins.complex": "complex",
    "builtins.bytearray": "bytearray",
    "builtins.slice": "slice",
    "builtins.range": "range",
    "builtins.bytes": "bytes",
    "builtins.int": "int",
    "builtins.float": "float",
    "builtins.str": "str",
    "builtins.bool": "bool",
    "builtins.tuple": "tuple",
    "builtins.list": "list",
    "numpy.dtype": "numpy.dtype",
    "numpy.core.multiarray.scalar": "numpy scalar",
    "numpy._core.multiarray.scalar": "numpy scalar",
}
NUMPY_RECONSTRUCT = frozenset(
    {"numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct"}
)
NUMPY_NDARRAY = "numpy.ndarray"

#: Nesting deeper than this is refused (a pickle can nest far deeper than anything real).
MAX_DEPTH = 512


class StorageResolver:
    """What the container knows about storages and inline bytes (supplied by the caller)."""

    def __init__(
        self,
        persistent: Callable[[Any], tuple[str, str, int]],
        inline: Callable[[Any, int], str | None],
        big_endian: bool,
    ) -> None:
        #: pid -> (storage key, storage class name, bytes the pid declares); raises on bad pids.
        self.persistent = persistent
        #: (raw data node, byte count) -> storage key for numpy bytes inside the pickle, or None.
        self.inline = inline
        self.big_endian = big_endian


class Interpreter:
    """Turns graph nodes into tree nodes, once per node (shared nodes stay shared)."""

    def __init__(self, storages: StorageResolver) -> None:
        self.storages = storages
        self._done: dict[int, Node] = {}
        self._active: set[int] = set()
        self._keep: list[Any] = []  # keeps ids stable while the memo refers to them

    def node(self, value: Any, depth: int = 0) -> Node:
        if depth > MAX_DEPTH:
            raise CheckpointFormatError(
                f"the checkpoint nests containers more than {MAX_DEPTH} levels deep"
            )
        scalar = _scalar_leaf(value)
        if scalar is not None:
            return scalar
        key = id(value)
        cached = self._done.get(key)
        if cached is not None:
            return cached
        if key in self._active:
            raise CheckpointFormatError(
                "a container contains itself (a cycle through the memo)",
                hint="no checkpoint torch writes has cycles",
            )
        self._active.add(key)
        try:
            result = self._build(value, depth)
        finally:
            self._active.discard(key)
        self._done[key] = result
        self._keep.append(value)
        return result

    def _build(self, value: Any, depth: int) -> Node:
        if isinstance(value, dict):
            return self._mapping("dict", list(value.items()), [], depth)
        if isinstance(value, (list, tuple)):
            return Sequence(type(value).__name__, [self.node(v, depth + 1) for v in value])
        if isinstance(value, Call):
            return self._call(value, depth)
        if isinstance(value, Global):
            return _global_leaf(value)
        if isinstance(value, PersistentRef):
            return Leaf("torch storage (not a tensor)")
        if isinstance(value, LargeBytes):
            return Leaf("str" if value.kind in ("str", "str8") else "bytes")
        if isinstance(value, Opaque):
            return Leaf(f"undecodable value ({value.reason})")
        if isinstance(value, (set, frozenset)):
            return Leaf(type(value).__name__)
        return Leaf(type(value).__name__, foreign=True)

    def _mapping(
        self,
        type_name: str,
        pairs: list[tuple[Any, Any]],
        attributes: list[tuple[str, Any]],
        depth: int,
    ) -> Mapping:
        merged: dict[Any, Any] = {}
        for key, value in pairs:
            try:
                merged[key] = value  # a repeated key keeps its first position, last value
            except TypeError:
                raise CheckpointFormatError(
                    f"unhashable key of type {type(key).__name__}"
                ) from None
        mapping = Mapping(type_name)
        for key, value in merged.items():
            mapping.items.append((key, self.node(value, depth + 1)))
        for name, value in attributes:
            mapping.attributes.append((name, self.node(value, depth + 1)))
        return mapping

    # -- calls ------------------------------------------------------------------------------------
    def _call(self, call: Call, depth: int) -> Node:
        target = call.target
        name = target.qualified if target is not None else None
        if name is None:
            return self._foreign(call, "an object built by a callable that cannot be named")
        if name in TENSOR_REBUILDS or name == FROM_TYPE:
            if call.setitems or call.appends or call.additems or call.states:
                return Unsupported("tensor", "the pickle modifies the tensor after building it")
            return self._tensor(call, name, depth)
        if name in REFUSED_REBUILDS:
            return Unsupported(REFUSED_REBUILDS[name], f"{REFUSED_REBUILDS[name]} ({name})")
        if name == PARAMETER_CLASS and call.kind.value in ("REDUCE", "NEWOBJ"):
            return self._parameter_class(call, depth)
        storage_class = dtypes.legacy_tensor_storage(name)
        if storage_class is not None and call.kind.value in ("REDUCE", "NEWOBJ"):
            return self._legacy_tensor(call, name, storage_class)
        if name in SETS and count_tensors(call):
            return Unsupported(
                "set of tensors", "tensors in a set have no names to export them under"
            )
        if name in MAPPINGS and call.kind.value in ("REDUCE", "NEWOBJ") and not call.appends:
            pairs = _constructor_pairs(call, name)
            if pairs is not None:
                return self._mapping(
                    name.split(".")[-1],
                    pairs + list(call.setitems),
                    _attributes(call.states),
                    depth,
                )
        if name in NUMPY_RECONSTRUCT:
            return self._numpy_array(call)
        if name in DATA_CALLS:
            return Leaf(DATA_CALLS[name])
        return self._foreign(call, name)

    def _foreign(self, call: Call, name: str) -> Leaf:
        return Leaf(name, foreign=True, tensors_inside=count_tensors(call))

    def _tensor(self, call: Call, name: str, depth: int) -> Node:
        args = call.args
        if not isinstance(args, tuple):
            return Unsupported("tensor", f"{name} called with computed arguments")
        if name in (PARAMETER, PARAMETER_WITH_STATE):
            if len(args) not in (3, 4) or (name == PARAMETER_WITH_STATE) != (len(args) == 4):
                return Unsupported("parameter", f"{name} with {len(args)} arguments")
            inner = self.node(args[0], depth + 1)
            if isinstance(inner, (TensorView, Unsupported)):
                return inner
            return Unsupported("parameter", "a Parameter whose data is not a tensor")
        if name == FROM_TYPE:
            return self._from_type(args, depth)
        return self._dense(args, name)

    def _from_type(self, args: tuple[Any, ...], depth: int) -> Node:
        if len(args) != 4:
            return Unsupported("tensor subclass", f"{FROM_TYPE} with {len(args)} arguments")
        func, new_type, inner_args, _state = args
        kind = new_type.qualified if isinstance(new_type, Global) else None
        if kind not in PLAIN_TENSOR_TYPES:
            return Unsupported(
                "tensor subclass", f"a tensor re-typed as {kind or 'an unnamed class'}"
            )
        func_name = func.qualified if isinstance(func, Global) else None
        if func_name not in TENSOR_REBUILDS or not isinstance(inner_args, tuple):
            return Unsupported(
                "tensor subclass", f"a tensor rebuilt by {func_name or 'an unnamed callable'}"
            )
        # the rebuild applied to inner_args, as _rebuild_from_type_v2 does
        synthetic = Call(CallKind.REDUCE, func, inner_args, offset=-1)
        return self._tensor(synthetic, func_name, depth)

    def _dense(self, args: tuple[Any, ...], name: str) -> Node:
        expected = {REBUILD_V1: (4, 4), REBUILD_V2: (6, 7), REBUILD_V3: (7, 8)}[name]
        if not expected[0] <= len(args) <= expected[1]:
            return Unsupported("tensor", f"{name} with {len(args)} arguments")
        dtype_name: str | None = None
        if name == REBUILD_V3:
            dtype_node = args[6]
            if not (
                isinstance(dtype_node, Global) and dtype_node.module == "torch" and dtype_node.name
            ):
                return Unsupported("tensor", "a v3 tensor whose dtype is not a torch dtype")
            dtype_name = dtype_node.name
        metadata = (
            args[7]
            if name == REBUILD_V3 and len(args) == 8
            else (args[6] if name == REBUILD_V2 and len(args) == 7 else None)
        )
        return self._view(args[:4], name, dtype_name, metadata)

    def _view(
        self, location: tuple[Any, ...], origin: str, dtype_name: str | None, metadata: Any = None
    ) -> Node:
        """``(storage, offset, size, stride)`` as a checked view (v3 dtype, or the storage's)."""
        storage, offset, size, stride = location
        if not isinstance(storage, PersistentRef):
            return Unsupported("tensor", "a tensor whose storage is not a checkpoint storage")
        key, storage_class, declared = self.storages.persistent(storage.pid)
        try:
            dtype = (
                dtypes.torch_dtype(dtype_name)
                if dtype_name is not None
                else dtypes.storage_dtype(storage_class)
            )
        except dtypes.DTypeRefused as exc:
            return Unsupported("dtype", str(exc))
        flags = _tensor_flags(metadata)
        if isinstance(flags, str):
            return Unsupported("tensor", flags)
        shape, strides = _int_tuple(size), _int_tuple(stride)
        if shape is None or strides is None or type(offset) is not int:
            return Unsupported("tensor", "size, stride or offset are not integers")
        view = TensorView(
            key,
            dtype,
            offset,
            shape,
            strides,
            conj=flags[0],
            neg=flags[1],
            big_endian=self.storages.big_endian,
            origin=origin,
        )
        problem = check_view(view, declared)
        if problem:
            raise CheckpointFormatError(
                f"storage {key}: {problem}", hint="the checkpoint is corrupt or crafted"
            )
        return view

    def _legacy_tensor(self, call: Call, name: str, storage_class: str) -> Node:
        """Torch before 0.2: ``torch.FloatTensor()`` then BUILD ``(storage, offset, size, stride)``.

        torch's weights-only unpickler creates the empty tensor and applies the
        state with ``Tensor.set_``; any other shape of call is not a tensor it reads.
        """
        if call.args != () or call.kwargs or call.setitems or call.appends or call.additems:
            return Unsupported("tensor", f"{name} built from data in the pickle")
        if len(call.states) != 1:
            return Unsupported("tensor", f"{name} with {len(call.states)} states (expected one)")
        state = call.states[0]
        if not (isinstance(state, tuple) and len(state) == 4):
            return Unsupported(
                "tensor", f"{name} whose state is not (storage, offset, size, stride)"
            )
        storage = state[0]
        if isinstance(storage, PersistentRef):
            _, actual_class, _ = self.storages.persistent(storage.pid)
            if actual_class != storage_class:
                return Unsupported("tensor", f"a {name} set to a {actual_class}")
        return self._view(state, name, None)

    def _parameter_class(self, call: Call, depth: int) -> Node:
        """``torch.nn.Parameter(tensor[, requires_grad])``: the tensor."""
        args = call.args
        if (
            not isinstance(args, tuple)
            or not 1 <= len(args) <= 2
            or call.kwargs
            or call.states
            or call.setitems
            or call.appends
        ):
            return Unsupported("parameter", f"{PARAMETER_CLASS} with unusual arguments or state")
        inner = self.node(args[0], depth + 1)
        if isinstance(inner, (TensorView, Unsupported)):
            return inner
        return Unsupported("parameter", "a Parameter whose data is not a tensor")

    # -- numpy arrays inside the pickle -----------------------------------------------------------
    def _numpy_array(self, call: Call) -> Node:
        args = call.args
        if not (
            isinstance(args, tuple)
            and len(args) == 3
            and isinstance(args[0], Global)
            and args[0].qualified == NUMPY_NDARRAY
        ):
            return self._foreign(call, "numpy array of an unknown class")
        if len(call.states) != 1 or call.setitems or call.appends:
            return Unsupported("numpy array", "a numpy array with unusual state")
        state = call.states[0]
        if not (isinstance(state, tuple) and len(state) == 5):
            return Unsupported("numpy array", "a numpy array with unusual state")
        _version, shape_node, dtype_node, fortran, raw = state
        shape = _int_tuple(shape_node)
        descr = _numpy_descr(dtype_node)
        if shape is None or descr is None or not isinstance(fortran, bool):
            return Unsupported("numpy array", "a numpy array of a structured or unknown dtype")
        try:
            dtype, big = dtypes.numpy_dtype(descr)
        except dtypes.DTypeRefused as exc:
            return Unsupported("numpy array", str(exc))
        numel = 1
        for dim in shape:
            numel *= dim
        key = self.storages.inline(raw, numel * dtype.itemsize)
        if key is None:
            return Unsupported("numpy array", "its data is not raw bytes of the declared size")
        return TensorView(
            key, dtype, 0, shape, _strides(shape, fortran), big_endian=big, origin="numpy array"
        )


def check_view(view: TensorView, storage_bytes: int) -> str | None:
    """Why the view does not fit its storage (negative sizes, overflow, out of bounds), or None."""
    if len(view.shape) != len(view.stride):
        return f"size {view.shape} and stride {view.stride} differ in length"
    if view.offset < 0 or any(d < 0 for d in view.shape) or any(s < 0 for s in view.stride):
        return f"negative offset, size or stride ({view.offset}, {view.shape}, {view.stride})"
    if view.numel == 0:
        return (
            None
            if view.offset * view.dtype.itemsize <= storage_bytes
            else (f"offset {view.offset} lies past the storage's {storage_bytes} bytes")
        )
    _, end = view.byte_range
    if end > storage_bytes:
        return (
            f"a {view.dtype.torch_name} view (offset {view.offset}, size {list(view.shape)}, "
            f"stride {list(view.stride)}) reaches byte {end} of a {storage_bytes}-byte storage"
        )
    return None


def count_tensors(root: Any, limit: int = 1_000_000) -> int:
    """Tensor rebuild calls reachable from ``root`` (through args, state and container items)."""
    seen: set[int] = set()
    stack = [root]
    found = 0
    while stack and len(seen) < limit:
        value = stack.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, Call):
            target = value.target
            name = target.qualified if target is not None else None
            if name in (REBUILD_V1, REBUILD_V2, REBUILD_V3) or name in REFUSED_REBUILDS:
                found += 1
                continue
            stack.extend(
                [
                    value.callee,
                    value.args,
                    value.kwargs,
                    *value.states,
                    *value.appends,
                    *value.additems,
                ]
            )
            for k, v in value.setitems:
                stack.extend((k, v))
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, (list, tuple, set, frozenset)):
            stack.extend(value)
        elif isinstance(value, PersistentRef):
            found += 1
    return found


def _scalar_leaf(value: Any) -> Leaf | None:
    if value is None:
        return Leaf("None")
    if isinstance(value, (bool, int, float, str, bytes, complex)):
        return Leaf(type(value).__name__)
    if isinstance(value, bytearray):
        return Leaf("bytearray")
    return None


def _global_leaf(node: Global) -> Leaf:
    name = node.qualified
    if (
        name is not None
        and node.module == "torch"
        and node.name
        and (node.name in dtypes.BY_TORCH_NAME or node.name in dtypes.REFUSED_TORCH_DTYPES)
    ):
        return Leaf("torch.dtype")
    return Leaf(f"reference to {name or 'an unresolved name'}", foreign=True)


def _constructor_pairs(call: Call, name: str) -> list[tuple[Any, Any]] | None:
    """Items passed to a mapping's constructor: none, a dict, or (OrderedDict) a list of pairs.

    Python 2's ``OrderedDict.__reduce__`` pickled ``OrderedDict([[key, value], ...])``:
    a list (or tuple) of two-item lists, which ``OrderedDict()`` takes as pairs.
    ``Counter(iterable)`` counts the items instead, so only a dict fills a Counter.
    """
    args = call.args
    if not isinstance(args, tuple) or call.kwargs:
        return None
    if name == "collections.defaultdict":
        args = args[1:]  # the default factory: never called while reading
    if not args:
        return []
    if len(args) != 1:
        return None
    if isinstance(args[0], dict):
        return list(args[0].items())
    if (
        name != "collections.Counter"
        and isinstance(args[0], (list, tuple))
        and all(isinstance(p, (list, tuple)) and len(p) == 2 for p in args[0])
    ):
        return [(p[0], p[1]) for p in args[0]]
    return None


def _attributes(states: list[Any]) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for state in states:
        if isinstance(state, dict):
            found.extend((str(k), v) for k, v in state.items())
        elif isinstance(state, tuple) and len(state) == 2:
            for part in state:
                if isinstance(part, dict):
                    found.extend((str(k), v) for k, v in part.items())
        elif state is not None:
            found.append(("(state)", state))
    return found


def _tensor_flags(metadata: Any) -> tuple[bool, bool] | str:
    if metadata is None:
        return False, False
    if not isinstance(metadata, dict):
        return "tensor metadata is not a dict"
    unknown = set(metadata) - {"conj", "neg"}
    if unknown:
        return f"unknown tensor metadata {sorted(map(str, unknown))}"
    conj, neg = metadata.get("conj", False), metadata.get("neg", False)
    if not isinstance(conj, bool) or not isinstance(neg, bool):
        return "tensor metadata flags are not booleans"
    return conj, neg


def _int_tuple(value: Any) -> tuple[int, ...] | None:
    if (
        isinstance(value, Call)
        and value.target is not None
        and (value.target.qualified == "torch.Size")
        and isinstance(value.args, tuple)
        and len(value.args) == 1
    ):
        value = value.args[0]
    if not isinstance(value, (tuple, list)):
        return None
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return None
    return tuple(value)


def _strides(shape: tuple[int, ...], fortran: bool) -> tuple[int, ...]:
    strides = [0] * len(shape)
    step = 1
    order = range(len(shape)) if fortran else reversed(range(len(shape)))
    for index in order:
        strides[index] = step
        step *= shape[index]
    return tuple(strides)


def _numpy_descr(node: Any) -> str | None:
    """``numpy.dtype('f4', False, True)`` + BUILD ``(3, '<', None, None, None, -1, -1, 0)``."""
    if not (
        isinstance(node, Call)
        and node.target is not None
        and node.target.qualified == "numpy.dtype"
    ):
        return None
    args = node.args
    if not (isinstance(args, tuple) and args and isinstance(args[0], str)):
        return None
    order = "|"
    for state in node.states:
        if not (isinstance(state, tuple) and len(state) >= 8 and isinstance(state[1], str)):
            return None
        if state[2] is not None or state[3] is not None:
            return None  # sub-arrays or fields: a structured dtype
        order = state[1]
    return order + args[0]
