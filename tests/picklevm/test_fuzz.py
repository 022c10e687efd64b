"""Property tests: random and mutated pickles never crash, hang or run, in machine or scanner."""

from __future__ import annotations

import os
import pickle
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supplychain.picklevm import Limits, Outcome, ParseOptions, PickleResult, parse
from supplychain.scanning import Status, scan_file

MARKER_DIR = Path(os.environ.get("TMPDIR", "/tmp")) / "supplychain-fuzz-markers"
_MARKER = MARKER_DIR / "ran"

_SEEDS = [
    pickle.dumps({"a": [1, 2.5, "x", b"y", None, (1, 2), {3}]}, protocol=p) for p in range(6)
] + [
    b"\x80\x02cposix\nsystem\nX\x04\x00\x00\x00true\x85R.",
    b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00X\x02\x00\x00\x00osX\x06\x00\x00\x00system\x93.",
    b"(S'x'\nios\nsystem\n.",
    b"\x80\x02cbuiltins\nopen\nX"
    + len(str(_MARKER)).to_bytes(4, "little")
    + str(_MARKER).encode()
    + b"X\x01\x00\x00\x00w\x86R.",
]
_LIMITS = ParseOptions(Limits(max_opcodes=200_000, large_bytes=4096))


def _mutate(seed: bytes, edits: list[tuple[int, int, int]]) -> bytes:
    data = bytearray(seed)
    for kind, position, value in edits:
        if not data:
            data.append(value)
            continue
        index = position % len(data)
        if kind == 0:
            data[index] = value
        elif kind == 1:
            data.insert(index, value)
        elif kind == 2:
            del data[index]
        else:
            del data[index:]
    return bytes(data)


def _check(result: PickleResult) -> None:
    assert isinstance(result, PickleResult)
    assert result.outcome in Outcome
    if result.outcome is not Outcome.COMPLETE:
        assert result.error is not None
    assert not _MARKER.exists()


@settings(max_examples=400, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=512))
def test_random_bytes(data: bytes) -> None:
    modules = set(sys.modules)
    _check(parse(data, _LIMITS))
    assert set(sys.modules) == modules


@settings(max_examples=600, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(_SEEDS),
    st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 10_000), st.integers(0, 255)),
        min_size=1,
        max_size=6,
    ),
)
def test_mutated_pickles(seed: bytes, edits: list[tuple[int, int, int]]) -> None:
    _check(parse(_mutate(seed, edits), _LIMITS))


@settings(
    max_examples=120,
    deadline=5000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    st.sampled_from(_SEEDS),
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 10_000), st.integers(0, 255)), max_size=4),
    st.sampled_from(["x.pkl", "x.pt", "x.safetensors", "x.npy", "x", "x.bin"]),
)
def test_the_scanner_survives_mutated_files(
    tmp_path_factory: object, seed: bytes, edits: list[tuple[int, int, int]], name: str
) -> None:
    directory = MARKER_DIR / "files"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_bytes(_mutate(seed, edits))
    result = scan_file(path)
    assert result.status in Status
    assert "internal error" not in (result.reason or ""), result.reason
    assert not _MARKER.exists()
