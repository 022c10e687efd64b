"""The deployment gate end to end: prepare a release (convert, BOM, sign), the gate allows it,
and each single violation fails with its own exit code and message while nothing else fails."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from supplychain.bom import build_bom, write_cyclonedx
from supplychain.conversion import convert
from supplychain.gate import check_model
from supplychain.gate.report import FailureClass, GateReport
from supplychain.policy import load_policy
from supplychain.signing import CertificateSigner, KeySigner, sign
from supplychain.signing.keys import generate_private_key, public_key_pem
from tests.conftest import RunCli
from tests.signing.conftest import Pki, pki  # noqa: F401  (fixture)

CHECKPOINT = (
    Path(__file__).resolve().parents[2]
    / "supplychain"
    / "demo"
    / "checkpoint"
    / "pytorch_model.bin"
)

CARD = """---
license: {license}
base_model: acme/tiny-base
base_model_relation: finetune
datasets:
- acme/reviews
pipeline_tag: text-classification
---
# tiny

A tiny model for gate tests.
"""

POLICY = """version: 1
name: test
use: commercial
signature:
  signers:
    - {signer}
scan: {{fail_on: high}}
formats: {{allow_pickle: false}}
licenses:
  allow_classes: [permissive]
  openness: [open-source-ai, open-weights]
