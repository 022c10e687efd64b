"""Shared test fixtures: CLI runner, the ../shared fixtures, optional references."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SUPPLYCHAIN_SHARED", REPO.parent / "shared"))


@pytest.fixture(autouse=True)
def _isolated_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Never touch the developer's real cache directory."""
    monkeypatch.setenv("SUPPLYCHAIN_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def shared() -> Path:
    """The read-only ../shared directory; tests using it skip in a user's clone."""
    if not (SHARED / "fixtures").is_dir():
        pytest.skip(f"{SHARED} is absent (only the project's CI machines have it)")
    return SHARED


@dataclass(frozen=True)
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    def __repr__(self) -> str:  # readable assertion failures
        return (
            f"CliResult(exit_code={self.exit_code}, stdout={self.stdout!r}, stderr={self.stderr!r})"
        )


RunCli = Callable[..., CliResult]


@pytest.fixture
def run_cli() -> RunCli:
    """Run ``supplychain ARGS...`` in-process through the real entry point (exit codes included)."""
    from click.testing import CliRunner

    from supplychain.cli import main

    def run(*args: str | os.PathLike[str], input: str | None = None) -> CliResult:
        argv = [os.fspath(a) for a in args]
        runner = CliRunner()
        with runner.isolation(input=input) as streams:
            out, err = streams[0], streams[1]
            code = 0
            try:
                main(argv)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            return CliResult(code, out.getvalue().decode(), err.getvalue().decode())

    return run


def supplychain_cmd(*args: str | os.PathLike[str]) -> list[str]:
    """Command line for running supplychain in a subprocess (this interpreter)."""
    return [sys.executable, "-m", "supplychain", *(os.fspath(a) for a in args)]


def shell(cmd: list[str]) -> str:
    return " ".join(shlex.quote(c) for c in cmd)
