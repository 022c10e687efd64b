"""Legacy whole-module torch.save: the persistent id that carries each module's class."""

from __future__ import annotations

import struct
from pathlib import Path

from supplychain.scanning import Severity, scan_file


def _text(value: str) -> bytes:
    data = value.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def _global(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _called_through_pid(pid_items: bytes, call: bytes) -> bytes:
    """PROTO 2, BINPERSID of the tuple, then ``call`` (REDUCE/NEWOBJ with its arguments), STOP."""
    return b"\x80\x02(" + pid_items + b"tQ" + call + b"."


def _worst(tmp_path: Path, data: bytes) -> tuple[Severity | None, list[str]]:
    path = tmp_path / "module.pkl"
    path.write_bytes(data)
    result = scan_file(path)
    worst = max(result.findings, key=lambda f: f.severity.rank, default=None)
    return (worst.severity if worst else None), [f.message for f in result.findings]


def test_a_torch_module_class_is_graded_like_its_import(tmp_path: Path) -> None:
    pid = _text("module") + _global("torch.nn.modules.linear", "Linear") + b"NN"
    severity, messages = _worst(tmp_path, _called_through_pid(pid, b")\x81"))
    assert severity is Severity.MEDIUM
    assert any("calls torch.nn.modules.linear.Linear" in m for m in messages), messages
    assert not any("cannot be resolved" in m for m in messages), messages


def test_a_gadget_in_the_module_id_is_critical(tmp_path: Path) -> None:
    pid = _text("module") + _global("posix", "system") + _text("x.py") + _text("src")
    severity, messages = _worst(tmp_path, _called_through_pid(pid, _text("touch x") + b"\x85R"))
    assert severity is Severity.CRITICAL
    assert any("calls posix.system" in m for m in messages), messages


def test_an_unlisted_class_in_the_module_id_is_high(tmp_path: Path) -> None:
    pid = _text("module") + _global("mypkg.models", "Evil") + b"NN"
    severity, _ = _worst(tmp_path, _called_through_pid(pid, b")\x81"))
    assert severity is Severity.HIGH


def test_other_persistent_callables_stay_unresolved(tmp_path: Path) -> None:
    # a storage id, and a module id of the wrong shape, are not classes torch hands back
    for pid in (
        _text("storage") + _global("torch.nn.modules.linear", "Linear") + b"NN",
        _text("module") + _global("torch.nn.modules.linear", "Linear") + b"N",
        _text("module") + _text("torch.nn.Linear") + b"NN",
    ):
        severity, messages = _worst(tmp_path, _called_through_pid(pid, b")\x81"))
        assert severity is Severity.CRITICAL, pid
        assert any("persistent_load" in m for m in messages), messages
