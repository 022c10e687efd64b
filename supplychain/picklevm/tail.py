"""Read the rest of a stream after the machine stopped: its imports and calls, opcode by opcode.

Where the machine raises, a real loader may still go on (the two CPython
unpicklers differ, and objects made by earlier calls behave as their own code
says). So the rest of the stream is walked like ``pickletools.genops``:
argument layouts only, no stack, bounded in opcodes, events and line length,
large arguments skipped without reading. STACK_GLOBAL names are recovered
from the string literals (or memo entries) pushed just before it, as
picklescan does; anything else is reported unresolved.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping

from supplychain.picklevm.names import HIGHEST_PROTOCOL, map_python2_name
from supplychain.picklevm.nodes import Global
from supplychain.picklevm.opcodes import OPNAMES
from supplychain.picklevm.results import Limits, TailOp
from supplychain.picklevm.source import Source, SourceError

#: Argument layout per opcode: a fixed width, a counted string (width of the count, signed),
#: one text line or two.
_FIXED = {
    "BININT1": 1, "BINGET": 1, "BINPUT": 1, "PROTO": 1, "EXT1": 1,
    "BININT2": 2, "EXT2": 2,
    "BININT": 4, "LONG_BINGET": 4, "LONG_BINPUT": 4, "EXT4": 4,
    "BINFLOAT": 8, "FRAME": 8,
}  # fmt: skip
_COUNTED = {
    "SHORT_BINSTRING": "<B", "SHORT_BINBYTES": "<B", "SHORT_BINUNICODE": "<B", "LONG1": "<B",
    "BINUNICODE": "<I", "BINBYTES": "<I", "BINSTRING": "<i", "LONG4": "<i",
    "BINUNICODE8": "<Q", "BINBYTES8": "<Q", "BYTEARRAY8": "<Q",
}  # fmt: skip
_LINE = frozenset({"FLOAT", "INT", "LONG", "PERSID", "STRING", "UNICODE", "GET", "PUT"})
_TWO_LINES = frozenset({"GLOBAL", "INST"})
#: INST both imports and calls: it is listed once, with its name.
_CALLS = frozenset({"REDUCE", "NEWOBJ", "NEWOBJ_EX", "OBJ"})
#: Opcodes that push nothing (for following which strings STACK_GLOBAL takes).
_NO_PUSH = frozenset(
    {"MARK", "POP", "POP_MARK", "PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE", "FRAME", "PROTO"}
    | {"APPEND", "APPENDS", "SETITEM", "SETITEMS", "ADDITEMS", "BUILD", "READONLY_BUFFER"}
)
_STRINGS = frozenset({"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE"})
#: How much of a string literal is kept to name a STACK_GLOBAL operand.
_MAX_NAME = 1 << 12
_MAX_RECENT = 64


class _Walker:
    def __init__(
        self,
        source: Source,
        protocol: int,
        limits: Limits,
        fix_imports: bool,
        extensions: Mapping[int, tuple[str, str]],
    ) -> None:
        self.src = source
        self.extensions = extensions
        self.proto = protocol
        self.limits = limits
        self.fix_imports = fix_imports
        self.ops: list[TailOp] = []
        # the last values pushed: a string literal, or None for anything else
        self.recent: list[str | None] = []
        self.memo: dict[int, str | None] = {}

    def walk(self, past_stop: bool) -> str | None:
        """Walk to STOP, the end, or bytes no loader reads past; returns a bound hit, or None."""
        for _ in range(self.limits.max_opcodes):
            offset = self.src.tell()
            code = self.src.byte()
            name = OPNAMES.get(code)
            if name == "STOP" and past_stop:
                self.recent.clear()  # a reader of stacked pickles starts a new one here
                continue
            if name is None or name == "STOP" or not self._step(name, offset):
                return None
            if len(self.ops) >= self.limits.max_items:
                return f"more than {self.limits.max_items} imports and calls"
        return f"more than {self.limits.max_opcodes} opcodes"

    def _push(self, value: str | None) -> None:
        self.recent.append(value)
        del self.recent[:-_MAX_RECENT]

    def _step(self, name: str, offset: int) -> bool:
        pushed: str | None = None
        if name in _FIXED:
            raw = self.src.read(_FIXED[name])
            if len(raw) < _FIXED[name]:
                return False
            pushed = self._fixed(name, raw, offset)
        elif name in _COUNTED:
            fmt = _COUNTED[name]
            raw = self.src.read(struct.calcsize(fmt))
            if len(raw) < struct.calcsize(fmt):
                return False
            size = max(0, struct.unpack(fmt, raw)[0])
            head = self.src.read(min(size, _MAX_NAME))
            if len(head) + self.src.skip(size - len(head)) < size:
                return False
            if name in _STRINGS and size <= _MAX_NAME:
                pushed = head.decode("utf-8", "replace")
        elif name in _LINE or name in _TWO_LINES:
            lines = [self._line() for _ in range(2 if name in _TWO_LINES else 1)]
            if any(line is False for line in lines):
                return False
            pushed = self._text_op(name, lines, offset)
        else:
            pushed = self._bare(name, offset)
        if name in _CALLS:
            self.ops.append(TailOp(offset, name, None))
        if name not in _NO_PUSH:
            self._push(pushed)
        return True

    def _line(self) -> bytes | bool | None:
        line, _length, status = self.src.readline(self.limits.max_line)
        if status != "ok":
            return False
        return None if line is None else line[:-1]

    def _fixed(self, name: str, raw: bytes, offset: int) -> str | None:
        if name == "PROTO":
            self.proto = min(raw[0], HIGHEST_PROTOCOL)
        elif name in ("BINPUT", "LONG_BINPUT"):
            self.memo[int.from_bytes(raw, "little")] = self.recent[-1] if self.recent else None
        elif name in ("BINGET", "LONG_BINGET"):
            return self.memo.get(int.from_bytes(raw, "little"))
        elif name.startswith("EXT"):
            code = int.from_bytes(raw, "little", signed=name == "EXT4")
            module, attr = self.extensions.get(code, (None, None))
            self._import(module, attr, offset, name, f"extension code {code} (copyreg registry)")
        return None

    def _text_op(self, name: str, lines: list[bytes | bool | None], offset: int) -> str | None:
        if name in _TWO_LINES:
            module, attr = (_decode(line) for line in lines)
            self._import(module, attr, offset, name, "the name is longer than the line limit")
            return None
        line = lines[0]
        if name == "PUT" and isinstance(line, bytes) and line.strip().isdigit():
            self.memo[int(line)] = self.recent[-1] if self.recent else None
        elif name == "GET" and isinstance(line, bytes) and line.strip().isdigit():
            return self.memo.get(int(line))
        elif name == "UNICODE" and isinstance(line, bytes):
            return line.decode("raw_unicode_escape", "replace")
        return None

    def _bare(self, name: str, offset: int) -> str | None:
        if name == "MEMOIZE":
            self.memo[len(self.memo)] = self.recent[-1] if self.recent else None
        elif name == "DUP":
            return self.recent[-1] if self.recent else None
        elif name == "STACK_GLOBAL":
            module, attr = self.recent[-2:] if len(self.recent) >= 2 else [None, None]
            self._import(
                module, attr, offset, name, "its operands are not string literals in the stream"
            )
        return None

    def _import(
        self, module: str | None, name: str | None, offset: int, opcode: str, why: str
    ) -> None:
        if module is None or name is None:
            target = Global(None, None, offset=offset, opcode=opcode, unresolved=why)
        else:
            written = (module, name)
            if self.fix_imports:
                module, name = map_python2_name(module, name, self.proto)
            target = Global(
                module,
                name,
                offset=offset,
                opcode=opcode,
                written=written,
                dotted=self.proto >= 4 and "." in name,
            )
        self.ops.append(TailOp(offset, opcode, target))


def _decode(line: bytes | bool | None) -> str | None:
    if not isinstance(line, bytes) or not line:
        return None
    return line.decode("utf-8", "replace")


def read_tail(
    source: Source,
    protocol: int,
    limits: Limits,
    *,
    fix_imports: bool = True,
    extensions: Mapping[int, tuple[str, str]] | None = None,
    past_stop: bool = False,
) -> tuple[tuple[TailOp, ...], str | None]:
    """The imports and calls from the source's position to the next STOP.

    ``past_stop`` walks on through STOP opcodes, as a reader of stacked
    pickles (legacy torch, repeated ``pickle.load``) would after a loader
    went on. Returns the imports and calls and, when the walk ended at a
    bound or a read failure rather than at STOP, the end of the data or an
    invalid opcode, why.
    """
    walker = _Walker(source, protocol, limits, fix_imports, extensions or {})
    try:
        stopped = walker.walk(past_stop)
    except SourceError as exc:  # a failing read ends the walk, not the scan
        stopped = f"reading failed: {exc}"
    return tuple(walker.ops), stopped
