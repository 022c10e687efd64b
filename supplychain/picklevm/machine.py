"""The pickle machine: CPython's unpickler, opcode for opcode, building an inert graph.

Every opcode of protocols 0-5 does to the machine's stack and memo what it
does in ``Modules/_pickle.c``; where CPython would import or call, the machine
records a :class:`~supplychain.picklevm.nodes.Global` or
:class:`~supplychain.picklevm.nodes.Call` instead. Where this reader cannot
decode a value exactly (an odd protocol-0 literal, an 8-bit string in an
unknown encoding) it keeps going with a placeholder: stopping earlier than
CPython would hide whatever follows.

FRAME: the C unpickler reading a *file* buffers each frame it cannot serve
from its current buffer with one ``read(frame_len)`` and, when an opcode's
argument runs past that buffer's end, silently drops the rest of the buffer
and reads the argument from the file (CPython gh-154848). In-memory loads and
prefetching file reads ignore frames instead. The two can run different
opcodes on the same bytes; ``exact_frames`` selects, per FRAME offset, which
reading to emulate, and every straddling read is reported as an anomaly so a
caller can explore the other reading (see :func:`parse_all_readings`).

Where an opcode acts on a plain data value (BUILD on a list, SETITEM on a
bytearray, REDUCE with list arguments), :mod:`~supplychain.picklevm.semantics`
says what the two CPython unpicklers do, and the machine follows whichever
goes on. When the machine does stop with an error, :mod:`~supplychain.picklevm.tail`
reads the rest of the stream for what a loader that went on would import and call.

The module is long on purpose: one method per opcode, kept together so the
whole state machine can be read side by side with ``_pickle.c``.
"""

from __future__ import annotations

import codecs
import dataclasses
import re
import struct
from collections.abc import Callable, Container
from typing import Any, cast

from supplychain.picklevm import semantics
from supplychain.picklevm.names import HIGHEST_PROTOCOL, looks_like_pickle, map_python2_name
from supplychain.picklevm.nodes import (
    Call,
    CallKind,
    Global,
    LargeBytes,
    Opaque,
    OutOfBandBuffer,
    PersistentRef,
)
from supplychain.picklevm.opcodes import OPNAMES
from supplychain.picklevm.results import (
    ALL_FRAMES,
    NO_FRAMES,
    Anomaly,
    BuildEvent,
    BuildHook,
    Embedded,
    HookContext,
    HookError,
    Mutation,
    Outcome,
    ParseOptions,
    PickleError,
    PickleResult,
    TailOp,
)
from supplychain.picklevm.semantics import NODES as _NODES
from supplychain.picklevm.semantics import Stop as _Stop
from supplychain.picklevm.source import Source, SourceError, SourceLimit
from supplychain.picklevm.tail import read_tail

#: "No frame boundary ahead."
_FAR = 1 << 62


_C_LONG = re.compile(rb"\s*[+-]?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")
_DECIMAL = re.compile(rb"\s*[+-]?[0-9](_?[0-9])*\s*")


def parse(
    source: Source | bytes | bytearray | memoryview, options: ParseOptions | None = None
) -> PickleResult:
    """Run one pickle stream from the source's current position to its STOP (or failure)."""
    if not isinstance(source, Source):
        source = Source.from_bytes(source)
    return _Machine(source, options or ParseOptions()).run()


