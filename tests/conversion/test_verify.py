"""The self-check catches outputs that do not hold the planned tensors."""

from __future__ import annotations

import os
from pathlib import Path

import blake3
import pytest

from supplychain.conversion.dtypes import BY_CODE
from supplychain.conversion.errors import SelfCheckError
from supplychain.conversion.plan import plan
from supplychain.conversion.select import Exported
from supplychain.conversion.storage import Bytes
from supplychain.conversion.tree import TensorView
from supplychain.conversion.verify import self_check
from supplychain.conversion.writer import write_plan

DATA = bytes(range(48))


def _written(tmp_path: Path) -> tuple[Path, object, dict[str, str]]:
    tensors = [
        Exported("a", TensorView("0", BY_CODE["F32"], 0, (2, 3), (3, 1)), ("a",)),
        Exported("b", TensorView("0", BY_CODE["BF16"], 12, (4,), (1,)), ("b",)),
    ]
    the_plan = plan(tensors, {"0": 48})
    path = tmp_path / "out.safetensors"
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        written = write_plan(fd, the_plan, lambda key: Bytes.of_bytes(key, DATA))
    finally:
        os.close(fd)
    return path, the_plan, written.digests


def test_a_faithful_file_passes(tmp_path: Path) -> None:
    path, the_plan, digests = _written(tmp_path)
    assert digests["a"] == blake3.blake3(DATA[:24]).hexdigest()
    assert digests["b"] == blake3.blake3(DATA[24:32]).hexdigest()
    result = self_check(path, the_plan, digests)  # type: ignore[arg-type]
    assert result.tensors == 2 and result.sampled_through_library == 1  # BF16: raw only


def test_changed_bytes_are_caught(tmp_path: Path) -> None:
    path, the_plan, digests = _written(tmp_path)
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(SelfCheckError, match="b: the bytes read back differ"):
        self_check(path, the_plan, digests)  # type: ignore[arg-type]


def test_a_different_header_is_caught(tmp_path: Path) -> None:
    path, the_plan, digests = _written(tmp_path)
    raw = path.read_bytes().replace(b'"format":"pt"', b'"format":"tf"')
    path.write_bytes(raw)
    with pytest.raises(SelfCheckError, match="metadata differ"):
        self_check(path, the_plan, digests)  # type: ignore[arg-type]
    path.write_bytes(raw[:-3])
    with pytest.raises(SelfCheckError, match="header is invalid"):
        self_check(path, the_plan, digests)  # type: ignore[arg-type]


def test_a_dtype_torch_would_not_load_is_caught(tmp_path: Path) -> None:
    view = TensorView("0", BY_CODE["I32"], 0, (4,), (1,), origin="torch._utils._rebuild_tensor_v2")
    the_plan = plan([Exported("w", view, ("w",))], {"0": 16})
    path = tmp_path / "out.safetensors"
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        written = write_plan(fd, the_plan, lambda key: Bytes.of_bytes(key, DATA[:16]))
    finally:
        os.close(fd)
    assert self_check(path, the_plan, written.digests, {"0": "int32"}).tensors == 1
    with pytest.raises(SelfCheckError, match="w: written as int32, but torch loads storage 0 as"):
        self_check(path, the_plan, written.digests, {"0": "float32"})


def test_read_back_digests_that_differ_from_the_source_are_caught(tmp_path: Path) -> None:
    path, the_plan, digests = _written(tmp_path)
    read_back = dict(digests)
    assert self_check(path, the_plan, digests, None, read_back).tensors == 2  # type: ignore[arg-type]
    read_back["a"] = blake3.blake3(b"other bytes").hexdigest()
    with pytest.raises(SelfCheckError, match="a: the bytes read back differ"):
        self_check(path, the_plan, digests, None, read_back)  # type: ignore[arg-type]
    del read_back["a"]
    with pytest.raises(SelfCheckError, match="a: the bytes read back differ"):
        self_check(path, the_plan, digests, None, read_back)  # type: ignore[arg-type]
