"""The demo's AI-BOM step writes a valid BOM of the example model and shows its summary."""

from __future__ import annotations

import json
from pathlib import Path

from tests.bom.repos import library_strict_errors, props
from tests.conftest import RunCli


def test_demo_writes_and_summarises_a_bom(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli("demo", tmp_path)

    assert result.exit_code == 0, result
    assert "Write an AI-BOM (CycloneDX ML-BOM) ... ok" in result.stdout
    for line in (
        "licence Apache-2.0 (permissive), openness open-weights",
        "lineage: finetune supplychain-demo/tiny-base",
        "dataset (training): supplychain-demo/tiny-reviews, no licence declared",
        "completeness: integrity 2/3, licensing 3/4",
    ):
        assert line in result.stdout, line
    document = json.loads((tmp_path / "tiny-sentiment.cdx.json").read_text())
    assert library_strict_errors(document) is None
    model = document["metadata"]["component"]
    assert model["licenses"][0]["license"]["id"] == "Apache-2.0"
    assert props(model, "cdx:ai-ml:model:parameter:count") == [str(32 * 16 + 2 * 16 + 2)]
    assert [c["name"] for c in model["components"]] == [
        "README.md",
        "config.json",
        "model.safetensors",
        "tokenizer.json",
    ]
