"""The demo's convert step converts its pickle checkpoint, verifies it and refuses a planted one."""

from __future__ import annotations

import json
from pathlib import Path

from safetensors.numpy import load_file

from tests.conftest import RunCli


def test_demo_converts_and_refuses(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli("demo", tmp_path)

    assert result.exit_code == 0, result
    assert "Convert the pickle checkpoint to safetensors (and refuse a planted one) ... ok" in (
        result.stdout
    )
    for line in (
        "tied weights: embeddings.weight -> decoder.weight (in __metadata__)",
        "verified: 3 tensors read back with safetensors",
        "planted-checkpoint.bin: refused: critical finding: calls builtins.open",
        "payload never ran (no marker file)",
    ):
        assert line in result.stdout, line
    tensors = load_file(tmp_path / "converted" / "model.safetensors")
    assert {k: v.shape for k, v in tensors.items()} == {
        "classifier.bias": (2,),
        "classifier.weight": (2, 16),
        "decoder.weight": (32, 16),
    }
    record = json.loads((tmp_path / "converted" / "conversion-record.json").read_text())
    assert record["conversions"][0]["source"]["name"] == "pytorch_model.bin"
    assert not (tmp_path / "CONVERT-PAYLOAD-RAN").exists()
    assert not (tmp_path / "planted.safetensors").exists()
