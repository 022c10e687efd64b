"""After an error, the rest of the stream is still read for its imports and calls."""

from __future__ import annotations

import struct

from supplychain.picklevm import Limits, Outcome, Source, parse
from supplychain.picklevm.tail import read_tail

_BROKEN = b"\x80\x04\xff"  # 0xff is no opcode: the machine stops at offset 2


def _names(data: bytes) -> list[tuple[str, str | None]]:
    result = parse(_BROKEN + data)
    assert result.outcome is Outcome.ERROR
    return [(op.opcode, op.target.qualified if op.target else None) for op in result.tail]


def test_global_inst_and_calls_are_listed_in_order() -> None:
    assert _names(b"cposix\nsystem\n(S'x'\ntR(ios\npopen\n.") == [
        ("GLOBAL", "posix.system"),
        ("REDUCE", None),
        ("INST", "os.popen"),
    ]


def test_stack_global_names_come_from_string_literals_and_the_memo() -> None:
    literal = b"\x8c\x05posix\x94\x8c\x06system\x93"
    assert _names(literal) == [("STACK_GLOBAL", "posix.system")]
    memo = b"\x8c\x05posix\x94\x8c\x06system\x940h\x00h\x01\x93"
    assert _names(memo) == [("STACK_GLOBAL", "posix.system")]


def test_a_computed_stack_global_is_unresolved() -> None:
    result = parse(_BROKEN + b"K\x01K\x02\x93")
    (op,) = result.tail
    assert op.target is not None and op.target.qualified is None
    assert "not string literals" in (op.target.unresolved or "")


def test_the_walk_ends_at_stop() -> None:
    assert _names(b"cposix\nsystem\n.cbuiltins\neval\n") == [("GLOBAL", "posix.system")]


def test_protocol_2_names_are_mapped_like_find_class() -> None:
    result = parse(b"\x80\x02\xffc__builtin__\neval\n")
    assert result.tail[0].target is not None
    assert result.tail[0].target.qualified == "builtins.eval"


def test_large_arguments_are_skipped_not_read() -> None:
    data = _BROKEN + b"\x8e" + struct.pack("<Q", 1 << 20) + bytes(1 << 20) + b"cposix\nsystem\n"
    ops, stopped = read_tail(Source.from_bytes(data[3:]), 4, Limits())
    assert [op.target.qualified for op in ops if op.target] == ["posix.system"]
    assert stopped is None


def test_the_walk_is_bounded() -> None:
    ops, stopped = read_tail(Source.from_bytes(b"N" * 100), 4, Limits(max_opcodes=10))
    assert ops == ()
    assert stopped is not None and "10 opcodes" in stopped


def test_after_an_uncertain_stop_the_walk_goes_on_into_stacked_pickles() -> None:
    # an index past a list's end: a loader may go on, reach STOP, and a stacked reader goes on
    result = parse(b"\x80\x02]K\x05K\x02s.\x80\x02cposix\nsystem\n.")
    assert result.error is not None and not result.error.certain
    assert [op.target.qualified for op in result.tail if op.target] == ["posix.system"]
