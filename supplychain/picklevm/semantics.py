"""What CPython's two unpicklers do when an opcode acts on a plain data value.

The machine models a loaded object either as a Python data value (list,
bytearray, dict, int, str...) or as a node whose type is unknown (the result
of a call, an imported name). On a data value the outcome is knowable, and
the rule is: follow the most permissive real unpickler. ``_pickle.Unpickler``
(``pickle.load``, ``torch.load``) and ``pickle._Unpickler`` (``joblib.load``)
differ in places, e.g. BUILD with a falsy state or REDUCE with list arguments;
wherever either of them goes on, the machine goes on, and :class:`Stop` is
raised only when both raise.

Checked against ``Modules/_pickle.c`` and ``Lib/pickle.py`` of CPython
3.10-3.13 and by running both unpicklers on every case (tests/picklevm).
"""

from __future__ import annotations

from typing import Any

from supplychain.picklevm.nodes import (
    Call,
    Global,
    LargeBytes,
    Opaque,
    OutOfBandBuffer,
    PersistentRef,
)
from supplychain.picklevm.results import Outcome

#: Values whose type the machine does not know: the real object decides what an opcode does.
NODES = (Call, Global, PersistentRef, Opaque, OutOfBandBuffer, LargeBytes)


class Stop(Exception):
    """The parse ends here.

    ``certain`` is False when the machine cannot tell whether a real loader
    raises (e.g. an index into a list that code run earlier may have grown):
    a scanner must then assume the loader goes on.
    """

    def __init__(self, outcome: Outcome, message: str, *, certain: bool = True) -> None:
        super().__init__(message)
        self.outcome = outcome
        self.message = message
        self.certain = certain


def refuse(message: str, *, certain: bool = True) -> Stop:
    return Stop(Outcome.ERROR, message, certain=certain)


def is_node(value: Any) -> bool:
    return isinstance(value, NODES)


def truthiness(value: Any) -> bool | None:
    """``bool(value)`` for data; None for a node (its ``__bool__`` is the object's own)."""
    if is_node(value):
        return None
    return bool(value)


def build_on_data(target: Any, state: Any) -> bool:
    """BUILD on a builtin data value (no ``__setstate__``, no ``__dict__``, no settable attribute).

    ``pickle._Unpickler`` skips a falsy state and a falsy slot state (``if
    state:``); ``_pickle`` accepts only None and an empty slot dict, a subset.
    So the Python rule decides. Returns True when only the Python unpickler
    goes on (a loader differential worth reporting).
    """
    parts: tuple[tuple[Any, str], ...]
    if type(state) is tuple and len(state) == 2:
        parts = ((state[0], "state"), (state[1], "slot state"))
        c_goes_on = state[0] is None and (state[1] is None or state[1] == {})
    else:
        parts = ((state, "state"),)
        c_goes_on = state is None
    for part, what in parts:
        if truthiness(part) is True:
            raise refuse(
                f"BUILD applies a non-empty {what} to a {type(target).__name__}, "
                "which has no attributes to set"
            )
    return not c_goes_on and all(truthiness(part) is False for part, _ in parts)


def star_args(args: Any, opcode: str) -> tuple[Any, ...] | Any:
    """The positional arguments ``pickle._Unpickler`` passes as ``f(*args)``.

    ``_pickle`` insists on a tuple; the Python unpickler accepts any iterable,
    so a list, string, dict (its keys) or set still makes the call.
    """
    if type(args) is tuple or is_node(args):
        return args
    if isinstance(args, (list, str, bytes, bytearray, dict, set, frozenset)):
        return tuple(args)
    raise refuse(f"{opcode} arguments must be iterable, not {type(args).__name__}")


def star_kwargs(kwargs: Any, opcode: str) -> Any:
    """Keyword arguments for ``cls.__new__(cls, *args, **kwargs)``: a mapping (or unknown)."""
    if isinstance(kwargs, dict) or is_node(kwargs):
        return kwargs
    raise refuse(f"{opcode} keyword arguments must be a dict, not {type(kwargs).__name__}")


def check_callable(value: Any, opcode: str) -> None:
    """Builtin data values are never callable: both unpicklers raise TypeError."""
    if not is_node(value):
        raise refuse(f"{opcode}: a {type(value).__name__} object is not callable")


def _index(target: list[Any] | bytearray, key: Any) -> int | None:
    """The position ``target[key] = ...`` assigns, or None when the key is unknown."""
    if is_node(key):
        return None
    if type(key) not in (int, bool):
        raise refuse(f"{type(target).__name__} indices must be integers, not {type(key).__name__}")
    if not -len(target) <= key < len(target):
        # The container may have grown through code run earlier (it can be passed to a
        # call), so a real loader may well go on.
        raise refuse(f"{type(target).__name__} assignment index out of range", certain=False)
    return int(key)


def _byte(value: Any) -> int | None:
    """A value bytearray accepts as an element (0-255), or None when unknown."""
    if is_node(value):
        return None
    if type(value) not in (int, bool):
        raise refuse(f"bytearray elements must be integers, not {type(value).__name__}")
    if not 0 <= value <= 255:
        raise refuse("byte must be in range(0, 256)")
    return int(value)


def setitems_on_data(target: Any, pairs: list[Any]) -> None:
    """SETITEM(S) on a builtin value: ``obj[key] = value`` pair by pair (list and bytearray too)."""
    if isinstance(target, dict):
        for i in range(0, len(pairs), 2):
            key = pairs[i]
            try:
                hash(key)
            except TypeError:
                raise refuse(f"unhashable type: {type(key).__name__!r}") from None
            target[key] = pairs[i + 1]
        return
    if isinstance(target, (list, bytearray)):
        for i in range(0, len(pairs), 2):
            index = _index(target, pairs[i])
            value = pairs[i + 1] if isinstance(target, list) else _byte(pairs[i + 1])
            if index is not None and value is not None:
                target[index] = value
        return
    raise refuse(f"{type(target).__name__} object does not support item assignment")


def extend_data(target: Any, values: list[Any]) -> None:
    """APPEND(S) on a builtin value: ``extend`` (C, and Python's APPENDS) or ``append``."""
    if isinstance(target, list):
        target.extend(values)
        return
    if isinstance(target, bytearray):
        converted = [_byte(v) for v in values]
        target.extend(b for b in converted if b is not None)
        return
    raise refuse(f"{type(target).__name__} object has no append or extend")


def additems_on_data(target: Any, items: list[Any]) -> None:
    """ADDITEMS: ``set.update``, else the object's ``add`` (no other builtin has one)."""
    if not isinstance(target, set):
        raise refuse(f"{type(target).__name__} object has no add")
    for item in items:
        try:
            hash(item)
        except TypeError:
            raise refuse(f"unhashable type: {type(item).__name__!r}") from None
    target.update(items)


def check_buffer(value: Any) -> None:
    """READONLY_BUFFER takes a memoryview of the top: bytes-like data or an unknown object."""
    if not is_node(value) and not isinstance(value, (bytes, bytearray)):
        raise refuse(f"READONLY_BUFFER needs a bytes-like object, not {type(value).__name__}")
