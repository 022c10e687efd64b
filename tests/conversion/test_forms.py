"""Issue 11: every container form torch's weights-only loader reads converts to exactly its tensors.

Each form (Python-2 / old-torch reproductions written opcode for opcode, and
what torch 2.13 writes, zip and legacy) is written to ``tmp_path`` and read
by ``torch.load(weights_only=True)`` in this process (only files these tests
made). Where torch reads it, our conversion equals it tensor for tensor
(name, dtype, shape, bytes); where torch refuses, we refuse. The few
deliberate differences are named in :data:`tests.conversion.forms.FORMS`.
"""

from __future__ import annotations

import collections
import io
import math
import pickletools
import struct
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from supplychain.conversion import (
    CheckpointFormatError,
    ConversionReport,
    UnsupportedContentError,
    convert,
)
from supplychain.conversion.checkpoint import open_checkpoint
from supplychain.errors import InputError, SupplychainError
from supplychain.formats.sniff import Format
from tests.conversion import py2pickle as py2
from tests.conversion import torchref
from tests.conversion.forms import FORMS, PY2_FORMS

pytest.importorskip("torch")

CASES = [(name, key) for name, form in FORMS.items() for key in form.keys]


def _convert(source: Path, output: Path, key: str | None) -> ConversionReport | SupplychainError:
    try:
        return convert(source, output, key=key)
    except SupplychainError as exc:
        return exc


@pytest.mark.parametrize(("name", "key"), CASES, ids=[f"{n}[{k}]" for n, k in CASES])
def test_form_converts_exactly_as_torch_reads_it(
    name: str, key: str | None, tmp_path: Path
) -> None:
    form = FORMS[name]
    source = form.write(tmp_path / f"{name}.pt")
    loaded, torch_refusal = torchref.torch_load(source)
    output = tmp_path / "out.safetensors"
    outcome = _convert(source, output, key)
    if form.differs:
        # the documented difference holds: exactly one of us reads it
        assert (torch_refusal is None) != isinstance(outcome, ConversionReport), form.differs
        return
    if torch_refusal is not None:
        assert isinstance(outcome, SupplychainError), f"torch refuses ({torch_refusal}), we convert"
        assert outcome.exit_code != 0 and not output.exists()
        return
    assert isinstance(outcome, ConversionReport), f"torch reads it, we refuse: {outcome}"
    (conversion,) = outcome.files
    reference = torchref.flatten(
        loaded, conversion.selected, conversion.stripped_prefix, explicit=key is not None
    )
    assert reference, "the form holds tensors"
    torchref.assert_equal(output, reference)


#: What Python 2.7's protocol-2 pickler emits (no BINBYTES, SHORT_BINUNICODE, FRAME, MEMOIZE...).
PY2_OPCODES = frozenset(
    [
        "PROTO",
        "GLOBAL",
        "BINPUT",
        "LONG_BINPUT",
        "BINGET",
        "LONG_BINGET",
        "EMPTY_LIST",
        "EMPTY_DICT",
        "EMPTY_TUPLE",
        "MARK",
        "APPEND",
        "APPENDS",
        "SETITEM",
        "SETITEMS",
        "TUPLE",
        "TUPLE1",
        "TUPLE2",
        "TUPLE3",
        "SHORT_BINSTRING",
        "BINSTRING",
        "BINUNICODE",
        "BININT",
        "BININT1",
        "BININT2",
        "INT",
        "LONG1",
        "BINFLOAT",
        "NEWTRUE",
        "NEWFALSE",
        "NONE",
        "REDUCE",
        "BUILD",
        "NEWOBJ",
        "BINPERSID",
        "STOP",
    ]
)


def test_python2_forms_are_protocol_2_pickles_python_2_could_write(tmp_path: Path) -> None:
    """A legacy container of five protocol-2 pickles, then storages; str keys as Python 2 str."""
    for name, form in PY2_FORMS.items():
        data = form.write(tmp_path / f"{name}.pt").read_bytes()
        stream = io.BytesIO(data)
        seen: set[str] = set()
        for _ in range(5):  # magic, protocol, sys_info, the object, the storage keys
            assert stream.read(2) == b"\x80\x02", name
            stream.seek(-2, io.SEEK_CUR)
            seen.update(op.name for op, _, _ in pickletools.genops(stream))
        assert seen <= PY2_OPCODES, (name, seen - PY2_OPCODES)
        assert "SHORT_BINSTRING" in seen and "REDUCE" in seen, name
        assert stream.tell() < len(data), "the storages follow the pickles"


def test_python2_ordered_dict_records_the_chosen_key_and_prefix(tmp_path: Path) -> None:
    source = FORMS["py2-imagenet-checkpoint-dataparallel"].write(tmp_path / "ckpt.pth.tar")
    report = convert(source, tmp_path / "out.safetensors")
    (conversion,) = report.files
    assert conversion.selected == ("state_dict",) and conversion.stripped_prefix == "module."
    (entry,) = report.record()["conversions"]
    assert entry["selected_key"] == "state_dict" and entry["stripped_prefix"] == "module."
    left_out = {s.path: s.reason for s in conversion.skipped}
    assert "optimizer" in left_out and "epoch" in left_out
    assert "state_dict [attribute _metadata]" in left_out


