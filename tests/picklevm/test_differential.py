"""Differential fuzzing: the loader is the oracle.

Random opcode streams run through both CPython unpicklers (``_pickle`` and
``pickle._Unpickler``) with a ``find_class`` that returns recording stub
classes, never a real callable. Whenever either unpickler imports or calls a
global that is not on the safe list, ``scan`` must report the file at high
or above.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supplychain.scanning import scan_file
from supplychain.scanning.policy import builtin_policy
from supplychain.severity import Severity
from tests.picklevm.unpickler_stubs import loader_reaches

_SAFE = ["builtins.list", "builtins.dict", "builtins.bytearray", "collections.OrderedDict"]
_UNSAFE = ["posix.system", "builtins.eval", "evilpkg.run"]


def _global(qualified: str) -> bytes:
    module, name = qualified.rsplit(".", 1)
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _unicode(text: str) -> bytes:
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


_VALUES = st.sampled_from(
    [
        b"N",
        b"\x88",
        b"K\x00",
        b"K\x01",
        b"K\x41",
        b"J\xff\xff\xff\xff",
        b"M\x2c\x01",
        _unicode("a"),
        b"C\x01x",
        b"]",
        b"}",
        b")",
        b"\x8f",
        b"\x96\x02\x00\x00\x00\x00\x00\x00\x00ab",
        b"N}\x86",
        b"}N\x86",
        b"N]\x86",
        b"(K\x01l",
    ]
)
_OPS = st.sampled_from(
    [
        b"(",
        b"0",
        b"1",
        b"2",
        b"a",
        b"e",
        b"s",
        b"u",
        b"b",
        b"\x90",
        b"l",
        b"t",
        b"d",
        b"\x91",
        b"\x85",
        b"\x86",
        b"R",
        b"\x81",
        b"\x92",
        b"o",
        b"\x93",
        b"\x94",
        b"q\x00",
        b"q\x01",
        b"h\x00",
        b"h\x01",
        b"p1\n",
        b"g1\n",
        # C's number parsers stop at a NUL (_pickle goes on, pickle._Unpickler raises)
        b"p1\x00x\n",
        b"g1\x00x\n",
        b"I5\x00x\n",
        b"F1.5\x00x\n",
    ]
)


@st.composite
def _payload(draw: st.DrawFn) -> bytes:
    qualified = draw(st.sampled_from(_SAFE + _UNSAFE))
    module, name = qualified.rsplit(".", 1)
    kind = draw(st.sampled_from(["global", "stack_global", "inst", "obj"]))
    if kind == "global":
        return _global(qualified) + draw(
            st.sampled_from([b"", b")R", b"(K\x01tR", b"]R", b")\x81"])
        )
    if kind == "stack_global":
        return _unicode(module) + _unicode(name) + b"\x93" + draw(st.sampled_from([b"", b")R"]))
    if kind == "inst":
        return draw(st.sampled_from([b"(", b""])) + b"i" + _global(qualified)[1:]
    return b"(" + _global(qualified) + b"o"


@st.composite
def _divergence(draw: st.DrawFn) -> bytes:
    """A data value, an opcode acting on it (where the unpicklers differ), then POP."""
    target = draw(_VALUES)
    values = draw(st.lists(_VALUES, min_size=1, max_size=3))
    action = draw(
        st.sampled_from(
            [
                values[0] + b"b",
                b"".join(values[:2]) + b"s" if len(values) > 1 else values[0] + b"a",
                b"(" + b"".join(values) + b"u",
                b"(" + b"".join(values) + b"e",
                b"(" + b"".join(values) + b"\x90",
                values[0] + b"a",
                b"(e",
                b"(\x90",
            ]
        )
    )
    return target + action + b"0"


@st.composite
def _stream(draw: st.DrawFn) -> bytes:
    parts = draw(
        st.lists(st.one_of(_VALUES, _OPS, _payload(), _divergence()), min_size=1, max_size=14)
    )
    body = b"".join(parts)
    if draw(st.booleans()):
        body += b"."
    if draw(st.booleans()):
        # a FRAME over part of the body, the whole of it, or more than is left
        length = draw(st.integers(0, len(body) + 20))
        body = b"\x95" + struct.pack("<Q", length) + body
    return b"\x80" + bytes([draw(st.integers(0, 5))]) + body


def _is_safe(qualified: str) -> bool:
    module, name = qualified.rsplit(".", 1)
    return (module, name) in builtin_policy().info


@pytest.fixture(scope="module")
def scan_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("differential")


def _rank(path: Path) -> int:
    result = scan_file(path)
    severity = result.max_severity
    return severity.rank if severity is not None else -1


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(_stream())
def test_whatever_a_loader_reaches_is_reported_high(scan_dir: Path, data: bytes) -> None:
    unsafe = [name for name in loader_reaches(data) if not _is_safe(name)]
    if not unsafe:
        return
    path = scan_dir / "model.pkl"
    path.write_bytes(data)
    assert _rank(path) >= Severity.HIGH.rank, (data, unsafe)


def test_the_stubs_record_what_each_unpickler_reaches() -> None:
    # the oracle itself: a plain REDUCE is seen by both unpicklers, a list-args REDUCE by one
    assert loader_reaches(b"\x80\x02" + _global("posix.system") + b")R.") == [
        "posix.system",
        "posix.system",
        "posix.system",
        "posix.system",
    ]
    reached = loader_reaches(b"\x80\x02" + _global("posix.system") + b"]R.")
    assert reached.count("posix.system") == 3  # two imports, one call (pickle._Unpickler)
