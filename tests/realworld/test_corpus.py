"""The corpus fetcher: pinned data, and an unreachable index told apart from a real failure."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.realworld import corpus


def _pip_says(monkeypatch: pytest.MonkeyPatch, returncode: int, stderr: str) -> None:
    def fake_run(*_args: Any, **_kwargs: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess([], returncode, "", stderr)

    monkeypatch.setattr(corpus.subprocess, "run", fake_run)


def test_an_unreachable_index_is_a_skip_reason(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _pip_says(monkeypatch, 1, "WARNING: Retrying ... NewConnectionError: Failed to establish")
    with pytest.raises(corpus.RegistryUnreachable):
        corpus._download("lpips==0.1.4", tmp_path)


def test_a_missing_release_is_a_failure(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _pip_says(monkeypatch, 1, "ERROR: No matching distribution found for lpips==9.9")
    with pytest.raises(RuntimeError, match="failed") as caught:
        corpus._download("lpips==9.9", tmp_path)
    assert not isinstance(caught.value, corpus.RegistryUnreachable)


def test_every_package_names_its_files_and_formats() -> None:
    packages = corpus.load_packages()
    names = [p.requirement.split("==")[0] for p in packages]
    assert len(set(names)) == len(names) >= 15
    for package in packages:
        for member, (fmt, gap) in package.files.items():
            assert member and not member.startswith("/") and ".." not in member.split("/")
            assert fmt and (gap is None or len(gap) > 20), member