class _Machine:
    def __init__(self, source: Source, options: ParseOptions, *, nested: bool = False) -> None:
        self.src = source
        # a nested machine (joblib's inline pickle) leaves the rest of the source to its parent
        self.nested = nested
        self.opts = options
        self.limits = options.limits
        self.stack: list[Any] = []
        self.marks: list[int] = []
        self.memo: dict[int, Any] = {}
        self.proto = 0
        self.max_proto: int | None = None
        self.items = 0
        self.op_offset = source.tell()
        self.extensions = dict(options.extensions)
        # frame state: frame_end = end of a frame read as its own buffer; declared_* = the
        # last FRAME as written, for anomaly reports in either reading
        self._frame_end: int | None = None
        self._declared_end: int | None = None
        self.safe_end = _FAR
        self.op_code = -1
        self.declared_at = -1
        self.globals: list[Global] = []
        self.calls: list[Call] = []
        self.builds: list[BuildEvent] = []
        self.mutations: list[Mutation] = []
        self.persistent: list[PersistentRef] = []
        self.large: list[LargeBytes] = []
        self.embedded: list[Embedded] = []
        self.anomalies: list[Anomaly] = []
        self.straddled: set[int] = set()
        self.nested_results: list[tuple[int, PickleResult]] = []
        self.buffers = 0

    # -- driver -------------------------------------------------------------------------------
    def run(self) -> PickleResult:
        dispatch = _DISPATCH
        src = self.src
        count = 0
        outcome = Outcome.COMPLETE
        error: PickleError | None = None
        value: Any = None
        try:
            while True:
                # fast path: the next byte is buffered and no frame boundary is near
                pos = src._pos
                self.op_offset = pos
                rel = pos - src._buf_start
                if pos < self.safe_end and 0 <= rel < len(src._buf):
                    code = src._buf[rel]
                    src._pos = pos + 1
                else:
                    code = self._opcode()
                self.op_code = code
                count += 1
                if code == 0x2E:  # STOP
                    value = self._pop()
                    break
                handler = dispatch.get(code)
                if handler is None:
                    raise _Stop(Outcome.ERROR, f"invalid load key {bytes([code])!r}")
                handler(self)
                if not count & 0xFFF:
                    self._check_limits(count)
        except _Stop as stop:
            outcome = stop.outcome
            error = PickleError(self.op_offset, self.op_name, stop.message, stop.certain)
        except SourceLimit as exc:
            outcome = Outcome.LIMIT
            error = PickleError(self.op_offset, self.op_name, str(exc))
        except SourceError as exc:
            outcome = Outcome.TRUNCATED
            error = PickleError(self.op_offset, self.op_name, str(exc))
        except RecursionError:
            outcome = Outcome.LIMIT
            error = PickleError(self.op_offset, self.op_name, "value nesting too deep to hash")
        end = src.tell()
        next_offset = end
        tail: tuple[TailOp, ...] = ()
        tail_stop = None
        if error is not None and outcome is Outcome.ERROR and not self.nested:
            # a loader may go on where this reader stops: read what the rest imports and calls
            tail, tail_stop = read_tail(
                src,
                self.proto,
                self.limits,
                fix_imports=self.opts.fix_imports,
                extensions=self.extensions,
                past_stop=not error.certain,
            )
        if outcome is Outcome.COMPLETE:
            if self.frame_end is not None and self.frame_end > end:
                next_offset = self.frame_end
            if self.declared_end is not None and self.declared_end > end and src.has(1):
                self._anomaly(
                    "frame-trailing",
                    "STOP inside a frame with bytes after it; a "
                    "reader of stacked pickles may skip or run them",
                )
        return PickleResult(
            outcome=outcome,
            value=value if outcome is Outcome.COMPLETE else None,
            end=end,
            next_offset=next_offset,
            error=error,
            opcodes=count,
            protocol=self.max_proto,
            globals=tuple(self.globals),
            calls=tuple(self.calls),
            builds=tuple(self.builds),
            mutations=tuple(self.mutations),
            persistent_refs=tuple(self.persistent),
            large=tuple(self.large),
            embedded=tuple(self.embedded),
            anomalies=tuple(self.anomalies),
            straddled_frames=frozenset(self.straddled),
            nested=tuple(self.nested_results),
            tail=tail,
            tail_stop=tail_stop,
        )

    def _check_limits(self, count: int) -> None:
        limits = self.limits
        if count >= limits.max_opcodes:
            raise _Stop(Outcome.LIMIT, f"more than {limits.max_opcodes} opcodes")
        if len(self.stack) + len(self.marks) > limits.max_stack:
            raise _Stop(Outcome.LIMIT, f"stack deeper than {limits.max_stack}")
        if len(self.memo) > limits.max_memo:
            raise _Stop(Outcome.LIMIT, f"memo larger than {limits.max_memo} entries")
        if self.items > limits.max_items:
            raise _Stop(Outcome.LIMIT, f"containers grew past {limits.max_items} elements")

    def _anomaly(self, kind: str, message: str) -> None:
        self.anomalies.append(Anomaly(self.op_offset, kind, message))

    # -- reading, with the C unpickler's frame buffering ---------------------------------------
    def _note_crossing(self, pos: int, n: int) -> None:
        declared = self.declared_end
        if declared is not None:
            if pos < declared < pos + n:
                self.straddled.add(self.declared_at)
                self._anomaly(
                    "frame-straddle",
                    f"an argument runs past the end of the FRAME at "
                    f"offset {self.declared_at} (readers disagree on what follows)",
                )
            if pos + n >= declared:
                self.declared_end = None

    def _enter_read(self, n: int, contiguous: bool) -> None:
        pos = self.src.tell()
        if self.declared_end is not None:
            self._note_crossing(pos, n)
        end = self.frame_end
        if end is not None and pos + n > end:
            self.frame_end = None
            if pos < end and not contiguous:
                # C: _Unpickler_ReadImpl refills from the file; the buffer's rest is dropped.
                self.src.skip(end - pos)

    # frame_end / declared_end setters keep safe_end (reads before it need no frame checks)
    @property
    def frame_end(self) -> int | None:
        return self._frame_end

    @frame_end.setter
    def frame_end(self, value: int | None) -> None:
        self._frame_end = value
        self._refresh_safe_end()

    @property
    def declared_end(self) -> int | None:
        return self._declared_end

    @declared_end.setter
    def declared_end(self, value: int | None) -> None:
        self._declared_end = value
        self._refresh_safe_end()

    def _refresh_safe_end(self) -> None:
        ends = [e for e in (self._frame_end, self._declared_end) if e is not None]
        self.safe_end = min(ends) if ends else _FAR

    @property
    def op_name(self) -> str | None:
        return OPNAMES.get(self.op_code)

    def _opcode(self) -> int:
        if self.frame_end is not None or self.declared_end is not None:
            self._enter_read(1, False)
        code = self.src.byte()
        if code < 0:
            raise _Stop(Outcome.TRUNCATED, "data ends before STOP")
        return code

    def _read(self, n: int) -> bytes:
        src = self.src
        pos = src._pos
        if pos + n <= self.safe_end:
            rel = pos - src._buf_start
            buf = src._buf
            if rel >= 0 and rel + n <= len(buf):
                src._pos = pos + n
                return buf[rel : rel + n]
        else:
            self._enter_read(n, False)
        data = self.src.read(n)
        if len(data) < n:
            raise _Stop(Outcome.TRUNCATED, "data ends inside an opcode argument")
        return data

    def _c_number_line(self, raw: bytes | None) -> bytes | None:
        """The part of a numeric text argument _pickle parses: C's parsers stop at a NUL.

        ``_pickle`` hands the line to strtol / PyLong_FromString /
        PyOS_string_to_double as a C string, so ``0\\x00junk`` reads as 0 and
        loading goes on; ``pickle._Unpickler`` raises on the NUL. The most
        permissive loader decides (picklevm.semantics), so the text after the
        NUL is ignored and the disagreement noted.
        """
        if raw is None or b"\x00" not in raw:
            return raw
        self._anomaly(
            "loaders-differ",
            "a NUL ends a number argument: _pickle reads up to it and goes on, "
            "pickle._Unpickler raises",
        )
        return raw[: raw.index(b"\x00")]

    def _readline(self) -> bytes | None:
        """A text argument without its newline; None when too long to decode."""
        src = self.src
        start = src.tell()
        if self.declared_end is not None and start >= self.declared_end:
            self.declared_end = None
        if self.frame_end is not None and start >= self.frame_end:
            self.frame_end = None
        line, length, status = src.readline(self.limits.max_line, self.frame_end)
        if status == "boundary":
            # C: no newline left in the buffer -> drop its rest, read a whole line from the file
            self.frame_end = None
            if self.declared_end is not None:
                self._note_crossing(start, length + 1)
            line, length, status = src.readline(self.limits.max_line)
        elif self.declared_end is not None:
            self._note_crossing(start, length)
        if self.frame_end is not None and src.tell() >= self.frame_end:
            self.frame_end = None
        if status == "eof" and length:
            # pickle._Unpickler takes a last line without newline as it is and drops its
            # last byte like a newline (``readline()[:-1]``); _pickle raises.
            self._anomaly(
                "loaders-differ",
                "the data ends inside a text line: pickle._Unpickler still uses it, _pickle raises",
            )
        elif status != "ok":
            raise _Stop(Outcome.TRUNCATED, "data ends inside a text argument")
        return None if line is None else line[:-1]

    def _read_payload(self, n: int, kind: str) -> bytes | LargeBytes:
        """A counted string payload (C reads these contiguously across buffers)."""
        if self.frame_end is not None or self.declared_end is not None:
            self._enter_read(n, kind in ("bytes", "bytearray"))
        src = self.src
        offset = src.tell()
        if n <= self.limits.large_bytes:
            data = src.read(n)
            if len(data) < n:
                raise _Stop(Outcome.TRUNCATED, "data ends inside a string")
            if len(data) >= 8 and looks_like_pickle(data[:64]):
                self.embedded.append(Embedded(offset, data))
            return data
        head = src.read(min(n, self.limits.head))
        captured: bytes | None = None
        rest = n - len(head)
        if not src.random_access and looks_like_pickle(head) and n <= self.limits.capture:
            tail = src.read(rest)
            captured = head + tail
            skipped = len(tail)
        else:
            skipped = src.skip(rest)
        if len(head) + skipped < n:
            raise _Stop(Outcome.TRUNCATED, "data ends inside a string")
        value = LargeBytes(offset, n, kind, head, captured)
        self.large.append(value)
        if looks_like_pickle(head):
            self.embedded.append(Embedded(offset, value))
        return value

    # -- stack --------------------------------------------------------------------------------
    def _fence(self) -> int:
        return self.marks[-1] if self.marks else 0

    def _pop(self) -> Any:
        stack = self.stack
        if len(stack) <= (self.marks[-1] if self.marks else 0):
            raise _Stop(Outcome.ERROR, "unpickling stack underflow")
        return stack.pop()

    def _top(self) -> Any:
        if len(self.stack) <= self._fence():
            raise _Stop(Outcome.ERROR, "unpickling stack underflow")
        return self.stack[-1]

    def _pop_mark(self) -> int:
        if not self.marks:
            raise _Stop(Outcome.ERROR, "could not find MARK")
        return self.marks.pop()

    def _pop_items(self, mark: int) -> list[Any]:
        items = self.stack[mark:]
        del self.stack[mark:]
        return items

    def _pop_n(self, n: int) -> list[Any]:
        if len(self.stack) - n < self._fence():
            raise _Stop(Outcome.ERROR, "unpickling stack underflow")
        items = self.stack[len(self.stack) - n :]
        del self.stack[len(self.stack) - n :]
        return items

    # -- names --------------------------------------------------------------------------------
    def _find_class(self, module: str, name: str, written: tuple[str, str] | None = None) -> Global:
        if written is None:
            written = (module, name)
        if self.opts.fix_imports:
            module, name = map_python2_name(module, name, self.proto)
        dotted = self.proto >= 4 and "." in name
        node = Global(
            module,
            name,
            offset=self.op_offset,
            opcode=self.op_name or "",
            written=written,
            dotted=dotted,
        )
        self.globals.append(node)
        if dotted and "<locals>" in name.split("."):
            # find_class has imported the module by now; only the attribute walk fails
            raise _Stop(Outcome.ERROR, f"can't get local attribute {name!r} on module {module!r}")
        return node

    def _unresolved(self, reason: str) -> Global:
        node = Global(
            None, None, offset=self.op_offset, opcode=self.op_name or "", unresolved=reason
        )
        self.globals.append(node)
        return node

    def _text(self, raw: bytes | None, what: str) -> str | None:
        if raw is None:
            return None
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise _Stop(Outcome.ERROR, f"{what} is not valid UTF-8") from None

    # -- containers -----------------------------------------------------------------------------
    def _grow(self, n: int) -> None:
        self.items += n

    def _hashable(self, value: Any) -> None:
        try:
            hash(value)
        except TypeError:
            raise _Stop(Outcome.ERROR, f"unhashable type: {type(value).__name__!r}") from None

    def _set_items(self, target: Any, pairs: list[Any]) -> None:
        self._grow(len(pairs) // 2)
        if isinstance(target, Call):
            target.setitems.extend(zip(pairs[::2], pairs[1::2], strict=True))
        elif isinstance(target, Global):
            for i in range(0, len(pairs), 2):
                self.mutations.append(
                    Mutation(target, self.op_name or "", self.op_offset, (pairs[i], pairs[i + 1]))
                )
        elif isinstance(target, _NODES):
            pass  # an object of unknown type: its __setitem__ is its own (already graded) code
        else:
            semantics.setitems_on_data(target, pairs)

    def _append(self, target: Any, values: list[Any]) -> None:
        self._grow(len(values))
        if isinstance(target, Call):
            target.appends.extend(values)
        elif isinstance(target, Global):
            self.mutations.extend(
                Mutation(target, self.op_name or "", self.op_offset, v) for v in values
            )
        elif isinstance(target, _NODES):
            pass
        else:
            semantics.extend_data(target, values)

    # -- opcodes ------------------------------------------------------------------------------
    def op_mark(self) -> None:
        self.marks.append(len(self.stack))

    def op_pop(self) -> None:
        if self.marks and self.marks[-1] == len(self.stack):
            self.marks.pop()
        else:
            self._pop()

    def op_pop_mark(self) -> None:
        del self.stack[self._pop_mark() :]

    def op_dup(self) -> None:
        self.stack.append(self._top())

    def op_float(self) -> None:
        raw = self._c_number_line(self._readline())
        try:
            value: Any = (
                float(raw) if raw is not None else Opaque("long float literal", self.op_offset)
            )
        except ValueError:
            value = Opaque(f"float literal {raw!r}", self.op_offset)
        self.stack.append(value)

    def op_int(self) -> None:
        line = self._readline()
        raw = self._c_number_line(line)
        if raw is None:
            self.stack.append(Opaque("long int literal", self.op_offset))
            return
        value: Any
        if _C_LONG.fullmatch(raw):  # strtol(base 0): hex, C-style octal or decimal
            digits = raw.strip().lstrip(b"+-")
            base = 16 if digits[:2].lower() == b"0x" else (8 if digits[:1] == b"0" else 10)
            number = int(raw, base)
            # a two-character line ("00", "01", "0\x00") holding 0 or 1 is protocol 0's False/True
            value = bool(number) if len(line or b"") == 2 and number in (0, 1) else number
        else:
            try:
                value = int(raw, 0)
            except ValueError:
                value = Opaque(f"int literal {raw[:40]!r}", self.op_offset)
        self.stack.append(value)

    def op_binint(self) -> None:
        self.stack.append(struct.unpack("<i", self._read(4))[0])

    def op_binint1(self) -> None:
        self.stack.append(self._read(1)[0])

    def op_binint2(self) -> None:
        self.stack.append(struct.unpack("<H", self._read(2))[0])

    def op_long(self) -> None:
        raw = self._readline()
        value: Any
        if raw is None:
            value = Opaque("long int literal", self.op_offset)
        else:
            text = raw[:-1] if raw.endswith(b"L") else raw
            text = self._c_number_line(text) or b""
            try:
                value = int(text, 0)
            except ValueError:
                value = Opaque(f"long literal {raw[:40]!r}", self.op_offset)
        self.stack.append(value)

    def _long_bytes(self, size: int) -> None:
        if size > self.limits.large_bytes:
            self.stack.append(self._read_payload(size, "int"))
            return
        data = self._read(size)
        self.stack.append(int.from_bytes(data, "little", signed=True) if data else 0)

    def op_long1(self) -> None:
        self._long_bytes(self._read(1)[0])

    def op_long4(self) -> None:
        size = struct.unpack("<i", self._read(4))[0]
        if size < 0:
            raise _Stop(Outcome.ERROR, "LONG pickle has negative byte count")
        self._long_bytes(size)

    def op_none(self) -> None:
        self.stack.append(None)

    def op_newtrue(self) -> None:
        self.stack.append(True)

    def op_newfalse(self) -> None:
        self.stack.append(False)

    def op_binfloat(self) -> None:
        self.stack.append(struct.unpack(">d", self._read(8))[0])

    def _persistent(self, pid: Any) -> None:
        ref = PersistentRef(pid, offset=self.op_offset, opcode=self.op_name or "")
        self.persistent.append(ref)
        self.stack.append(ref)

    def op_persid(self) -> None:
        raw = self._readline()
        if raw is None:
            self._persistent(Opaque("long persistent id", self.op_offset))
            return
        try:
            self._persistent(raw.decode("ascii"))
        except UnicodeDecodeError:
            raise _Stop(Outcome.ERROR, "persistent IDs in protocol 0 must be ASCII") from None

    def op_binpersid(self) -> None:
        self._persistent(self._pop())

    def _decode8(self, data: bytes | LargeBytes) -> Any:
        """Protocol 0-2 8-bit strings, decoded as the options' ``encoding`` says."""
        encoding = self.opts.encoding
        if isinstance(data, LargeBytes) or encoding == "bytes":
            return data
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            return data.decode("latin-1")

    def op_string(self) -> None:
        raw = self._readline()
        if raw is None:
            self.stack.append(Opaque("long STRING literal", self.op_offset))
            return
        if len(raw) >= 2 and raw[0] == raw[-1] and raw[:1] in (b"'", b'"'):
            try:
                data = codecs.escape_decode(raw[1:-1])[0]
            except ValueError as exc:
                raise _Stop(Outcome.ERROR, f"bad STRING escape: {exc}") from None
            self.stack.append(self._decode8(data))
        else:
            raise _Stop(Outcome.ERROR, "the STRING opcode argument must be quoted")

    def op_binstring(self) -> None:
        size = struct.unpack("<i", self._read(4))[0]
        if size < 0:
            raise _Stop(Outcome.ERROR, "BINSTRING pickle has negative byte count")
        self.stack.append(self._decode8(self._read_text(size, "str8")))

    def op_short_binstring(self) -> None:
        self.stack.append(self._decode8(self._read_text(self._read(1)[0], "str8")))

    def _read_text(self, size: int, kind: str = "str") -> bytes | LargeBytes:
        # Text payloads go through _Unpickler_Read (not ReadInto): frame-sensitive.
        if size <= self.limits.large_bytes:
            data = self._read(size)
            if len(data) >= 8 and looks_like_pickle(data[:64]):
                self.embedded.append(Embedded(self.src.tell() - size, data))
            return data
        return self._read_payload(size, kind)

    def op_unicode(self) -> None:
        raw = self._readline()
        if raw is None:
            self.stack.append(Opaque("long UNICODE literal", self.op_offset))
            return
        try:
            self.stack.append(codecs.raw_unicode_escape_decode(raw)[0])
        except UnicodeDecodeError as exc:
            raise _Stop(Outcome.ERROR, f"bad UNICODE literal: {exc}") from None

    def _unicode(self, size: int) -> None:
        data = self._read_text(size)
        if isinstance(data, LargeBytes):
            self.stack.append(data)
            return
        try:
            self.stack.append(data.decode("utf-8", "surrogatepass"))
        except UnicodeDecodeError as exc:
            raise _Stop(Outcome.ERROR, f"invalid UTF-8 in a string: {exc.reason}") from None

    def op_binunicode(self) -> None:
        self._unicode(struct.unpack("<I", self._read(4))[0])

    def op_short_binunicode(self) -> None:
        self._unicode(self._read(1)[0])

    def op_binunicode8(self) -> None:
        size = struct.unpack("<Q", self._read(8))[0]
        if size > 0x7FFF_FFFF_FFFF_FFFF:
            raise _Stop(Outcome.ERROR, "BINUNICODE8 exceeds the maximum size")
        self._unicode(size)

    def op_binbytes(self) -> None:
        self.stack.append(self._read_payload(struct.unpack("<I", self._read(4))[0], "bytes"))

    def op_short_binbytes(self) -> None:
        self.stack.append(self._read_payload(self._read(1)[0], "bytes"))

    def op_binbytes8(self) -> None:
        size = struct.unpack("<Q", self._read(8))[0]
        if size > 0x7FFF_FFFF_FFFF_FFFF:
            raise _Stop(Outcome.ERROR, "BINBYTES8 exceeds the maximum size")
        self.stack.append(self._read_payload(size, "bytes"))

    def op_bytearray8(self) -> None:
        size = struct.unpack("<Q", self._read(8))[0]
        if size > 0x7FFF_FFFF_FFFF_FFFF:
            raise _Stop(Outcome.ERROR, "BYTEARRAY8 exceeds the maximum size")
        data = self._read_payload(size, "bytearray")
        self.stack.append(bytearray(data) if isinstance(data, bytes) else data)

    def op_next_buffer(self) -> None:
        self._anomaly(
            "out-of-band",
            "NEXT_BUFFER: the pickle needs out-of-band buffers "
            "(pickle.load without buffers= raises here)",
        )
        self.stack.append(OutOfBandBuffer(self.buffers, self.op_offset))
        self.buffers += 1

    def op_readonly_buffer(self) -> None:
        semantics.check_buffer(self._top())

    def op_empty_tuple(self) -> None:
        self.stack.append(())

    def op_tuple(self) -> None:
        self.stack.append(tuple(self._pop_items(self._pop_mark())))

    def op_tuple1(self) -> None:
        self.stack.append(tuple(self._pop_n(1)))

    def op_tuple2(self) -> None:
        self.stack.append(tuple(self._pop_n(2)))

    def op_tuple3(self) -> None:
        self.stack.append(tuple(self._pop_n(3)))

    def op_empty_list(self) -> None:
        self.stack.append([])

    def op_list(self) -> None:
        items = self._pop_items(self._pop_mark())
        self._grow(len(items))
        self.stack.append(items)

    def op_empty_dict(self) -> None:
        self.stack.append({})

    def op_dict(self) -> None:
        items = self._pop_items(self._pop_mark())
        if len(items) % 2:
            raise _Stop(Outcome.ERROR, "odd number of items for DICT")
        result: dict[Any, Any] = {}
        self._set_items(result, items)
        self.stack.append(result)

    def op_empty_set(self) -> None:
        self.stack.append(set())

    def op_frozenset(self) -> None:
        items = self._pop_items(self._pop_mark())
        for item in items:
            self._hashable(item)
        self._grow(len(items))
        self.stack.append(frozenset(items))

    def _container_call(self, mark: int) -> Any:
        if mark > len(self.stack) or mark <= self._fence():
            raise _Stop(Outcome.ERROR, "unpickling stack underflow")
        return self.stack[mark - 1]

    def op_append(self) -> None:
        value = self._pop()
        self._append(self._top(), [value])

    def op_appends(self) -> None:
        mark = self._pop_mark()
        target = self._container_call(mark)
        values = self._pop_items(mark)
        if values:
            self._append(target, values)

    def op_setitem(self) -> None:
        value = self._pop()
        key = self._pop()
        self._set_items(self._top(), [key, value])

    def op_setitems(self) -> None:
        mark = self._pop_mark()
        target = self._container_call(mark)
        items = self._pop_items(mark)
        if not items:
            return
        if len(items) % 2:
            raise _Stop(Outcome.ERROR, "odd number of items for SETITEMS")
        self._set_items(target, items)

    def op_additems(self) -> None:
        mark = self._pop_mark()
        target = self._container_call(mark)
        items = self._pop_items(mark)
        if not items:
            return
        self._grow(len(items))
        if isinstance(target, Call):
            target.additems.extend(items)
        elif isinstance(target, Global):
            self.mutations.extend(Mutation(target, "ADDITEMS", self.op_offset, v) for v in items)
        elif not isinstance(target, _NODES):
            semantics.additems_on_data(target, items)

    # memo
    def _memo_get(self, index: int) -> None:
        try:
            self.stack.append(self.memo[index])
        except KeyError:
            raise _Stop(Outcome.ERROR, f"memo value not found at index {index}") from None

    def _memo_put(self, index: int) -> None:
        if index < 0:
            raise _Stop(Outcome.ERROR, "negative PUT argument")
        self.memo[index] = self._top()

    def op_get(self) -> None:
        raw = self._c_number_line(self._readline())
        if raw is None or not _DECIMAL.fullmatch(raw):
            raise _Stop(Outcome.ERROR, "GET argument is not a decimal integer")
        self._memo_get(int(raw))

    def op_binget(self) -> None:
        self._memo_get(self._read(1)[0])

    def op_long_binget(self) -> None:
        self._memo_get(struct.unpack("<I", self._read(4))[0])

    def op_put(self) -> None:
        raw = self._c_number_line(self._readline())
        if raw is None or not _DECIMAL.fullmatch(raw):
            raise _Stop(Outcome.ERROR, "PUT argument is not a decimal integer")
        self._memo_put(int(raw))

    def op_binput(self) -> None:
        self._memo_put(self._read(1)[0])

    def op_long_binput(self) -> None:
        self._memo_put(struct.unpack("<I", self._read(4))[0])

    def op_memoize(self) -> None:
        # CPython's index is the number of distinct memo keys set so far.
        self.memo[len(self.memo)] = self._top()

    # globals and calls
    def op_global(self) -> None:
        module = self._readline()
        if module is not None and not module:
            raise _Stop(Outcome.ERROR, "pickle data was truncated (empty GLOBAL module)")
        name = self._readline()
        if name is not None and not name:
            raise _Stop(Outcome.ERROR, "pickle data was truncated (empty GLOBAL name)")
        module_text = self._text(module, "GLOBAL module")
        name_text = self._text(name, "GLOBAL name")
        if module_text is None or name_text is None:
            self.stack.append(self._unresolved("GLOBAL name longer than the line limit"))
        else:
            self.stack.append(self._find_class(module_text, name_text))

    def op_stack_global(self) -> None:
        name = self._pop()
        module = self._pop()
        if type(module) is str and type(name) is str:
            self.stack.append(self._find_class(module, name))
            return
        for operand in (module, name):
            if not isinstance(operand, _NODES) and type(operand) is not str:
                raise _Stop(Outcome.ERROR, "STACK_GLOBAL requires str")
        self.stack.append(
            self._unresolved(
                f"STACK_GLOBAL operands are computed at load time (module: {_origin(module)}, "
                f"name: {_origin(name)})"
            )
        )

    def _ext(self, code: int) -> None:
        if code <= 0:
            raise _Stop(Outcome.ERROR, "EXT specifies code <= 0")
        pair = self.extensions.get(code)
        if pair is None:
            self.stack.append(
                self._unresolved(
                    f"extension code {code} is resolved through copyreg's process-wide registry, "
                    "which is empty in a fresh interpreter"
                )
            )
            return
        self.stack.append(self._find_class(pair[0], pair[1], (f"EXT {code}", "")))

    def op_ext1(self) -> None:
        self._ext(self._read(1)[0])

    def op_ext2(self) -> None:
        self._ext(struct.unpack("<H", self._read(2))[0])

    def op_ext4(self) -> None:
        self._ext(struct.unpack("<i", self._read(4))[0])

    def _call(self, kind: CallKind, callee: Any, args: Any, kwargs: Any = None) -> Call:
        call = Call(kind, callee, args, kwargs, offset=self.op_offset)
        self.calls.append(call)
        self._track_registry(call)
        return call

    def _track_registry(self, call: Call) -> None:
        """Follow copyreg.add_extension/remove_extension so later EXT opcodes resolve."""
        target = call.target
        if target is None or target.module != "copyreg" or not isinstance(call.args, tuple):
            return
        args = call.args
        if (
            len(args) == 3
            and isinstance(args[0], str)
            and isinstance(args[1], str)
            and isinstance(args[2], int)
        ):
            if target.name == "add_extension":
                self.extensions[args[2]] = (args[0], args[1])
            elif target.name == "remove_extension":
                self.extensions.pop(args[2], None)

    def _star_args(self, args: Any, opname: str) -> Any:
        """``f(*args)``: _pickle wants a tuple, pickle._Unpickler any iterable (it goes on)."""
        converted = semantics.star_args(args, opname)
        if converted is not args:
            self._anomaly(
                "loaders-differ",
                f"{opname} arguments are a {type(args).__name__}: pickle._Unpickler makes the "
                "call, _pickle raises",
            )
        return converted

    def op_reduce(self) -> None:
        args = self._pop()
        callee = self._pop()
        semantics.check_callable(callee, "REDUCE")
        args = self._star_args(args, "REDUCE")
        self.stack.append(self._call(CallKind.REDUCE, callee, args))

    def op_newobj(self) -> None:
        args = self._pop()
        cls = self._pop()
        semantics.check_callable(cls, "NEWOBJ")
        args = self._star_args(args, "NEWOBJ")
        self.stack.append(self._call(CallKind.NEWOBJ, cls, args))

    def op_newobj_ex(self) -> None:
        kwargs = self._pop()
        args = self._pop()
        cls = self._pop()
        semantics.check_callable(cls, "NEWOBJ_EX")
        args = self._star_args(args, "NEWOBJ_EX")
        kwargs = semantics.star_kwargs(kwargs, "NEWOBJ_EX")
        self.stack.append(self._call(CallKind.NEWOBJ_EX, cls, args, kwargs))

    def op_obj(self) -> None:
        mark = self._pop_mark()
        if len(self.stack) - mark < 1:
            raise _Stop(Outcome.ERROR, "unpickling stack underflow")
        items = self._pop_items(mark)
        semantics.check_callable(items[0], "OBJ")
        self.stack.append(self._call(CallKind.OBJ, items[0], tuple(items[1:])))

    def op_inst(self) -> None:
        # _pickle looks for the MARK first; pickle._Unpickler reads both names and calls
        # find_class (importing the module) before it does, so the import counts either way.
        module = self._readline()
        if module is not None and not module:
            raise _Stop(Outcome.ERROR, "pickle data was truncated (empty INST module)")
        name = self._readline()
        if name is not None and not name:
            raise _Stop(Outcome.ERROR, "pickle data was truncated (empty INST name)")
        try:
            module_text = None if module is None else module.decode("ascii")
            name_text = None if name is None else name.decode("ascii")
        except UnicodeDecodeError:
            raise _Stop(Outcome.ERROR, "INST names must be ASCII") from None
        if module_text is None or name_text is None:
            cls = self._unresolved("INST name longer than the line limit")
        else:
            cls = self._find_class(module_text, name_text)
        args = tuple(self._pop_items(self._pop_mark()))
        self.stack.append(self._call(CallKind.INST, cls, args))

    def op_build(self) -> None:
        state = self._pop()
        target = self._top()
        self.builds.append(BuildEvent(target, state, self.op_offset))
        if isinstance(target, Call):
            target.states.append(state)
            hook = self.opts.build_hook
            if hook is not None:
                self._run_hook(hook, target, state)
        elif isinstance(target, Global):
            self.mutations.append(Mutation(target, "BUILD", self.op_offset, state))
        elif not isinstance(target, _NODES) and semantics.build_on_data(target, state):
            self._anomaly(
                "loaders-differ",
                f"BUILD with a falsy state on a {type(target).__name__}: pickle._Unpickler "
                "goes on, _pickle raises",
            )

    def _run_hook(self, hook: BuildHook, target: Call, state: Any) -> None:
        context = HookContext(self.src, self._parse_nested)
        try:
            replacement = hook(target, state, context)
        except HookError as exc:
            raise _Stop(Outcome.LIMIT if exc.limit else Outcome.ERROR, str(exc)) from None
        if replacement is not None:
            self.stack[-1] = replacement

    def _parse_nested(self) -> PickleResult:
        offset = self.src.tell()
        result = _Machine(self.src, self.opts, nested=True).run()
        self.nested_results.append((offset, result))
        return result

    def op_proto(self) -> None:
        version = self._read(1)[0]
        if version > HIGHEST_PROTOCOL:
            raise _Stop(Outcome.ERROR, f"unsupported pickle protocol: {version}")
        self.proto = version
        self.max_proto = version if self.max_proto is None else max(self.max_proto, version)

    def op_frame(self) -> None:
        length = struct.unpack("<Q", self._read(8))[0]
        src = self.src
        pos = src.tell()
        if self.declared_end is not None and pos < self.declared_end:
            self._anomaly("frame-overlap", "FRAME begins before the previous frame ended")
        if self.frame_end is not None and pos + length <= self.frame_end:
            pass  # served from the current buffer: no new read, nothing changes
        elif self.op_offset in self.opts.exact_frames:
            if self.frame_end is not None and pos < self.frame_end:
                src.skip(self.frame_end - pos)  # the old buffer's rest is dropped
                pos = src.tell()
            self.frame_end = pos + length
        else:
            self.frame_end = None
        if length > 0x7FFF_FFFF_FFFF_FFFF:
            raise _Stop(Outcome.ERROR, "FRAME length exceeds the maximum size")
        if not (
            src.has(length) if length <= self.limits.capture or src.length is not None else True
        ):
            # _pickle raises; pickle._Unpickler (joblib.load) reads the short frame and runs it
            self._anomaly(
                "overlong-frame",
                f"FRAME declares {length} bytes, more than the data holds: _pickle raises, "
                "pickle._Unpickler runs what is there",
            )
        self.declared_end = pos + length
        self.declared_at = self.op_offset


def _origin(value: Any) -> str:
    if isinstance(value, Call):
        target = value.target
        return f"result of calling {target.qualified if target else 'an unresolved callable'}"
    if isinstance(value, Global):
        return f"the object {value.qualified or 'unresolved'}"
    if isinstance(value, LargeBytes):
        return f"a {value.length}-byte string"
    if isinstance(value, PersistentRef):
        return "a persistent_load result"
    return type(value).__name__


_DISPATCH: dict[int, Callable[[_Machine], None]] = {
    code: getattr(_Machine, "op_" + name.lower())
    for code, name in OPNAMES.items()
    if name != "STOP"
}


def parse_all_readings(
    source_factory: Callable[[], Source], options: ParseOptions | None = None, *, max_runs: int = 8
) -> list[PickleResult]:
    """Parse once per distinct FRAME reading a loader could apply (at most ``max_runs``).

    The first result ignores frames (``pickle.loads``); if any argument
    straddles a frame, the stream is re-read with all frames exact
    (``Unpickler(io.BytesIO(...))``) and with each straddled frame exact on
    its own (a buffered file decides per frame). A clean pickle never
    straddles, so that costs one parse.
    """
    base = options or ParseOptions()
    first = _Machine(source_factory(), _with_frames(base, NO_FRAMES)).run()
    results = [first]
    if not first.straddled_frames:
        return results
    seen: set[frozenset[int] | str] = {"none"}
    queue: list[Container[int]] = [
        ALL_FRAMES,
        *[frozenset({f}) for f in sorted(first.straddled_frames)],
    ]
    while queue and len(results) < max_runs:
        frames = queue.pop(0)
        key: frozenset[int] | str = (
            "all" if frames is ALL_FRAMES else frozenset(cast("frozenset[int]", frames))
        )
        if key in seen:
            continue
        seen.add(key)
        result = _Machine(source_factory(), _with_frames(base, frames)).run()
        results.append(result)
        if isinstance(key, frozenset):
            for frame in sorted(result.straddled_frames - key):
                queue.append(key | {frame})
    return results


def _with_frames(options: ParseOptions, frames: Container[int]) -> ParseOptions:
    return dataclasses.replace(options, exact_frames=frames)
