"""`supplychain bom`, `bom show` and `bom diff` as a user runs them: exit codes, output, files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from tests.bom.repos import CARD, hf_repo, library_strict_errors
from tests.conftest import RunCli


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return hf_repo(tmp_path / "acme-chat")


def test_bom_model_writes_a_valid_file_and_summarises_on_stderr(
    run_cli: RunCli, repo: Path, tmp_path: Path
) -> None:
    out = tmp_path / "bom.cdx.json"

    result = run_cli("bom", repo, "-o", out, "--spec-version", "1.7")

    assert result.exit_code == 0, result
    assert result.stdout == ""
    assert f"wrote {out}: CycloneDX 1.7, 6 file(s)" in result.stderr
    assert "openness undetermined" in result.stderr
    document = json.loads(out.read_text())
    assert document["specVersion"] == "1.7"
    assert library_strict_errors(document) is None


def test_bom_never_touches_the_network(
    run_cli: RunCli, repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("supplychain bom opened a network connection")

    requirements = tmp_path / "requirements.txt"
    requirements.write_text("torch==2.13.0\n")
    provenance = tmp_path / "p.yaml"
    provenance.write_text("provenance_version: 1\ndatasets: [{name: acme/x, license: mit}]\n")
    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)

    result = run_cli(
        "bom",
        repo,
        "-o",
        tmp_path / "b.json",
        "--provenance",
        provenance,
        "--requirements",
        requirements,
        "--installed",
        "--spec-version",
        "1.7",
    )

    assert result.exit_code == 0, result
    assert run_cli("bom", "show", tmp_path / "b.json").exit_code == 0


def test_bom_create_to_stdout_is_reproducible(run_cli: RunCli, repo: Path) -> None:
    first = run_cli("bom", "create", repo, "--reproducible")
    second = run_cli("-q", "bom", repo, "--reproducible")

    assert first.exit_code == second.exit_code == 0
    assert first.stdout == second.stdout
    assert json.loads(first.stdout)["bomFormat"] == "CycloneDX"
    assert second.stderr == ""  # -q hides the summary note


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("missing-dir",), "missing-dir: no such file or directory"),
        (("{repo}", "--provenance", "{bad}"), "/datasets: 'x' is not of type 'array'"),
        (("{repo}", "--requirements", "{nofile}"), "nope.txt: requirements file not found"),
        (("{repo}", "--spec-version", "1.5"), "'1.5' is not one of '1.6', '1.7'"),
    ],
)
def test_input_errors_exit_2_without_a_traceback(
    run_cli: RunCli, repo: Path, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    bad = tmp_path / "prov.yaml"
    bad.write_text("provenance_version: 1\ndatasets: x\n")
    values = {"repo": str(repo), "bad": str(bad), "nofile": str(tmp_path / "nope.txt")}

    result = run_cli("bom", *(a.format(**values) for a in args))

    assert result.exit_code == 2, result
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_show_prints_the_reviewer_summary(run_cli: RunCli, repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "bom.json"
    # Unscanned on purpose: the summary must say so and flag the pickle as unexamined.
    assert run_cli("bom", repo, "-o", out, "--no-scan").exit_code == 0

    result = run_cli("bom", "show", out)

    assert result.exit_code == 0, result
    text = result.stdout
    assert text.startswith("AI-BOM  acme-chat\n")
    for expected in (
        "openness   undetermined",
        "weights       pickle",
        "pytorch_model.bin  CODE-ON-LOAD",
        "modeling_acme.py  REMOTE-CODE",
        "model: acme-model-license [unknown; commercial use: unknown] "
        "(from README.md front matter)",
        "finetune: meta-llama/Meta-Llama-3-8B  "
        "Meta Llama 3 Community License Agreement [vendor-community]",
        "training     acme/support-tickets  no licence  https://huggingface.co/datasets/acme/support-tickets",
        "MEDIUM   format.code-execution-capable  pytorch_model.bin:",
        "integrity        2/3",
        "[ ] scan results included: no scanner report in this BOM",
    ):
        assert expected in text, expected


def test_show_json_and_html(run_cli: RunCli, repo: Path, tmp_path: Path) -> None:
    out, html = tmp_path / "bom.json", tmp_path / "report.html"
    assert run_cli("bom", repo, "-o", out).exit_code == 0

    result = run_cli("bom", "show", out, "--json", "--html", html)

    assert result.exit_code == 0, result
    summary = json.loads(result.stdout)
    assert summary["schema"] == {"spec_version": "1.6", "valid": True, "problems": []}
    assert summary["openness"]["class"] == "undetermined"
    assert [a["axis"] for a in summary["completeness"]] == [
        "integrity",
        "licensing",
        "lineage",
        "data provenance",
        "model card",
        "security",
    ]
    assert html.read_text().startswith("<!DOCTYPE html>")


def test_show_flags_a_schema_invalid_bom_with_exit_1(
    run_cli: RunCli, repo: Path, tmp_path: Path
) -> None:
    out = tmp_path / "bom.json"
    assert run_cli("bom", repo, "-o", out).exit_code == 0
    document = json.loads(out.read_text())
    document["metadata"]["component"]["modelCard"]["modelParameters"]["hyperparameters"] = {}
    out.write_text(json.dumps(document))

    result = run_cli("bom", "show", out)

    assert result.exit_code == 1
    assert "SCHEMA INVALID" in result.stdout
    assert "is not valid CycloneDX 1.6" in result.stderr


@pytest.mark.parametrize("content", ["not json", '{"bomFormat": "SPDX"}', "[]"])
def test_show_refuses_what_is_not_cyclonedx(run_cli: RunCli, tmp_path: Path, content: str) -> None:
    path = tmp_path / "x.json"
    path.write_text(content)
    result = run_cli("bom", "show", path)
    assert result.exit_code == 2
    assert "error:" in result.stderr


def test_diff_round_trip_detects_licence_weights_and_dataset_changes(
    run_cli: RunCli, repo: Path, tmp_path: Path
) -> None:
    old, new = tmp_path / "v1.cdx.json", tmp_path / "v2.cdx.json"
    assert run_cli("bom", repo, "-o", old).exit_code == 0
    # v2: a new licence, retrained weights, one more training dataset.
    card = CARD.replace(
        "license: other\nlicense_name: acme-model-license\nlicense_link: https://acme.example/model-license\n",
        "license: apache-2.0\n",
    ).replace("- acme/support-tickets\n", "- acme/support-tickets\n- acme/product-docs\n")
    (repo / "README.md").write_text(card)
    save_file(
        {"embed.weight": np.ones((128, 64), dtype=np.float16)}, str(repo / "model.safetensors")
    )
    assert run_cli("bom", repo, "-o", new).exit_code == 0

    result = run_cli("bom", "diff", old, new)

    assert result.exit_code == 1, result
    text = result.stdout
    licences = text.split("Licences (licence drift):\n", 1)[1].split("Openness:", 1)[0]
    assert licences.splitlines() == [
        "  + Apache-2.0  Apache-2.0 [permissive]",
        "  - LicenseRef-hf-acme-model-license  acme-model-license [unknown]",
    ]
    assert "~ model.safetensors: sha256:" in text
    assert "+ acme/product-docs  training" in text
    assert "~ class: undetermined -> open-weights-restricted" in text

    as_json = json.loads(run_cli("bom", "diff", old, new, "--json").stdout)
    changes = {(c["section"], c["kind"], c["subject"]) for c in as_json["changes"]}
    assert {
        ("license", "removed", "LicenseRef-hf-acme-model-license"),
        ("license", "added", "Apache-2.0"),
        ("file", "changed", "model.safetensors"),
        ("dataset", "added", "acme/product-docs"),
        ("license-finding", "added", "license.relaxes-ancestor meta-llama/Meta-Llama-3-8B"),
    } <= changes
    # The README changed too, and nothing else did.
    assert {c[2] for c in changes if c[0] == "file"} == {"README.md", "model.safetensors"}


def test_show_reads_boms_from_other_generators(run_cli: RunCli, tmp_path: Path) -> None:
    # The shape aisbom-cli 1.7 writes: model artifacts as top-level ML components.
    foreign = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "components": [
            {
                "type": "machine-learning-model",
                "name": "model.safetensors",
                "bom-ref": "a",
                "hashes": [{"alg": "SHA-256", "content": "ab" * 32}],
            }
        ],
    }
    path = tmp_path / "foreign.json"
    path.write_text(json.dumps(foreign))

    result = run_cli("bom", "show", path, "--json")

    assert result.exit_code == 0, result
    summary = json.loads(result.stdout)
    assert [(f["name"], f["sha256"]) for f in summary["files"]] == [
        ("model.safetensors", "ab" * 32)
    ]
    assert summary["openness"]["class"] is None


def test_diff_of_identical_boms_exits_0(run_cli: RunCli, repo: Path, tmp_path: Path) -> None:
    old, new = tmp_path / "a.json", tmp_path / "b.json"
    assert run_cli("bom", repo, "-o", old).exit_code == 0
    assert run_cli("bom", repo, "-o", new).exit_code == 0

    result = run_cli("bom", "diff", old, new)

    assert (result.exit_code, result.stdout) == (0, "no differences\n")


def test_help_documents_examples_and_exit_codes(run_cli: RunCli) -> None:
    group = run_cli("bom", "--help")
    create = run_cli("bom", "create", "--help")

    assert group.exit_code == create.exit_code == 0
    assert "Usage: supplychain bom MODEL [OPTIONS]  |  show BOM  |  diff OLD NEW" in group.stdout
    assert "Exit codes: 0 BOM written, 1 the BOM failed strict schema validation" in create.stdout
    assert "--provenance" in create.stdout and "--reproducible" in create.stdout


def test_a_missing_licence_is_not_counted_as_a_serious_security_finding(
    run_cli: RunCli, tmp_path: Path
) -> None:
    model = tmp_path / "m"
    model.mkdir()
    save_file({"w": np.zeros(2, dtype=np.float32)}, str(model / "model.safetensors"))
    result = run_cli("bom", model, "-o", tmp_path / "bom.json")
    assert result.exit_code == 0, result
    assert "0 high or critical" in result.stderr
    assert "1 licence finding(s)" in result.stderr
