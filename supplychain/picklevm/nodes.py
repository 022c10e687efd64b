"""The inert object graph a pickle builds: data as Python values, everything else as nodes.

Nothing here is ever imported, called or resolved against a live module. A
:class:`Global` is a name, a :class:`Call` is "this callable applied to these
arguments", a :class:`PersistentRef` is the object a loader's
``persistent_load`` would be asked for. Nodes compare by identity, so two
references to one memo entry are the same node (tied weights stay tied).

Nodes are mutable while the machine runs (SETITEMS on a call result appends to
its ``setitems``); treat them as read-only afterwards.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


class CallKind(str, enum.Enum):
    """The opcode that applied a callable, which decides what CPython calls."""

    #: ``callable(*args)``
    REDUCE = "REDUCE"
    #: ``cls.__new__(cls, *args)``
    NEWOBJ = "NEWOBJ"
    #: ``cls.__new__(cls, *args, **kwargs)``
    NEWOBJ_EX = "NEWOBJ_EX"
    #: ``cls(*args)`` (or ``cls.__new__(cls)`` for a class with no args); the class is on the stack.
    OBJ = "OBJ"
    #: like OBJ, but the class is named inline (protocol 0).
    INST = "INST"


class Global:
    """A module attribute the unpickler would import (``find_class(module, name)``).

    ``module``/``name`` are what ``find_class`` receives after Python-2 name
    mapping; ``written`` keeps the spelling in the file. When the name cannot be
    known without running code (a STACK_GLOBAL operand computed by a call, an
    EXT code nobody registered), ``module``/``name`` are None and
    ``unresolved`` says why.
    """

    __slots__ = ("dotted", "module", "name", "offset", "opcode", "unresolved", "written")

    def __init__(
        self,
        module: str | None,
        name: str | None,
        *,
        offset: int,
        opcode: str,
        written: tuple[str, str] | None = None,
        dotted: bool = False,
        unresolved: str | None = None,
    ) -> None:
        self.module = module
        self.name = name
        self.offset = offset
        self.opcode = opcode
        self.written = written
        #: True when protocol >= 4 makes find_class walk ``name`` attribute by attribute.
        self.dotted = dotted
        self.unresolved = unresolved

    @property
    def qualified(self) -> str | None:
        """``module.name`` (the allowlist key), or None when unresolved."""
        if self.module is None or self.name is None:
            return None
        return f"{self.module}.{self.name}"

    def __repr__(self) -> str:
        return f"Global({self.qualified or '<unresolved: ' + str(self.unresolved) + '>'})"


class Call:
    """A callable applied to arguments: the result of REDUCE, NEWOBJ(_EX), OBJ or INST.

    ``callee`` is whatever node or value the pickle put in the callable's
    position: a :class:`Global` when the target is known, or another
    :class:`Call` (a callable returned by a call) or data, in which case the
    target cannot be resolved statically. Later opcodes that act on the
    result are logged in order: ``setitems`` (SETITEM/SETITEMS), ``appends``
    (APPEND/APPENDS), ``additems`` (ADDITEMS) and ``states`` (BUILD).
    """

    __slots__ = (
        "additems",
        "appends",
        "args",
        "callee",
        "kind",
        "kwargs",
        "offset",
        "setitems",
        "states",
    )

    def __init__(
        self, kind: CallKind, callee: Any, args: Any, kwargs: Any = None, *, offset: int
    ) -> None:
        self.kind = kind
        self.callee = callee
        self.args = args
        self.kwargs = kwargs
        self.offset = offset
        self.setitems: list[tuple[Any, Any]] = []
        self.appends: list[Any] = []
        self.additems: list[Any] = []
        self.states: list[Any] = []

    @property
    def target(self) -> Global | None:
        """The resolved global being called, or None (see :meth:`unresolved_reason`)."""
        callee = self.callee
        if isinstance(callee, Global) and callee.qualified is not None:
            return callee
        return None

    def unresolved_reason(self) -> str | None:
        """Why the callable cannot be named statically (None when it can)."""
        callee = self.callee
        if isinstance(callee, Global):
            return callee.unresolved
        if isinstance(callee, Call):
            return f"the callable is the result of another call (at offset {callee.offset})"
        if isinstance(callee, PersistentRef):
            return "the callable is an object supplied by the loader's persistent_load"
        return f"the callable is a {describe(callee)}, not an imported name"

    def __repr__(self) -> str:
        target = self.target
        name = target.qualified if target is not None else "<unresolved>"
        return f"Call({self.kind.value} {name} @{self.offset})"


class PersistentRef:
    """An object the loader's ``persistent_load(pid)`` supplies (torch: a storage)."""

    __slots__ = ("offset", "opcode", "pid")

    def __init__(self, pid: Any, *, offset: int, opcode: str) -> None:
        self.pid = pid
        self.offset = offset
        self.opcode = opcode

    def __repr__(self) -> str:
        return f"PersistentRef({self.pid!r})"


@dataclass(frozen=True, eq=False)
class LargeBytes:
    """A byte or text string too large to read: where it lies in the source.

    ``offset`` is relative to the start of the source the machine read (for a
    nested source, that source). ``head`` holds its first bytes so scanners
    can recognise an embedded pickle without reading the rest; ``captured``
    holds all of it when the source could not be re-read later (a decompressed
    stream) and the head looked like a pickle.
    """

    offset: int
    length: int
    #: "bytes", "bytearray", "str" (UTF-8), "str8" (protocol-0/1 8-bit string) or "int" (LONG4).
    kind: str
    head: bytes
    captured: bytes | None = None

    def __repr__(self) -> str:
        return f"LargeBytes({self.kind}, {self.length} bytes @{self.offset})"


class OutOfBandBuffer:
    """NEXT_BUFFER: a protocol-5 buffer the caller passes to ``loads(buffers=...)``."""

    __slots__ = ("index", "offset")

    def __init__(self, index: int, offset: int) -> None:
        self.index = index
        self.offset = offset

    def __repr__(self) -> str:
        return f"OutOfBandBuffer({self.index})"


class Opaque:
    """A value this reader could not decode exactly but CPython might (e.g. an odd float literal).

    The machine keeps going with an Opaque rather than stopping earlier than
    CPython would, so nothing after it escapes analysis.
    """

    __slots__ = ("offset", "reason")

    def __init__(self, reason: str, offset: int) -> None:
        self.reason = reason
        self.offset = offset

    def __repr__(self) -> str:
        return f"Opaque({self.reason})"


def describe(value: Any) -> str:
    """A short type description for messages."""
    if isinstance(value, (Global, Call, PersistentRef, LargeBytes, OutOfBandBuffer, Opaque)):
        return repr(value)
    return type(value).__name__
