"""Malformed and fuzzed signatures, BOMs and policies never crash the gate: every outcome is a
verdict (a failed check) or a usage error with a message, never a traceback."""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supplychain.errors import SupplychainError
from supplychain.gate import check_model
from supplychain.gate.report import FailureClass
from supplychain.policy import load_policy, parse_policy
from supplychain.signing import KeySigner, sign
from supplychain.signing.keys import generate_private_key, public_key_pem
from tests.conftest import RunCli


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, bytes]:
    root = tmp_path_factory.mktemp("robust")
    model = root / "m"
    model.mkdir()
    (model / "README.md").write_text("---\nlicense: mit\n---\n# m\n")
    (model / "weights.bin").write_bytes(bytes(range(256)) * 16)
    key = generate_private_key("P-256")
    (root / "k.pub").write_bytes(public_key_pem(key.public_key()))
    sign(model, KeySigner(key), progress=False)
    policy = root / "policy.yaml"
    policy.write_text(
        "version: 1\nsignature:\n  signers:\n    - public_key: k.pub\n"
        "bom: {required: false}\nlicenses: {required: true}\n"
    )
    return model, policy, (model / "model.sig").read_bytes()


def gate_with_signature(signed: tuple[Path, Path, bytes], data: bytes) -> int:
    model, policy, _ = signed
    (model / "model.sig").write_bytes(data)
    report = check_model(model, load_policy(policy), progress=False)
    # A mutation either breaks the signature (and only the signature check fails) or leaves
    # it meaning the same thing (an advisory field such as the key hint), and the gate passes.
    assert report.get("signature").failed or report.passed, report.to_json()
    if report.get("signature").failed:
        assert [c.check for c in report.failures] == ["signature"]
    return report.exit_code


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=2000))
def test_random_bytes_as_signature(signed: tuple[Path, Path, bytes], data: bytes) -> None:
    assert gate_with_signature(signed, data) == FailureClass.SIGNATURE


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.data())
def test_mutated_bundles(signed: tuple[Path, Path, bytes], data: st.DataObject) -> None:
    original = bytearray(signed[2])
    flips = data.draw(st.lists(st.integers(0, len(original) - 1), min_size=1, max_size=8))
    for position in flips:
        original[position] = data.draw(st.integers(0, 255))
    code = gate_with_signature(signed, bytes(original))
    assert code in (0, FailureClass.SIGNATURE)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=25,
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.data())
def test_structurally_mutated_bundles(
    signed: tuple[Path, Path, bytes], data: st.DataObject
) -> None:
    """Replace one field anywhere in the bundle (or its decoded statement) with random JSON."""
    bundle = json.loads(signed[2])
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    target = data.draw(st.sampled_from(["bundle", "statement"]))
    document = bundle if target == "bundle" else statement
    paths = list(_paths(document))
    path = data.draw(st.sampled_from(paths))
    _set(document, path, data.draw(_JSON))
    if target == "statement":
        bundle["dsseEnvelope"]["payload"] = base64.b64encode(
            json.dumps(statement).encode()
        ).decode()
    code = gate_with_signature(signed, json.dumps(bundle).encode())
    assert code in (0, FailureClass.SIGNATURE)


def _paths(node: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    found: list[tuple[object, ...]] = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _set(document: object, path: tuple[object, ...], value: object) -> None:
    node = document
    for part in path[:-1]:
        node = node[part]  # type: ignore[index]
    node[path[-1]] = value  # type: ignore[index]


@pytest.mark.parametrize(
    "bom",
    [
        b"",
        b"{",
        b"[]",
        b'{"bomFormat": "CycloneDX"}',
        b'{"bomFormat": "CycloneDX", "specVersion": "9.9"}',
        b"\xff\xfe",
        json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": "x"}).encode(),
    ],
)
def test_malformed_boms_fail_the_bom_check(
    signed: tuple[Path, Path, bytes], bom: bytes, tmp_path: Path
) -> None:
    model, policy, original = signed
    (model / "model.sig").write_bytes(original)
    path = tmp_path / "bom.cdx.json"
    path.write_bytes(bom)
    report = check_model(model, load_policy(policy), bom=path, progress=False)
    assert report.get("bom").failed and report.get("bom").remedy
    assert report.get("signature").status.value == "pass"


def test_random_policies_through_the_cli(
    signed: tuple[Path, Path, bytes], run_cli: RunCli, tmp_path: Path
) -> None:
    model, _, original = signed
    (model / "model.sig").write_bytes(original)
    rng = random.Random(20261122)
    fragments = [
        "version: 1\n",
        "signature:\n  signers: []\n",
        "scan: {fail_on: 3}\n",
        "use: nope\n",
        "formats: {allow: [exe]}\n",
        "licenses: {allow: 7}\n",
        "bom: [1, 2]\n",
        "- x\n",
        "{",
        "]",
        "hf_cache: {verify_blobs: maybe}\n",
        "remote_code: {allowed: true, extra: 1}\n",
    ]
    for attempt in range(40):
        text = "".join(rng.sample(fragments, rng.randint(1, 5)))
        path = tmp_path / f"p{attempt}.yaml"
        path.write_text(text)
        result = run_cli("check", model, "--policy", path)
        assert result.exit_code in (0, 2) or 10 <= result.exit_code <= 18, (text, result)
        assert "Traceback" not in result.stderr and "internal error" not in result.stderr, (
            text,
            result,
        )


def test_policy_parser_and_gate_agree_on_every_shipped_example(
    signed: tuple[Path, Path, bytes],
) -> None:
    examples = Path(__file__).resolve().parents[2] / "supplychain" / "policy" / "examples"
    for example in ("research.yaml",):
        policy = parse_policy((examples / example).read_text())
        report = check_model(signed[0], policy, progress=False)
        assert report.exit_code in (0, *[int(c) for c in FailureClass])
    with pytest.raises(SupplychainError):
        parse_policy("version: 1\nsignature: {signers: []}\n")
