"""The provenance file: schema validation, training formulation, datasets, conversions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from supplychain._internal.schemas import load_schema
from supplychain.bom import ProvenanceError, build_bom, load_provenance
from supplychain.bom.model import ConversionStatus
from supplychain.licenses import OpennessClass
from tests.bom.repos import bom_document, hf_repo, library_strict_errors, props, sha256

SOURCE_SHA = "1" * 64

PROVENANCE = """\
provenance_version: 1
base_models:
  - repo_id: meta-llama/Meta-Llama-3-8B
    revision: 62bd457b6fe961a42a631306577e622c83876cb6
    license: llama3
datasets:
  - name: acme/support-tickets
    version: "2024.05"
    license: cc-by-nc-4.0
    roles: [fine-tuning]
    collection: {start: 2023-01-01, end: 2024-04-30}
    hashes: [{alg: SHA-256, value: "%(ds)s"}]
    classification: confidential
    sensitive_data: [customer names]
    governance: {owners: [Acme Support], custodians: [Acme Data Platform]}
    description: Anonymised support tickets.
  - name: internal-chat-logs
    url: s3://acme-data/chat-logs/2024
    license: {name: Acme internal data licence, url: "https://acme.example/data"}
    roles: [training]
training:
  code: {repository: "https://github.com/acme/trainer", commit: "%(commit)s", license: apache-2.0}
  started: 2024-05-01
  ended: 2024-05-03T18:00:00Z
  method: lora
  approach: supervised
  hyperparameters: {learning_rate: 0.0002, epochs: 3, lora_r: 16, bf16: true, scheduler: cosine}
  hardware: 8 x A100 80GB
  energy:
    - activity: fine-tuning
      kwh: 412.5
      provider: Acme Cloud
      source: hydropower
      co2_tco2eq: 0.01
conversions:
  - source: {name: pytorch_model.bin, sha256: "%(src)s"}
    output: {name: model.safetensors, sha256: "%(out)s"}
    tool: {name: supplychain, version: 0.1.0}
    timestamp: 2024-05-04T10:00:00Z
    command: supplychain convert pytorch_model.bin
