"""``supplychain demo`` runs every step on the bundled example and reports each one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import RunCli


def test_demo_in_a_given_directory_keeps_its_files(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli("demo", tmp_path / "out")
    assert result.exit_code == 0, result
    assert "[1] Prepare an example model ... ok" in result.stdout
    assert "root digest sha256:" in result.stdout
    assert (tmp_path / "out" / "tiny-sentiment" / "model.safetensors").is_file()


def test_demo_json_reports_every_step(run_cli: RunCli) -> None:
    result = run_cli("demo", "--json")
    assert result.exit_code == 0, result
    doc = json.loads(result.stdout)
    assert doc["ok"] is True
    assert all(step["ok"] for step in doc["steps"]) and len(doc["steps"]) >= 2
    assert not Path(doc["directory"]).exists()  # the temporary directory is cleaned up


def test_demo_refuses_a_non_empty_directory(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "tiny-sentiment").mkdir()
    (tmp_path / "tiny-sentiment" / "keep.txt").write_text("mine")
    result = run_cli("demo", tmp_path)
    assert result.exit_code == 2 and "not empty" in result.stderr
    assert (tmp_path / "tiny-sentiment" / "keep.txt").read_text() == "mine"


def test_demo_in_a_relative_directory_runs_every_step(
    run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_cli("demo", "out", "--json")
    assert result.exit_code == 0, result
    assert all(step["ok"] for step in json.loads(result.stdout)["steps"])
