"""The demo's signing step: a fresh key signs, verification passes, a flipped byte is caught."""

from __future__ import annotations

from pathlib import Path

from supplychain.demo import DemoContext, model, sign_step
from supplychain.signing import KeyVerifier, verify


def test_sign_step_verifies_then_catches_one_flipped_byte(tmp_path: Path) -> None:
    context = DemoContext(workdir=tmp_path, model=tmp_path / "tiny-sentiment")
    model.write_example(context)
    report = sign_step.sign_and_tamper(context)
    assert report.ok, report.lines
    assert any(line == "verify: OK (4 files match)" for line in report.lines)
    assert report.lines[-1] == "verify: FAILED as expected, modified: model.safetensors"
    # The original model is untouched and still verifies; the copy differs in exactly one byte.
    verifier = KeyVerifier.from_file(context.facts["public_key"])
    assert verify(context.model, context.facts["signature"], verifier).verified
    original = (context.model / "model.safetensors").read_bytes()
    tampered = (tmp_path / "tiny-sentiment-tampered" / "model.safetensors").read_bytes()
    assert len(original) == len(tampered)
    assert sum(a != b for a, b in zip(original, tampered, strict=True)) == 1