"""


def write_provenance(path: Path, model: Path, **overrides: str) -> Path:
    values = {
        "ds": "2" * 64,
        "commit": "3" * 40,
        "src": SOURCE_SHA,
        "out": sha256(model / "model.safetensors"),
        **overrides,
    }
    path.write_text(PROVENANCE % values, encoding="utf-8")
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return hf_repo(tmp_path / "acme-chat", pickle_weights=False)


def test_yaml_and_json_forms_parse_the_same(repo: Path, tmp_path: Path) -> None:
    from supplychain._internal.yamlsafe import load_yaml

    yaml_file = write_provenance(tmp_path / "p.yaml", repo)
    json_file = tmp_path / "p.json"
    json_file.write_text(json.dumps(load_yaml(yaml_file.read_text())))

    from_yaml, from_json = load_provenance(yaml_file), load_provenance(json_file)

    assert from_yaml.datasets == from_json.datasets
    assert from_yaml.training == from_json.training
    # Dates stay the strings that were written (YAML would make them dates).
    assert from_yaml.datasets[0].collected_from == "2023-01-01"
    assert from_yaml.datasets[0].version == "2024.05"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("provenance_version: 2\n", "/provenance_version: 1 was expected"),
        (
            "provenance_version: 1\ntrainng: {}\n",
            "Additional properties are not allowed ('trainng'",
        ),
        (
            "provenance_version: 1\nconversions:\n  - source: {name: a, sha256: xyz}\n"
            "    output: {name: b, sha256: xyz}\n    tool: {name: t, version: '1'}\n",
            "/conversions/0/output/sha256: 'xyz' does not match",
        ),
        (
            "provenance_version: 1\ndatasets:\n  - name: d\n    roles: [pretraining]\n",
            "/datasets/0/roles/0: 'pretraining' is not one of",
        ),
        (
            "provenance_version: 1\nconversions:\n"
            f"  - source: {{name: ../x, sha256: '{'a' * 64}'}}\n"
            f"    output: {{name: b, sha256: '{'b' * 64}'}}\n    tool: {{name: t, version: '1'}}\n",
            "conversions: source unsafe resource name '../x'",
        ),
        ("[1, 2", "not valid YAML"),
        # An unquoted YAML version is a float (1.10 would become 1.1): refused, not mangled.
        (
            "provenance_version: 1\nmodel: {version: 1.10}\n",
            "/model/version: 1.1 is not of type 'string'",
        ),
    ],
)
def test_invalid_files_are_refused_with_the_field(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(text)

    with pytest.raises(ProvenanceError) as caught:
        load_provenance(path)

    assert problem in caught.value.problem
    assert caught.value.path == path


def test_schema_is_a_valid_json_schema() -> None:
    from jsonschema import Draft202012Validator

    Draft202012Validator.check_schema(load_schema("provenance.schema.json"))


@pytest.mark.parametrize("spec_version", ["1.6", "1.7"])
def test_training_becomes_formulation_with_hyperparameters(
    repo: Path, tmp_path: Path, spec_version: str
) -> None:
    document = bom_document(
        repo, spec_version, provenance=write_provenance(tmp_path / "p.yaml", repo)
    )
    assert library_strict_errors(document) is None

    [formula] = document["formulation"]
    [code] = [c for c in formula["components"] if c["bom-ref"] == "training-code"]
    assert code["version"] == "3" * 40
    assert code["externalReferences"][0]["url"] == "https://github.com/acme/trainer"
    assert code["licenses"][0]["license"]["id"] == "Apache-2.0"
    training = next(w for w in formula["workflows"] if w["uid"] == "training")
    assert training["timeStart"] == "2024-05-01T00:00:00Z"
    assert training["timeEnd"] == "2024-05-03T18:00:00Z"
    assert training["resourceReferences"] == [{"ref": "training-code"}]
    inputs = training["inputs"]
    assert {"resource": {"ref": "dataset:acme/support-tickets"}} in inputs
    assert {"resource": {"ref": "dataset:internal-chat-logs"}} in inputs
    assert {"resource": {"ref": "ancestor:meta-llama/Meta-Llama-3-8B"}} in inputs
    [parameters] = [i["parameters"] for i in inputs if "parameters" in i]
    assert parameters == [
        {"name": "learning_rate", "value": "0.0002", "dataType": "number"},
        {"name": "epochs", "value": "3", "dataType": "integer"},
        {"name": "lora_r", "value": "16", "dataType": "integer"},
        {"name": "bf16", "value": "true", "dataType": "boolean"},
        {"name": "scheduler", "value": "cosine", "dataType": "string"},
    ]
    assert training["outputs"] == [{"type": "artifact", "resource": {"ref": "model"}}]
    model = document["metadata"]["component"]
    assert props(model, "cdx:ai-ml:model:parameter:tune_method") == ["lora"]
    assert model["modelCard"]["modelParameters"]["approach"] == {"type": "supervised"}
    [energy] = model["modelCard"]["considerations"]["environmentalConsiderations"][
        "energyConsumptions"
    ]
    assert energy["activityEnergyCost"] == {"value": 412.5, "unit": "kWh"}
    assert energy["energyProviders"][0]["energySource"] == "hydropower"
    assert energy["co2CostEquivalent"] == {"value": 0.01, "unit": "tCO2eq"}
    assert props(document["metadata"], "supplychain:provenance:sha256") == [
        sha256(tmp_path / "p.yaml")
    ]


def test_declared_datasets_carry_licence_hashes_dates_and_governance(
    repo: Path, tmp_path: Path
) -> None:
    document = bom_document(repo, provenance=write_provenance(tmp_path / "p.yaml", repo))
    data = {c["name"]: c for c in document["components"] if c["type"] == "data"}

    tickets = data["acme/support-tickets"]
    assert tickets["version"] == "2024.05"
    assert tickets["hashes"] == [{"alg": "SHA-256", "content": "2" * 64}]
    assert tickets["licenses"][0]["license"]["id"] == "CC-BY-NC-4.0"
    assert tickets["data"][0]["classification"] == "confidential"
    assert tickets["data"][0]["sensitiveData"] == ["customer names"]
    assert tickets["data"][0]["governance"] == {
        "owners": [{"organization": {"name": "Acme Support"}}],
        "custodians": [{"organization": {"name": "Acme Data Platform"}}],
    }
    assert props(tickets, "supplychain:dataset:role") == ["training", "fine-tuning"]
    assert props(tickets, "supplychain:dataset:source") == [
        "README.md front matter",
        "provenance file",
    ]
    assert props(tickets, "supplychain:dataset:collected-from") == ["2023-01-01"]
    assert props(tickets, "supplychain:dataset:collected-to") == ["2024-04-30"]
    logs = data["internal-chat-logs"]
    assert logs["licenses"][0]["license"]["name"] == "Acme internal data licence"
    assert logs["externalReferences"] == [
        {"type": "distribution", "url": "s3://acme-data/chat-logs/2024"}
    ]


def test_noncommercial_training_data_under_a_commercial_model_is_a_conflict(
    repo: Path, tmp_path: Path
) -> None:
    (repo / "README.md").write_text(
        "---\nlicense: apache-2.0\nbase_model: meta-llama/Meta-Llama-3-8B\n"
        "datasets: [acme/support-tickets]\n---\n# m\n"
    )
    bom = build_bom(repo, provenance=write_provenance(tmp_path / "p.yaml", repo))

    rules = {(f.rule, f.subject, f.severity.value) for f in bom.license_findings}
    assert ("license.noncommercial-data", "acme/support-tickets", "high") in rules
    assert ("license.relaxes-ancestor", "meta-llama/Meta-Llama-3-8B", "high") in rules
    # Declared in the provenance file, the base licence is no longer an inference.
    assert bom.ancestors[0].revision == "62bd457b6fe961a42a631306577e622c83876cb6"
    assert bom.ancestors[0].licenses[0].declared.source == "provenance file"


def test_open_source_ai_needs_osi_weights_data_information_and_training_code(
    repo: Path, tmp_path: Path
) -> None:
    (repo / "README.md").write_text("---\nlicense: apache-2.0\n---\n# m\n")
    provenance = tmp_path / "p.yaml"
    provenance.write_text(
        "provenance_version: 1\n"
        "datasets:\n  - {name: acme/open-corpus, url: 'https://huggingface.co/datasets/acme/open-corpus',"
        " license: cc-by-4.0, roles: [training]}\n"
        f"training:\n  code: {{repository: 'https://github.com/acme/trainer', commit: '{'4' * 40}',"
        " license: mit}\n"
    )
    bom = build_bom(repo, provenance=provenance)

    assert bom.openness.openness is OpennessClass.OPEN_SOURCE_AI
    assert bom.openness.evidence == (
        "weights under OSI-approved Apache-2.0",
        "training data described: acme/open-corpus",
        f"training code https://github.com/acme/trainer@{'4' * 40} under OSI-approved terms",
    )


def test_conversion_record_is_pedigree_and_a_formulation_step(repo: Path, tmp_path: Path) -> None:
    document = bom_document(repo, provenance=write_provenance(tmp_path / "p.yaml", repo))
    model = document["metadata"]["component"]

    output = next(c for c in model["components"] if c["name"] == "model.safetensors")
    assert output["pedigree"]["ancestors"] == [
        {
            "type": "file",
            "name": "pytorch_model.bin",
            "hashes": [{"alg": "SHA-256", "content": SOURCE_SHA}],
        }
    ]
    assert output["pedigree"]["notes"] == "converted from pytorch_model.bin by supplychain 0.1.0"
    [formula] = document["formulation"]
    conversion = next(w for w in formula["workflows"] if w["uid"] == "conversion-1")
    assert conversion["inputs"] == [{"resource": {"ref": "conversion-source:1"}}]
    assert conversion["outputs"] == [
        {"type": "artifact", "resource": {"ref": "file:model.safetensors"}}
    ]
    assert conversion["steps"] == [
        {"name": "convert", "commands": [{"executed": "supplychain convert pytorch_model.bin"}]}
    ]
    assert props(conversion, "supplychain:conversion:status") == ["match"]
    tool = next(
        c
        for c in formula["components"]
        if c["bom-ref"] == conversion["resourceReferences"][0]["ref"]
    )
    assert (tool["name"], tool["version"]) == ("supplychain", "0.1.0")
    assert not [v for v in document.get("vulnerabilities", []) if v["id"].startswith("provenance.")]


def test_a_converted_file_changed_afterwards_is_a_finding(repo: Path, tmp_path: Path) -> None:
    provenance = write_provenance(tmp_path / "p.yaml", repo, out="9" * 64)
    bom = build_bom(repo, provenance=provenance)

    assert [c.status for c in bom.conversions] == [ConversionStatus.MISMATCH]
    [finding] = [f for f in bom.findings if f.rule_id == "provenance.conversion-output-mismatch"]
    assert (finding.file, finding.severity.value) == ("model.safetensors", "high")


def test_a_conversion_whose_output_is_gone_is_recorded_without_outputs(
    repo: Path, tmp_path: Path
) -> None:
    provenance = write_provenance(tmp_path / "p.yaml", repo)
    (repo / "model.safetensors").rename(repo / "renamed.safetensors")

    document = bom_document(repo, provenance=provenance)

    conversion = document["formulation"][0]["workflows"][-1]
    assert "outputs" not in conversion
    assert props(conversion, "supplychain:conversion:status") == ["missing"]
    assert [v["id"] for v in document["vulnerabilities"]] == [
        "code.remote-code",
        "provenance.conversion-output-missing",
    ]


def test_card_and_provenance_licences_that_disagree_are_flagged(repo: Path, tmp_path: Path) -> None:
    (repo / "README.md").write_text("---\nlicense: mit\n---\n# m\n")
    provenance = tmp_path / "p.yaml"
    provenance.write_text("provenance_version: 1\nmodel: {licenses: [apache-2.0]}\n")

    bom = build_bom(repo, provenance=provenance)

    assert [lic.spdx for lic in bom.licenses] == ["MIT"]
    assert [f.rule for f in bom.license_findings] == ["license.card-provenance-mismatch"]


def test_provenance_names_a_model_that_has_no_other_identity(repo: Path, tmp_path: Path) -> None:
    provenance = tmp_path / "p.yaml"
    provenance.write_text("provenance_version: 1\nmodel: {name: acme/acme-chat, version: v1.2.0}\n")

    model = bom_document(repo, provenance=provenance)["metadata"]["component"]

    assert model["purl"] == "pkg:huggingface/acme/acme-chat@v1.2.0"
    assert props(model, "supplychain:identity:source") == ["provenance"]


def test_convert_record_feeds_bom_lineage(tmp_path: Path, run_cli: Any) -> None:
    """The record `supplychain convert --record` writes is what `bom --conversion-record` reads."""
    import json
    import shutil

    checkpoint = Path(__file__).resolve().parents[2] / "supplychain" / "demo" / "checkpoint"
    model = tmp_path / "m"
    model.mkdir()
    (model / "README.md").write_text("---\nlicense: mit\n---\n# m\n")
    shutil.copyfile(checkpoint / "pytorch_model.bin", model / "pytorch_model.bin")
    record = tmp_path / "conversion.json"
    assert run_cli("convert", model, "--record", record).exit_code == 0
    (model / "pytorch_model.bin").unlink()
    out = tmp_path / "bom.cdx.json"
    result = run_cli("bom", model, "--conversion-record", record, "-o", out)
    assert result.exit_code == 0, result
    document = json.loads(out.read_text())
    workflows = [w["name"] for f in document["formulation"] for w in f["workflows"]]
    assert workflows == ["convert pytorch_model.bin to model.safetensors"]
    recorded = json.loads(record.read_text())["conversions"][0]
    model_component = document["metadata"]["component"]
    text = json.dumps(model_component)
    assert recorded["source"]["sha256"] in json.dumps(document)
    assert "model.safetensors" in text

    (tmp_path / "not-a-record.json").write_text('{"conversions": []}')
    bad = run_cli("bom", model, "--conversion-record", tmp_path / "not-a-record.json", "-o", out)
    assert bad.exit_code == 2 and "not a conversion record" in bad.stderr
