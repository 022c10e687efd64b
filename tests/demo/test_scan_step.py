"""The demo's scan step flags the planted pickle and never runs it."""

from __future__ import annotations

from pathlib import Path

from supplychain.demo.scan_step import PLANTED


def test_demo_scan_step(run_cli, tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    result = run_cli("demo", workdir)
    assert result.exit_code == 0, result
    lines = result.stdout.splitlines()
    [title] = [i for i, line in enumerate(lines) if "Scan for code" in line]
    assert lines[title].endswith("ok")
    step = "\n".join(lines[title:])
    assert f"{PLANTED}: pickle, CRITICAL" in step
    assert "model.safetensors: safetensors, clean" in step
    assert "payload never ran" in step
    assert not (workdir / "PAYLOAD-RAN").exists()
    assert (workdir / PLANTED).exists()