# -- generated nested containers ------------------------------------------------------------------
DTYPES = ("float32", "int64", "bool", "float16", "bfloat16", "uint8")
NAMES = st.text(alphabet="abcdefgh", min_size=1, max_size=3)


@st.composite
def _tensors(draw: st.DrawFn) -> Any:
    import torch

    dtype = getattr(torch, draw(st.sampled_from(DTYPES)))
    shape = tuple(draw(st.lists(st.integers(0, 3), max_size=3)))
    values = torch.arange(max(1, math.prod(shape)) * 2, dtype=torch.float32)
    tensor = values[: math.prod(shape)].reshape(shape).to(dtype)
    if len(shape) >= 2 and draw(st.booleans()):
        tensor = tensor.transpose(0, 1)  # a non-contiguous view
    return tensor


def _containers(depth: int) -> st.SearchStrategy[Any]:
    leaves = st.one_of(_tensors(), _tensors(), st.integers(-3, 3), st.none())
    if depth == 0:
        return leaves
    inner = _containers(depth - 1)
    return st.one_of(
        leaves,
        st.dictionaries(NAMES, inner, max_size=3),
        st.dictionaries(NAMES, inner, max_size=3).map(collections.OrderedDict),
        st.lists(inner, max_size=3),
        st.lists(inner, max_size=3).map(tuple),
    )


def _tensor_count(value: Any) -> int:
    import torch

    if isinstance(value, torch.Tensor):
        return 1
    if isinstance(value, dict):
        return sum(_tensor_count(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(_tensor_count(v) for v in value)
    return 0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    root=st.one_of(
        st.dictionaries(NAMES, _containers(2), min_size=1, max_size=3),
        st.lists(_containers(2), min_size=1, max_size=3),
        st.lists(_containers(2), min_size=1, max_size=3).map(tuple),
    ),
    shared=st.booleans(),
    zip_format=st.booleans(),
)
def test_generated_nested_containers_equal_torch(root: Any, shared: bool, zip_format: bool) -> None:
    import torch

    if shared and isinstance(root, dict):
        root["tied"] = next(iter(_first_tensor(root)), torch.ones(1))  # one tensor, two names
    assume(_tensor_count(root) > 0)
    with tempfile.TemporaryDirectory() as work:
        source = Path(work) / "nested.pt"
        torch.save(root, source, _use_new_zipfile_serialization=zip_format)
        loaded, refusal = torchref.torch_load(source)
        assert refusal is None, refusal
        output = Path(work) / "out.safetensors"
        key = None
        try:
            report = convert(source, output)
        except InputError as choose:  # several state dicts beside other values: choose one
            key = choose.problem.split("--key ")[1].split(" ")[0]
            report = convert(source, output, key=key)
        (conversion,) = report.files
        reference = torchref.flatten(
            loaded, conversion.selected, conversion.stripped_prefix, explicit=key is not None
        )
        torchref.assert_equal(output, reference)


def _first_tensor(value: Any) -> list[Any]:
    import torch

    if isinstance(value, torch.Tensor):
        return [value]
    items = value.values() if isinstance(value, dict) else value
    if isinstance(value, (dict, list, tuple)):
        for item in items:
            found = _first_tensor(item)
            if found:
                return found
    return []


def test_storage_view_past_its_root_is_refused(tmp_path: Path) -> None:
    pickler = py2.Py2Pickler()
    root = py2.Storage("FloatStorage", "1", struct.pack("<4f", 1, 2, 3, 4), 4)
    view = py2.StorageView(root, "2", 2, 3)  # elements 2..5 of a 4-element storage
    source = tmp_path / "view.pt"
    state = py2.py2_ordered_dict(pickler, [("w", py2.tensor_v2(view, 0, (3,), (1,)))])
    source.write_bytes(py2.legacy_file(pickler, state))
    with pytest.raises(CheckpointFormatError, match="reaches past the 16 bytes of storage 1"):
        convert(source, tmp_path / "out.safetensors")
    assert not (tmp_path / "out.safetensors").exists()


def test_a_legacy_file_read_as_a_plain_pickle_is_refused_by_name(tmp_path: Path) -> None:
    """Where the sniffer takes a legacy file for one pickle, the rest was never scanned."""
    import torch

    source = tmp_path / "p4.pt"
    torch.save(
        {"w": torch.ones(2)}, source, _use_new_zipfile_serialization=False, pickle_protocol=4
    )
    with pytest.raises(UnsupportedContentError, match="legacy torch checkpoint written with"):
        open_checkpoint(source, kind=Format.PICKLE)
