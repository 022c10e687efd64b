"""The demo's scan step flags the planted pickle and never runs it."""

from __future__ import annotations

import json
from pathlib import Path

from supplychain.demo.scan_step import PLANTED


def test_demo_scan_step(run_cli, tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    result = run_cli("demo", "--json", workdir)
    assert result.exit_code == 0, result
    steps = json.loads(result.stdout)["steps"]
    [step] = [s for s in steps if s["title"].startswith("Scan")]
    assert step["ok"]
    assert any(PLANTED in line and "CRITICAL" in line for line in step["lines"])
    assert any("payload never ran" in line for line in step["lines"])
    assert not (workdir / "PAYLOAD-RAN").exists()
    assert (workdir / PLANTED).exists()