bom: {{verify_hashes: true}}
remote_code: {{allowed: false}}
"""


@dataclass
class Release:
    model: Path
    policy: Path
    key: object

    def check(self, model: Path | None = None) -> GateReport:
        return check_model(model or self.model, load_policy(self.policy), progress=False)

    def resign(self) -> None:
        sign(self.model, KeySigner(self.key), progress=False)  # type: ignore[arg-type]


def prepare(
    root: Path,
    *,
    license: str = "apache-2.0",
    keep_pickle: bool = False,
    bom_before_change: bool = False,
) -> Release:
    """A release as a pipeline makes it: convert the pickle, write the BOM, sign (key)."""
    model = root / "tiny"
    model.mkdir(parents=True)
    (model / "README.md").write_text(CARD.format(license=license))
    (model / "config.json").write_text(
        json.dumps({"architectures": ["TinyModel"], "model_type": "tiny"})
    )
    (model / "tokenizer.json").write_text('{"version": "1.0"}')
    shutil.copyfile(CHECKPOINT, model / "pytorch_model.bin")
    report = convert(model, progress=False)
    assert (model / "model.safetensors").is_file() and report.files
    if not keep_pickle:
        (model / "pytorch_model.bin").unlink()
    write_cyclonedx(build_bom(model, progress=False), model / "bom.cdx.json", "1.6")
    key = generate_private_key("P-256")
    (root / "release.pub").write_bytes(public_key_pem(key.public_key()))
    sign(model, KeySigner(key), progress=False)
    policy = root / "policy.yaml"
    policy.write_text(POLICY.format(signer="public_key: release.pub"))
    return Release(model, policy, key)


@pytest.fixture
def release(tmp_path: Path) -> Release:
    return prepare(tmp_path)


def failing(report: GateReport) -> list[str]:
    return [c.check for c in report.failures]


def assert_only(report: GateReport, check: str, failure: FailureClass, *needles: str) -> None:
    assert failing(report) == [check], report.to_json()
    assert report.exit_code == int(failure)
    text = json.dumps(report.get(check).to_json())
    for needle in needles:
        assert needle in text, text
    assert report.get(check).remedy


def test_prepared_release_passes_every_check(release: Release) -> None:
    report = release.check()
    assert report.passed and report.exit_code == 0, report.to_json()
    assert [c.check for c in report.checks] == [
        "layout",
        "signature",
        "integrity",
        "safety",
        "formats",
        "licenses",
        "bom",
        "remote-code",
    ]
    assert all(c.status.value == "pass" for c in report.checks)


def test_certificate_signed_release_passes(tmp_path: Path, pki: Pki) -> None:  # noqa: F811
    release = prepare(tmp_path)
    leaf = pki.leaf()
    signer = CertificateSigner.from_files(
        leaf.key_path, leaf.cert_path, [pki.intermediate.cert_path]
    )
    sign(release.model, signer, progress=False)
    release.policy.write_text(POLICY.format(signer=f"certificate_roots: [{pki.root.cert_path}]"))
    report = release.check()
    assert report.passed, report.to_json()
    assert "CN=leaf" in json.dumps(report.get("signature").to_json())


def test_one_byte_changed(release: Release) -> None:
    weights = release.model / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0x01
    weights.write_bytes(bytes(data))
    report = release.check()
    assert_only(report, "integrity", FailureClass.INTEGRITY, "modified: model.safetensors")
    assert report.get("bom").status.value == "blocked"


def test_extra_file(release: Release) -> None:
    (release.model / "notes.txt").write_text("added after signing")
    assert_only(release.check(), "integrity", FailureClass.INTEGRITY, "extra", "notes.txt")


def test_missing_file(release: Release) -> None:
    (release.model / "tokenizer.json").unlink()
    assert_only(release.check(), "integrity", FailureClass.INTEGRITY, "missing", "tokenizer.json")


def test_wrong_signer(release: Release, tmp_path: Path) -> None:
    other = generate_private_key("P-256")
    (tmp_path / "release.pub").write_bytes(public_key_pem(other.public_key()))
    report = release.check()
    assert_only(report, "signature", FailureClass.SIGNATURE, "no allowed signer", "release.pub")
    assert report.get("integrity").status.value == "blocked"


def test_pickle_present(tmp_path: Path) -> None:
    release = prepare(tmp_path, keep_pickle=True)
    assert_only(release.check(), "formats", FailureClass.FORMAT, "pytorch_model.bin", "pickle")


def test_disallowed_licence(tmp_path: Path) -> None:
    release = prepare(tmp_path, license="cc-by-nc-4.0")
    assert_only(
        release.check(),
        "licenses",
        FailureClass.LICENSE,
        "CC-BY-NC-4.0",
        "does not allow commercial use",
    )


def test_bom_hash_mismatch(release: Release) -> None:
    # The weights were changed (and re-signed) after the BOM was written.
    weights = release.model / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0x01
    weights.write_bytes(bytes(data))
    release.resign()
    assert_only(
        release.check(), "bom", FailureClass.BOM, "SHA-256 differs from the BOM: model.safetensors"
    )


def _git_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def to_hf_cache(model: Path, cache: Path) -> Path:
    """The release as huggingface_hub stores it: snapshot links into content-named blobs."""
    repo = cache / "models--acme--tiny"
    snapshot = repo / "snapshots" / ("ab" * 20)
    (repo / "blobs").mkdir(parents=True)
    for path in sorted(p for p in model.rglob("*") if p.is_file()):
        data = path.read_bytes()
        lfs = path.suffix in (".safetensors", ".bin")
        blob = hashlib.sha256(data).hexdigest() if lfs else _git_sha1(data)
        (repo / "blobs" / blob).write_bytes(data)
        link = snapshot / path.relative_to(model)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(repo / "blobs" / blob, link.parent))
    return snapshot


def test_hf_cache_snapshot_passes(release: Release, tmp_path: Path) -> None:
    snapshot = to_hf_cache(release.model, tmp_path / "hub")
    report = release.check(snapshot)
    assert report.passed, report.to_json()
    assert report.input_kind == "hf-snapshot" and report.get("download").status.value == "pass"
    assert report.facts["hf_repo"] == "acme/tiny"


def test_hf_cache_blob_corrupted(release: Release, tmp_path: Path) -> None:
    snapshot = to_hf_cache(release.model, tmp_path / "hub")
    blob = Path(os.path.realpath(snapshot / "model.safetensors"))
    data = bytearray(blob.read_bytes())
    data[-1] ^= 0x01
    blob.write_bytes(bytes(data))
    report = release.check(snapshot)
    assert_only(report, "download", FailureClass.DOWNLOAD, "model.safetensors", blob.name)
    assert report.get("integrity").status.value == "blocked"


def test_symlink_escaping_the_cache(release: Release, tmp_path: Path) -> None:
    snapshot = to_hf_cache(release.model, tmp_path / "hub")
    secret = tmp_path / "outside.txt"
    secret.write_text("not part of any model")
    (snapshot / "escape.json").symlink_to(secret)
    report = release.check(snapshot)
    assert_only(report, "layout", FailureClass.LAYOUT, "escape.json", "outside")
    assert {c.status.value for c in report.checks if c.check != "layout"} == {"blocked"}


def test_single_weight_file(tmp_path: Path) -> None:
    release = prepare(tmp_path)
    weights = release.model / "model.safetensors"
    sign(weights, KeySigner(release.key), progress=False)  # type: ignore[arg-type]
    assert (release.model / "model.safetensors.sig").is_file()
    policy = load_policy(release.policy)
    # A bare weights file carries no card or BOM: check what applies to it.
    from dataclasses import replace

    report = check_model(weights, replace(policy, licenses=None, bom=None), progress=False)
    assert report.passed and report.input_kind == "file", report.to_json()


def test_cli_exit_codes_messages_and_sarif(
    release: Release, run_cli: RunCli, tmp_path: Path
) -> None:
    ok = run_cli("check", release.model, "--policy", release.policy)
    assert ok.exit_code == 0, ok
    assert "verdict: ALLOWED" in ok.stdout
    (release.model / "tokenizer.json").write_text("{}")
    sarif_path = tmp_path / "gate.sarif"
    bad = run_cli("check", release.model, "--policy", release.policy, "--sarif", sarif_path)
    assert bad.exit_code == 13, bad
    assert "FAIL     integrity" in bad.stdout and "modified: tokenizer.json" in bad.stdout
    assert "to fix:" in bad.stdout and "verdict: REFUSED (exit 13" in bad.stdout
    sarif = json.loads(sarif_path.read_text())
    results = sarif["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["gate.integrity"]
    assert results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith(
        "tokenizer.json"
    )
    doc = json.loads(run_cli("check", release.model, "--policy", release.policy, "--json").stdout)
    assert doc["verdict"] == "fail" and doc["exit_code"] == 13


def test_bad_policy_is_a_usage_error_naming_the_field(release: Release, run_cli: RunCli) -> None:
    release.policy.write_text("version: 1\nscan: {fail_on: sometimes}\n")
    result = run_cli("check", release.model, "--policy", release.policy)
    assert result.exit_code == 2 and "scan.fail_on" in result.stderr
    assert "Traceback" not in result.stderr


def test_signature_covering_git_metadata(tmp_path: Path) -> None:
    """Signed with --no-ignore-git-paths: the gate checks the git files it signed too."""
    release = prepare(tmp_path)
    (release.model / ".gitattributes").write_text("*.safetensors filter=lfs\n")
    sign(release.model, KeySigner(release.key), ignore_git_paths=False, progress=False)  # type: ignore[arg-type]
    report = release.check()
    assert report.passed, report.to_json()
    (release.model / ".gitattributes").write_text("tampered\n")
    assert_only(release.check(), "integrity", FailureClass.INTEGRITY, "modified: .gitattributes")
