"""Scanner findings through the ScanReport seam, rendered as CycloneDX vulnerabilities."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from supplychain.bom import ScanFinding, ScanReport, build_bom
from supplychain.severity import Severity
from tests.bom.repos import bom_document, hf_repo, library_strict_errors, props

REPORT = ScanReport(
    scanner="supplychain-scan",
    version="0.1.0",
    findings=(
        ScanFinding(
            "pytorch_model.bin",
            Severity.CRITICAL,
            "pickle.global.os-system",
            "imports os.system, which runs a shell command on load",
            cwe=502,
        ),
        ScanFinding("model.safetensors", Severity.INFO, "safetensors.ok", "header is valid"),
    ),
)


def test_scanner_findings_become_rated_vulnerabilities_on_their_files(tmp_path: Path) -> None:
    repo = hf_repo(tmp_path / "m", remote_code=False)
    document = bom_document(repo, "1.7", scan=REPORT)
    assert library_strict_errors(document) is None

    [critical, info] = document["vulnerabilities"]
    assert critical["id"] == "pickle.global.os-system"
    assert critical["source"] == {"name": "supplychain-scan"}
    assert critical["ratings"] == [
        {"source": {"name": "supplychain-scan"}, "severity": "critical", "method": "other"}
    ]
    assert critical["cwes"] == [502]
    assert critical["description"] == "imports os.system, which runs a shell command on load"
    assert critical["affects"] == [{"ref": "file:pytorch_model.bin"}]
    assert critical["tools"] == {
        "components": [{"type": "application", "name": "supplychain-scan", "version": "0.1.0"}]
    }
    assert props(critical, "supplychain:finding:origin") == ["scan"]
    assert info["affects"] == [{"ref": "file:model.safetensors"}]
    assert props(document["metadata"], "supplychain:scan:performed") == ["true"]
    assert props(document["metadata"], "supplychain:scan:scanner") == ["supplychain-scan 0.1.0"]


def test_a_scanned_pickle_is_not_also_flagged_unscanned(tmp_path: Path) -> None:
    repo = hf_repo(tmp_path / "m", remote_code=False)

    unscanned = build_bom(repo)
    scanned = build_bom(repo, scan=REPORT)
    partial = build_bom(repo, scan=ScanReport("s", "1", files=("model.safetensors",)))

    assert "format.code-execution-capable" in {f.rule_id for f in unscanned.findings}
    assert "format.code-execution-capable" not in {f.rule_id for f in scanned.findings}
    assert "format.code-execution-capable" in {f.rule_id for f in partial.findings}


def test_findings_about_files_outside_the_bom_point_at_the_model(tmp_path: Path) -> None:
    repo = hf_repo(tmp_path / "m", remote_code=False, pickle_weights=False)
    report = ScanReport("s", "1", (ScanFinding("gone.bin", Severity.HIGH, "r", "m"),))

    [vulnerability] = bom_document(repo, scan=report)["vulnerabilities"]

    assert vulnerability["affects"] == [{"ref": "model"}]
    assert props(vulnerability, "supplychain:finding:file") == ["gone.bin"]


def test_auto_map_into_another_repository_is_a_high_finding(tmp_path: Path) -> None:
    config = {"model_type": "x", "auto_map": {"AutoModel": "other-org/code--modeling_x.XModel"}}
    bom = build_bom(hf_repo(tmp_path / "m", config=config, remote_code=False, pickle_weights=False))

    [finding] = [f for f in bom.findings if f.rule_id == "code.remote-code-other-repository"]
    assert finding.severity is Severity.HIGH
    assert "'modeling_x' from another repository, other-org/code" in finding.message


def test_the_bom_command_scans_by_default(tmp_path: Path, run_cli: Any) -> None:
    import json
    import os
    import pickle

    repo = hf_repo(tmp_path / "m", remote_code=False)
    marker = tmp_path / "payload-ran"

    class Payload:
        def __reduce__(self) -> tuple[object, ...]:
            return (os.system, (f"touch {marker}",))

    (repo / "extra.pkl").write_bytes(pickle.dumps(Payload()))
    out = tmp_path / "bom.cdx.json"
    assert run_cli("bom", repo, "-o", out).exit_code == 0
    document = json.loads(out.read_text())
    gadgets = [
        v for v in document["vulnerabilities"] if v["affects"] == [{"ref": "file:extra.pkl"}]
    ]
    assert gadgets and gadgets[0]["ratings"][0]["severity"] == "critical"
    assert props(document["metadata"], "supplychain:scan:performed") == ["true"]
    assert not marker.exists()

    assert run_cli("bom", repo, "-o", out, "--no-scan").exit_code == 0
    unscanned = json.loads(out.read_text())
    assert not any(v["id"].startswith("pickle.") for v in unscanned.get("vulnerabilities", []))
