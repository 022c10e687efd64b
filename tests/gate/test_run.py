"""``ensure_deployable`` on hostile signatures and paths: a refusal or an input error."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from supplychain.errors import InputError
from supplychain.gate import GateFailed, ensure_deployable
from supplychain.gate.report import FailureClass
from supplychain.signing.keys import generate_private_key, public_key_pem


@pytest.fixture
def model_and_policy(tmp_path: Path) -> tuple[Path, Path]:
    model = tmp_path / "m"
    model.mkdir()
    (model / "weights.txt").write_text("weights\n")
    (tmp_path / "k.pub").write_bytes(public_key_pem(generate_private_key().public_key()))
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\nsignature:\n  signers:\n    - public_key: k.pub\n")
    return model, policy


@pytest.mark.parametrize(
    "plant",
    [
        lambda sig: sig.write_text("[" * 1_000_000 + "]" * 1_000_000),
        lambda sig: os.mkfifo(sig),
        lambda sig: sig.symlink_to("/dev/zero"),
    ],
    ids=["million-deep-json", "fifo", "link-to-dev-zero"],
)
def test_a_hostile_model_sig_is_a_refusal(
    model_and_policy: tuple[Path, Path], plant: object
) -> None:
    model, policy = model_and_policy
    plant(model / "model.sig")  # type: ignore[operator]
    with pytest.raises(GateFailed) as caught:
        ensure_deployable(model, policy, progress=False)
    assert caught.value.exit_code == FailureClass.SIGNATURE
    signature = caught.value.report.get("signature")
    assert "model.sig" in json.dumps(signature.to_json()), signature


def test_a_model_path_too_long_for_the_system_is_an_input_error(
    model_and_policy: tuple[Path, Path],
) -> None:
    model, policy = model_and_policy
    with pytest.raises(InputError, match="too long") as caught:
        ensure_deployable(model.parent / ("n" * 300), policy, progress=False)
    assert caught.value.path is not None and caught.value.path.name == "n" * 300
