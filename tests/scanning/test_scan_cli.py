"""``supplychain scan`` as a user runs it: exit codes, table, JSON, SARIF, allowlists."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

EVIL = b"\x80\x02cposix\nsystem\nX\x04\x00\x00\x00true\x85R."
UNLISTED = b"\x80\x02cmypkg.layers\nBlock\n)\x81}X\x01\x00\x00\x00wK\x01sb."


@pytest.fixture
def model(tmp_path: Path) -> Path:
    directory = tmp_path / "model"
    directory.mkdir()
    (directory / "config.json").write_text('{"a": 1}')
    (directory / "weights.pkl").write_bytes(pickle.dumps({"w": [1.0, 2.0]}, protocol=4))
    return directory


def test_a_clean_model_exits_0_with_a_table(run_cli, model: Path) -> None:
    result = run_cli("scan", model)
    assert result.exit_code == 0, result
    assert "model/weights.pkl" in result.stdout and "clean" in result.stdout
    assert "pass" in result.stdout


def test_a_malicious_file_exits_1_and_names_the_gadget(run_cli, model: Path) -> None:
    (model / "pytorch_model.bin").write_bytes(EVIL)
    result = run_cli("scan", model)
    assert result.exit_code == 1
    assert "CRITICAL" in result.stdout and "posix.system" in result.stdout


def test_json_report(run_cli, model: Path) -> None:
    (model / "evil.pkl").write_bytes(EVIL)
    result = run_cli("scan", "--json", model)
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["outcome"] == "fail" and report["exit_code"] == 1
    files = {f["name"]: f for f in report["files"]}
    evil = files["model/evil.pkl"]
    assert evil["format"] == "pickle" and evil["max_severity"] == "critical"
    assert evil["findings"][0]["rule"] == "pickle.gadget"
    assert evil["findings"][0]["symbol"] == "posix.system"
    assert files["model/config.json"]["status"] == "scanned"


def test_sarif_report(run_cli, model: Path, tmp_path: Path) -> None:
    (model / "evil.pkl").write_bytes(EVIL)
    out = tmp_path / "scan.sarif"
    result = run_cli("scan", "--sarif", "-o", out, model)
    assert result.exit_code == 1
    document = json.loads(out.read_text())
    assert document["version"] == "2.1.0"
    run = document["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids))
    assert all("security-severity" in r["properties"] for r in rules)
    [finding] = [r for r in run["results"] if r["ruleId"] == "pickle.gadget"]
    assert finding["level"] == "error"
    assert rules[finding["ruleIndex"]]["id"] == "pickle.gadget"
    assert finding["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith(
        "model/evil.pkl"
    )


def test_fail_on_raises_the_bar(run_cli, tmp_path: Path) -> None:
    path = tmp_path / "custom.pkl"
    path.write_bytes(UNLISTED)
    assert run_cli("scan", path).exit_code == 1
    assert run_cli("scan", "--fail-on", "critical", path).exit_code == 0
    assert run_cli("scan", "--fail-on", "medium", path).exit_code == 1


def test_a_user_allowlist_extends_the_safe_list(run_cli, tmp_path: Path) -> None:
    path = tmp_path / "custom.pkl"
    path.write_bytes(UNLISTED)
    allow = tmp_path / "allow.json"
    allow.write_text(
        json.dumps(
            {
                "version": 1,
                "globals": [
                    {"name": "mypkg.layers.Block", "tier": "medium", "reason": "our own layer"}
                ],
            }
        )
    )
    result = run_cli("scan", "--json", "--allowlist", allow, path)
    assert result.exit_code == 0, result
    [finding] = json.loads(result.stdout)["files"][0]["findings"]
    assert finding["severity"] == "medium"


@pytest.mark.parametrize(
    "entry, message",
    [
        ({"name": "posix.system", "tier": "info"}, "gadget"),
        ({"name": "torch.*", "tier": "info"}, "schema"),
        ({"name": "mypkg", "tier": "info"}, "schema"),
        ({"name": "mypkg.X", "tier": "critical"}, "schema"),
    ],
)
def test_bad_allowlists_are_refused(
    run_cli, tmp_path: Path, entry: dict[str, str], message: str
) -> None:
    path = tmp_path / "x.pkl"
    path.write_bytes(UNLISTED)
    allow = tmp_path / "allow.json"
    allow.write_text(json.dumps({"version": 1, "globals": [entry]}))
    result = run_cli("scan", "--allowlist", allow, path)
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_could_not_scan_is_its_own_outcome(run_cli, tmp_path: Path) -> None:
    path = tmp_path / "model.bin.lz4"
    path.write_bytes(b"\x04\x22\x4d\x18" + b"\x00" * 64)
    result = run_cli("scan", path)
    assert result.exit_code == 3, result
    assert "COULD NOT SCAN" in result.stdout
    report = json.loads(run_cli("scan", "--json", path).stdout)
    assert (
        report["outcome"] == "could-not-scan" and report["files"][0]["status"] == "could-not-scan"
    )


def test_a_finding_wins_over_could_not_scan(run_cli, tmp_path: Path) -> None:
    (tmp_path / "a.lz4").write_bytes(b"\x04\x22\x4d\x18" + b"\x00" * 64)
    (tmp_path / "b.pkl").write_bytes(EVIL)
    assert run_cli("scan", tmp_path).exit_code == 1


def test_a_missing_path_is_a_usage_error(run_cli, tmp_path: Path) -> None:
    result = run_cli("scan", tmp_path / "nope")
    assert result.exit_code == 2
    assert "no such file" in result.stderr


def test_help_documents_exit_codes(run_cli) -> None:
    result = run_cli("scan", "--help")
    assert result.exit_code == 0
    assert "3 some file could not be scanned" in " ".join(result.stdout.split())


def test_the_scan_feeds_the_ai_bom(model: Path) -> None:
    from supplychain.bom import build_bom
    from supplychain.scanning import scan
    from supplychain.scanning.report import to_bom_scan_report

    (model / "pytorch_model.bin").write_bytes(EVIL)
    (model / "extra.lz4").write_bytes(b"\x04\x22\x4d\x18" + b"\x00" * 64)
    bom_report = to_bom_scan_report(scan(model))
    assert set(bom_report.files or ()) == {"config.json", "weights.pkl", "pytorch_model.bin"}
    gadget = [f for f in bom_report.findings if f.rule_id == "pickle.gadget"]
    assert gadget and gadget[0].file == "pytorch_model.bin" and gadget[0].cwe == 502
    assert any(
        f.rule_id == "scan.could-not-scan" and f.file == "extra.lz4" for f in bom_report.findings
    )
    facts = build_bom(model, scan=bom_report)
    scanned = {(f.rule_id, f.file) for f in facts.findings if f.origin == "scan"}
    assert ("pickle.gadget", "pytorch_model.bin") in scanned
    # the BOM does not ask for a scan of files the scan covered
    assert not any(
        f.rule_id == "format.code-execution-capable" and f.file == "weights.pkl"
        for f in facts.findings
    )
