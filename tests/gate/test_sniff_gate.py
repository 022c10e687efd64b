"""The gate under the strict example policy: a signed model whose files run code never passes.

Each release is made as a pipeline makes it (BOM, then a key signature) with one
extra file, then checked with ``supplychain check`` and the shipped strict policy.
"""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path
from typing import Any

import pytest

from supplychain.bom import build_bom, write_cyclonedx
from supplychain.signing import KeySigner, sign
from supplychain.signing.keys import generate_private_key, public_key_pem
from tests.conftest import RunCli

STRICT = Path(__file__).resolve().parents[2] / "supplychain" / "policy" / "examples" / "strict.yaml"
PAYLOAD = b"\x8c\x05posix\x8c\x06system\x93\x8c\x02id\x85R."

ATTACKS = {
    "short-binunicode.pkl": PAYLOAD,
    "frame-no-proto.bin": b"\x95" + struct.pack("<Q", len(PAYLOAD)) + PAYLOAD,
    "tfl3-at-offset-4.tflite": b"\x80\x04\x8c\x04TFL30" + PAYLOAD,
    "legacy-path.pt": b"\x88" + b"0" + PAYLOAD,
}


def _safetensors() -> bytes:
    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    return struct.pack("<Q", len(header)) + header + bytes(8)


def release(root: Path, extra: dict[str, bytes], *, policy: str | None = None) -> Path:
    """A signed model directory with ``extra`` files; returns the policy path beside it."""
    model = root / "model"
    model.mkdir(parents=True)
    (model / "README.md").write_text("---\nlicense: apache-2.0\n---\n# tiny\n")
    (model / "config.json").write_text(json.dumps({"model_type": "tiny"}))
    (model / "model.safetensors").write_bytes(_safetensors())
    for name, data in extra.items():
        (model / name).write_bytes(data)
    write_cyclonedx(build_bom(model, progress=False), model / "bom.cdx.json", "1.6")
    key = generate_private_key("P-256")
    (root / "release.pub").write_bytes(public_key_pem(key.public_key()))
    sign(model, KeySigner(key), progress=False)
    policy_path = root / "policy.yaml"
    if policy is None:
        shutil.copyfile(STRICT, policy_path)
    else:
        policy_path.write_text(policy)
    return policy_path


def check(run_cli: RunCli, policy: Path) -> tuple[int, dict[str, Any]]:
    result = run_cli("check", policy.parent / "model", "--policy", policy, "--json")
    report = json.loads(result.stdout)
    assert report["exit_code"] == result.exit_code
    return result.exit_code, {c["check"]: c for c in report["checks"]}


def test_a_clean_signed_release_passes_the_strict_policy(run_cli: RunCli, tmp_path: Path) -> None:
    code, checks = check(run_cli, release(tmp_path, {"tokenizer.json": b'{"version": "1.0"}'}))
    assert code == 0, checks


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_a_signed_model_whose_weights_run_code_is_refused(
    run_cli: RunCli, tmp_path: Path, name: str
) -> None:
    code, checks = check(run_cli, release(tmp_path, {name: ATTACKS[name]}))
    assert code == 14, checks  # unsafe content (the smallest failing code)
    assert checks["signature"]["status"] == "pass"
    assert checks["safety"]["status"] == "fail"
    assert any(name in line and "posix.system" in line for line in checks["safety"]["evidence"])
    assert checks["formats"]["status"] == "fail"
    assert any(f["file"] == name for f in checks["formats"]["files"])


UNKNOWN_BINARY = b"\x01\x02\x03\x04" + bytes(range(256)) * 4


def test_an_unknown_binary_is_refused_and_named(run_cli: RunCli, tmp_path: Path) -> None:
    code, checks = check(run_cli, release(tmp_path, {"weights.dat": UNKNOWN_BINARY}))
    assert code == 15, checks
    assert checks["safety"]["status"] == "pass"
    (problem,) = checks["formats"]["files"]
    assert problem["file"] == "weights.dat" and "unknown" in problem["problem"]


LENIENT = """version: 1
name: lenient
signature:
  signers:
    - public_key: release.pub
scan: {required: false, fail_on: high}
formats: {allow_pickle: false}
licenses: {required: false}
bom: {required: false}
"""


def test_unknown_binaries_pass_when_the_policy_does_not_refuse_them(
    run_cli: RunCli, tmp_path: Path
) -> None:
    code, checks = check(
        run_cli, release(tmp_path, {"weights.dat": UNKNOWN_BINARY}, policy=LENIENT)
    )
    assert code == 0, checks
    assert checks["formats"]["status"] == "pass"


def test_a_file_not_read_completely_never_passes_allow_pickle_false(
    run_cli: RunCli, tmp_path: Path
) -> None:
    # zstd has no decoder here: the scan cannot say whether it holds a pickle
    zstd = b"\x28\xb5\x2f\xfd" + bytes(32)
    code, checks = check(run_cli, release(tmp_path, {"weights.bin.zst": zstd}, policy=LENIENT))
    assert code == 15, checks
    (problem,) = checks["formats"]["files"]
    assert problem["file"] == "weights.bin.zst" and "not read completely" in problem["problem"]
