"""What a parse is given (options, limits) and what it returns (the result and its events)."""

from __future__ import annotations

import enum
from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass, field
from typing import Any

from supplychain.picklevm.nodes import Call, Global, LargeBytes, PersistentRef
from supplychain.picklevm.source import Source


@dataclass(frozen=True)
class Limits:
    """Bounds on the work and memory one parse may take; hitting one ends it as LIMIT."""

    max_opcodes: int = 50_000_000
    max_memo: int = 10_000_000
    max_stack: int = 10_000_000
    #: Elements added to containers and call logs, in total.
    max_items: int = 50_000_000
    #: Byte/text strings longer than this become LargeBytes ranges, not values.
    large_bytes: int = 1 << 16
    #: Protocol-0 text lines longer than this are not decoded.
    max_line: int = 1 << 16
    #: From forward-only sources, capture pickle-looking large strings up to this size.
    capture: int = 64 << 20
    #: Bytes of each LargeBytes kept as its head.
    head: int = 256


class _AllFrames:
    def __contains__(self, item: object) -> bool:
        return True

    def __repr__(self) -> str:
        return "ALL_FRAMES"


#: ``exact_frames`` value: every FRAME is read as its own buffer (``Unpickler(io.BytesIO(...))``,
#: which is how torch reads a zip checkpoint's data.pkl).
ALL_FRAMES: Container[int] = _AllFrames()
#: ``exact_frames`` value: frames are ignored (``pickle.loads``, prefetching file reads).
NO_FRAMES: Container[int] = frozenset()


class Outcome(str, enum.Enum):
    #: Reached STOP: CPython would return ``value``.
    COMPLETE = "complete"
    #: CPython raises at ``error.offset`` (invalid opcode, bad memo reference, type error...).
    ERROR = "error"
    #: The data ends before STOP.
    TRUNCATED = "truncated"
    #: A bound in :class:`Limits` was reached; the rest was not analysed.
    LIMIT = "limit"


@dataclass(frozen=True)
class Anomaly:
    """Something no pickler writes, worth a scanner's attention."""

    offset: int
    kind: str
    message: str


@dataclass(frozen=True)
class BuildEvent:
    """BUILD: ``state`` applied to ``target`` (``__setstate__`` or attribute updates)."""

    target: Any
    state: Any
    offset: int


@dataclass(frozen=True)
class Mutation:
    """An opcode that changes an imported object in place (attribute or item injection)."""

    target: Global
    opcode: str
    offset: int
    value: Any


@dataclass(frozen=True)
class Embedded:
    """A byte/text string in the pickle that looks like a pickle itself."""

    offset: int
    value: bytes | LargeBytes


@dataclass(frozen=True)
class PickleError:
    offset: int
    opcode: str | None
    message: str
    #: True when both CPython unpicklers (``_pickle`` and ``pickle._Unpickler``) raise here;
    #: False when this reader cannot tell, so a real loader may go on past ``offset``.
    certain: bool = True


@dataclass(frozen=True)
class TailOp:
    """An import or call opcode read (not run) after the point where the machine stopped.

    When the machine stops on an error, the rest of the stream is still read
    opcode by opcode, like ``pickletools.genops``, so a scanner sees what a
    loader that went on would import and call.
    """

    offset: int
    opcode: str
    #: The name imported (GLOBAL, INST, EXT with a known code, STACK_GLOBAL whose operands
    #: are string literals); None for a call opcode. Its ``unresolved`` says why a
    #: STACK_GLOBAL or EXT name is unknown.
    target: Global | None


@dataclass(frozen=True)
class PickleResult:
    """What one pickle stream does when loaded, without doing any of it."""

    outcome: Outcome
    #: What ``load()`` returns (the inert graph); None unless COMPLETE.
    value: Any
    #: Offset just after the last opcode read (after STOP when COMPLETE).
    end: int
    #: Where a reader of stacked pickles starts the next one (differs from ``end`` only when
    #: STOP lies inside a frame read as its own buffer).
    next_offset: int
    error: PickleError | None
    opcodes: int
    #: Highest PROTO seen (None: no PROTO opcode, i.e. protocol 0/1).
    protocol: int | None
    #: Every find_class, in order (GLOBAL, STACK_GLOBAL, INST, EXT*).
    globals: tuple[Global, ...]
    #: Every call, in the order CPython would make them.
    calls: tuple[Call, ...]
    builds: tuple[BuildEvent, ...]
    mutations: tuple[Mutation, ...]
    persistent_refs: tuple[PersistentRef, ...]
    large: tuple[LargeBytes, ...]
    embedded: tuple[Embedded, ...]
    anomalies: tuple[Anomaly, ...]
    #: Offsets of FRAME opcodes whose frame an argument read runs past.
    straddled_frames: frozenset[int]
    #: Pickles a build hook parsed inline (joblib object arrays), by offset.
    nested: tuple[tuple[int, PickleResult], ...] = ()
    #: After an ERROR: the imports and calls in the rest of the stream (see :class:`TailOp`).
    tail: tuple[TailOp, ...] = ()
    #: Why ``tail`` may be incomplete (a bound, or bytes no loader could read), or None.
    tail_stop: str | None = None

    @property
    def complete(self) -> bool:
        return self.outcome is Outcome.COMPLETE


class HookError(Exception):
    """Raised by a build hook that cannot follow the stream (e.g. unknown array layout)."""

    def __init__(self, message: str, *, limit: bool = False) -> None:
        super().__init__(message)
        self.limit = limit


@dataclass
class HookContext:
    """What a build hook may do: read or skip raw bytes, or parse an inline pickle."""

    source: Source
    parse_nested: Callable[[], PickleResult]

    def parse_inline(self) -> PickleResult:
        """Parse a complete pickle starting at the current position (joblib object arrays)."""
        return self.parse_nested()


#: ``hook(call, state, context)`` runs after BUILD on a call result; a non-None return replaces
#: the object on the stack.
BuildHook = Callable[[Call, Any, HookContext], Any]


@dataclass(frozen=True)
class ParseOptions:
    limits: Limits = field(default_factory=Limits)
    #: FRAME offsets to read as separate buffers (see the module docstring).
    exact_frames: Container[int] = NO_FRAMES
    #: Apply Python-2 name mapping for protocol < 3 (as ``pickle.load`` does by default).
    fix_imports: bool = True
    #: copyreg extension registry to start from (a fresh interpreter's is empty).
    extensions: Mapping[int, tuple[str, str]] = field(default_factory=dict)
    build_hook: BuildHook | None = None
    #: How protocol 0-2 8-bit strings decode (``Unpickler(encoding=...)``): "ascii" like
    #: ``pickle.load``, "utf-8" like ``torch.load``, "latin-1" like numpy, or "bytes". A string
    #: the encoding cannot decode becomes latin-1 text instead of stopping the parse.
    encoding: str = "ascii"
