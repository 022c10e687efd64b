"""Atomic writes: all or nothing, no temp file left by errors, SIGTERM, SIGKILL or a full disk."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

from supplychain._internal import atomic
from supplychain._internal.atomic import StagedFiles, Terminated, atomic_writer, write_bytes_atomic
from supplychain.errors import InputError
from tests.conversion.smallfs import small_filesystem


def test_writes_and_replaces_with_the_umask_mode(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_bytes(b"old")
    umask = os.umask(0o027)
    try:
        write_bytes_atomic(target, b"new")
    finally:
        os.umask(umask)
    assert target.read_bytes() == b"new"
    assert target.stat().st_mode & 0o777 == 0o640
    assert os.listdir(tmp_path) == ["out.json"]


def test_the_temp_file_is_unnamed_while_writing(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    with atomic_writer(target) as handle:
        handle.write(b"x" * 1000)
        handle.flush()
        if sys.platform == "linux":  # O_TMPFILE: nothing in the directory until complete
            assert os.listdir(tmp_path) == []
    assert target.read_bytes() == b"x" * 1000
    assert os.listdir(tmp_path) == ["out.bin"]


def test_an_error_leaves_the_target_and_directory_untouched(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(ValueError, match="boom"), atomic_writer(target) as handle:
        handle.write(b"partial")
        raise ValueError("boom")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["out.bin"]


def test_named_temp_fallback_without_unnamed_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(atomic, "_PROC_FD", tmp_path / "no-proc")  # as on a system without /proc
    target = tmp_path / "out.bin"
    with pytest.raises(ValueError), atomic_writer(target) as handle:
        handle.write(b"partial")
        (temp,) = os.listdir(tmp_path)
        assert temp.startswith(".out.bin.") and temp.endswith(".tmp")
        raise ValueError
    assert os.listdir(tmp_path) == []
    write_bytes_atomic(target, b"done")
    assert os.listdir(tmp_path) == ["out.bin"] and target.read_bytes() == b"done"


def test_staged_files_appear_together_or_not_at_all(tmp_path: Path) -> None:
    with StagedFiles() as stage:
        fd, path = stage.create(tmp_path / "a")
        os.write(fd, b"aa")
        assert Path(path).read_bytes() == b"aa"  # readable by path before it has a name
        stage.create(tmp_path / "b")
    assert os.listdir(tmp_path) == []
    with StagedFiles() as stage:
        fd, _ = stage.create(tmp_path / "a")
        os.write(fd, b"aa")
        stage.create(tmp_path / "b")
        stage.commit()
    assert sorted(os.listdir(tmp_path)) == ["a", "b"]
    assert (tmp_path / "a").read_bytes() == b"aa"


def test_sigterm_while_writing_removes_the_temp_and_restores_the_handler(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    with pytest.raises(Terminated) as stopped, atomic_writer(target) as handle:
        handle.write(b"partial")
        os.kill(os.getpid(), signal.SIGTERM)
        handle.write(b"never")  # pragma: no cover - the handler raised
    assert stopped.value.exit_code == 143
    assert "stopped by SIGTERM while writing" in stopped.value.diagnostics()
    assert os.listdir(tmp_path) == []
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_sigterm_during_commit_waits_for_the_renames(tmp_path: Path) -> None:
    stage = StagedFiles()
    with pytest.raises(Terminated, match="complete and in place"), stage:
        fd, _ = stage.create(tmp_path / "a")
        os.write(fd, b"aa")
        original = atomic._Temp.publish

        def publish_then_signal(temp: atomic._Temp) -> None:
            os.kill(os.getpid(), signal.SIGTERM)
            original(temp)

        atomic._Temp.publish = publish_then_signal  # type: ignore[method-assign]
        try:
            stage.commit()
        finally:
            atomic._Temp.publish = original  # type: ignore[method-assign]
    assert os.listdir(tmp_path) == ["a"] and (tmp_path / "a").read_bytes() == b"aa"


def test_a_full_disk_is_an_input_error_and_leaves_nothing(tmp_path: Path) -> None:
    with small_filesystem(tmp_path / "small") as small:
        with pytest.raises(InputError, match="No space left") as full:
            write_bytes_atomic(small / "big.bin", b"x" * (2 << 20))
        assert "free some space" in full.value.diagnostics()
        assert os.listdir(small) == []
        assert os.statvfs(small).f_bfree == os.statvfs(small).f_blocks  # the space came back
