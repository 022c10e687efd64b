"""Opcodes acting on plain data values: the machine goes on exactly where a CPython unpickler does.

Each case runs through ``_pickle`` and ``pickle._Unpickler`` (recording
stubs, never real callables) and through the machine: the machine completes
when either unpickler does, and raises (with ``certain``) only when both do.
"""

from __future__ import annotations

import pytest

from supplychain.picklevm import Outcome, parse
from tests.picklevm.unpickler_stubs import outcomes

_TARGETS = {
    "list": b"]",
    "int": b"K\x05",
    "str": b"X\x01\x00\x00\x00a",
    "dict": b"}",
    "bytearray": b"\x96\x02\x00\x00\x00\x00\x00\x00\x00ab",
    "tuple": b")",
    "None": b"N",
    "set": b"\x8f",
    "bytes": b"C\x01a",
}
_STATES = {
    "None": b"N",
    "{}": b"}",
    "(None, {})": b"N}\x86",
    "(None, {'a': 1})": b"N}X\x01\x00\x00\x00aK\x01s\x86",
    "0": b"K\x00",
    "[]": b"]",
    "({}, None)": b"}N\x86",
    "('', {})": b"X\x00\x00\x00\x00}\x86",
    "(None, [1])": b"N]K\x01a\x86",
    "1": b"K\x01",
    "(None, {1: 1})": b"N}K\x01K\x01s\x86",
}
_BYTEARRAY = _TARGETS["bytearray"]
_FRAME_11 = b"\x95\x0b\x00\x00\x00\x00\x00\x00\x00"
_OPERATIONS = {
    "bytearray APPEND 65": _BYTEARRAY + b"K\x41a",
    "bytearray APPEND 300": _BYTEARRAY + b"M\x2c\x01a",
    "bytearray APPEND b'x'": _BYTEARRAY + b"C\x01xa",
    "bytearray APPEND True": _BYTEARRAY + b"\x88a",
    "bytearray APPENDS 1 2": _BYTEARRAY + b"(K\x01K\x02e",
    "bytearray APPENDS b'x'": _BYTEARRAY + b"(C\x01xe",
    "bytearray SETITEM 0": _BYTEARRAY + b"K\x00K\x41s",
    "bytearray SETITEM -1": _BYTEARRAY + b"J\xff\xff\xff\xffK\x41s",
    "bytearray SETITEM 0 b'x'": _BYTEARRAY + b"K\x00C\x01xs",
    "bytearray SETITEM 'a'": _BYTEARRAY + b"X\x01\x00\x00\x00aK\x01s",
    "bytearray ADDITEMS 1": _BYTEARRAY + b"(K\x01\x90",
    "bytearray ADDITEMS empty": _BYTEARRAY + b"(\x90",
    "list SETITEM 0": b"]K\x01aK\x00K\x02s",
    "list SETITEMS 0 -1": b"]K\x01a(K\x00K\x02J\xff\xff\xff\xffK\x03u",
    "list SETITEM 'a'": b"]K\x01aX\x01\x00\x00\x00aK\x02s",
    "list SETITEMS empty": b"](u",
    "list ADDITEMS empty": b"](\x90",
    "dict APPENDS empty": b"}(e",
    "dict APPEND": b"}K\x01a",
    "str APPENDS empty": b"X\x01\x00\x00\x00a(e",
    "tuple SETITEM": b")K\x00K\x01s",
    "frozenset ADDITEMS 1": b"(\x91(K\x01\x90",
    "dict SETITEM list key": b"}]K\x01s",
    "set ADDITEMS list": b"\x8f(]\x90",
    "REDUCE list args": b"cx\ny\n]R",
    "REDUCE str args": b"cx\ny\nX\x01\x00\x00\x00aR",
    "REDUCE dict args": b"cx\ny\n}R",
    "REDUCE int args": b"cx\ny\nK\x01R",
    "REDUCE int callee": b"K\x01)R",
    "NEWOBJ list args": b"cx\ny\n]\x81",
    "NEWOBJ None class": b"N)\x81",
    "NEWOBJ_EX list kwargs": b"cx\ny\n)]\x92",
    "OBJ int class": b"(K\x01o",
    "READONLY_BUFFER int": b"K\x01\x98",
    "READONLY_BUFFER bytes": b"C\x01a\x98",
    "PERSID non-ASCII": b"P\xe9\n",
    "STACK_GLOBAL bytes": b"C\x01aC\x01b\x93",
    "PUT beyond C's memo": b"K\x01p99999999999999999999\n",
    "DUP on empty": b"2",
    "POP_MARK": b"(K\x01K\x021N",
    "POP pops a MARK": b"N(0",
    "EXT1 unregistered": b"\x82\x05",
    "STOP with items left": b"K\x01K\x02",
    "STOP inside a MARK": b"(",
    "LONG4 negative length": b"\x8b\xff\xff\xff\xff",
    "BINSTRING negative length": b"T\xff\xff\xff\xff",
    "INST without a MARK": b"ix\ny\n",
    "FRAME longer than the data": b"\x95\xff\x00\x00\x00\x00\x00\x00\x00N",
    "FRAME inside a FRAME": _FRAME_11 + b"\x95\x01\x00\x00\x00\x00\x00\x00\x00N",
}
_CASES = {
    **{
        f"BUILD {state} on {target}": _TARGETS[target] + _STATES[state] + b"b"
        for target in _TARGETS
        for state in _STATES
    },
    **_OPERATIONS,
}


@pytest.mark.parametrize("name", list(_CASES))
def test_the_machine_goes_on_where_an_unpickler_does(name: str) -> None:
    data = b"\x80\x05" + _CASES[name] + b"."
    c_result, python_result = outcomes(data)
    result = parse(data)
    if "ok" in (c_result, python_result):
        assert result.outcome is Outcome.COMPLETE, (name, c_result, python_result, result.error)
    elif name == "EXT1 unregistered":
        # copyreg's registry is process-wide: the machine reports an unresolved import instead
        assert result.globals and result.globals[0].module is None
    else:
        assert result.outcome is Outcome.ERROR, (name, c_result, python_result)
        assert result.error is not None and result.error.certain


def test_an_index_past_a_lists_end_is_not_a_certain_error() -> None:
    # code run earlier may have grown the list (it can be passed to a call)
    result = parse(b"\x80\x02]K\x05K\x02s.")
    assert result.outcome is Outcome.ERROR
    assert result.error is not None and not result.error.certain


def test_differences_between_the_unpicklers_are_anomalies() -> None:
    result = parse(b"\x80\x02]}b.")  # _pickle raises, pickle._Unpickler goes on
    assert outcomes(b"\x80\x02]}b.") == ("AttributeError", "ok")
    assert result.complete
    assert [a.kind for a in result.anomalies] == ["loaders-differ"]
