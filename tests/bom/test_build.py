"""The BOM of a Hugging Face-like repository: exact components, hashes, licences, lineage, data,
findings and openness, in CycloneDX 1.6 and 1.7."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import pytest

from supplychain.bom import build_bom
from supplychain.formats.sniff import Format
from supplychain.hashing import hash_model
from supplychain.licenses import LicenseClass, OpennessClass
from tests.bom.repos import (
    CARD,
    TOKENIZER_CONFIG,
    bom_document,
    hf_repo,
    library_strict_errors,
    props,
    sha256,
)

EXPECTED_FILES = [
    # name, role, format, can execute code, remote code
    ("README.md", "documentation", "text", False, False),
    ("config.json", "config", "json", False, False),
    ("model.safetensors", "weights", "safetensors", False, False),
    ("modeling_acme.py", "code", "text", False, True),
    ("pytorch_model.bin", "weights", "pickle", True, False),
    ("tokenizer_config.json", "tokenizer", "json", False, False),
]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return hf_repo(tmp_path / "acme-chat")


@pytest.mark.parametrize("spec_version", ["1.6", "1.7"])
def test_every_file_is_a_component_with_its_sha256(repo: Path, spec_version: str) -> None:
    document = bom_document(repo, spec_version)

    assert library_strict_errors(document) is None
    model = document["metadata"]["component"]
    files = model["components"]
    assert [f["name"] for f in files] == [name for name, *_ in EXPECTED_FILES]
    for component, (name, role, fmt, executes, remote) in zip(files, EXPECTED_FILES, strict=True):
        assert component["type"] == "file"
        assert component["bom-ref"] == f"file:{name}"
        assert component["hashes"] == [{"alg": "SHA-256", "content": sha256(repo / name)}]
        assert props(component, "supplychain:file:size") == [str((repo / name).stat().st_size)]
        assert props(component, "supplychain:file:role") == [role]
        assert props(component, "supplychain:file:format") == [fmt]
        assert props(component, "supplychain:file:can-execute-code") == (
            ["true"] if executes else []
        )
        assert props(component, "supplychain:file:remote-code") == (["true"] if remote else [])
    assert props(model, "supplychain:oms:root-digest") == [
        f"sha256:{hash_model(repo).root_digest_hex}"
    ]


def test_parameters_and_dtype_mix_come_from_safetensors_headers(repo: Path) -> None:
    model = bom_document(repo)["metadata"]["component"]

    # embed 128x64 F16, layers.0.weight 64x64 F32, layers.0.bias 64 F32
    assert props(model, "cdx:ai-ml:model:parameter:count") == [str(128 * 64 + 64 * 64 + 64)]
    assert props(model, "supplychain:parameters:dtype:F16") == [str(128 * 64)]
    assert props(model, "supplychain:parameters:dtype:F32") == [str(64 * 64 + 64)]
    weights = model["components"][2]
    assert props(weights, "supplychain:file:tensors") == ["3"]


def test_non_spdx_licence_keeps_name_and_link_and_is_flagged_for_review(repo: Path) -> None:
    document = bom_document(repo)
    model = document["metadata"]["component"]

    [choice] = model["licenses"]
    licence = choice["license"]
    assert "id" not in licence
    assert licence["name"] == "acme-model-license"
    assert licence["url"] == "https://acme.example/model-license"
    assert licence["acknowledgement"] == "declared"
    assert props(licence, "supplychain:license:identifier") == ["LicenseRef-hf-acme-model-license"]
    assert props(licence, "supplychain:license:class") == ["unknown"]
    assert props(licence, "supplychain:license:declared-as") == ["other"]
    assert props(model, "supplychain:openness:class") == ["undetermined"]
    [finding] = props(model, "supplychain:license:finding:license.unknown-terms")
    assert finding.startswith(
        "medium: licence 'acme-model-license' (https://acme.example/model-license)"
    )


def test_base_model_is_a_pedigree_ancestor_with_its_relation(repo: Path) -> None:
    model = bom_document(repo)["metadata"]["component"]

    [ancestor] = model["pedigree"]["ancestors"]
    assert ancestor["type"] == "machine-learning-model"
    assert (ancestor["group"], ancestor["name"]) == ("meta-llama", "Meta-Llama-3-8B")
    assert ancestor["purl"] == "pkg:huggingface/meta-llama/Meta-Llama-3-8B"
    assert props(ancestor, "supplychain:lineage:relation") == ["finetune"]
    assert model["pedigree"]["notes"] == "fine-tuned from meta-llama/Meta-Llama-3-8B"
    # No card of the base is at hand: its licence is concluded from the well-known name.
    [licence] = ancestor["licenses"]
    assert licence["license"]["name"] == "Meta Llama 3 Community License Agreement"
    assert licence["license"]["acknowledgement"] == "concluded"
    assert props(licence["license"], "supplychain:license:source") == [
        "inferred from its repository name"
    ]


def test_datasets_are_data_components_referenced_by_the_model_card(repo: Path) -> None:
    document = bom_document(repo)
    data = {c["name"]: c for c in document["components"] if c["type"] == "data"}

    assert list(data) == ["acme/support-tickets", "cais/mmlu"]
    tickets = data["acme/support-tickets"]
    assert tickets["data"] == [
        {
            "type": "dataset",
            "name": "acme/support-tickets",
            "contents": {"url": "https://huggingface.co/datasets/acme/support-tickets"},
        }
    ]
    assert props(tickets, "supplychain:dataset:role") == ["training"]
    assert props(tickets, "supplychain:dataset:source") == ["README.md front matter"]
    assert props(data["cais/mmlu"], "supplychain:dataset:role") == ["evaluation"]
    assert props(tickets, "supplychain:license:finding:license.missing") == [
        "low: no licence is declared for dataset acme/support-tickets; "
        "treat it as all rights reserved"
    ]
    card = document["metadata"]["component"]["modelCard"]
    assert card["modelParameters"]["datasets"] == [
        {"ref": "dataset:acme/support-tickets"},
        {"ref": "dataset:cais/mmlu"},
    ]


def test_model_card_keeps_stated_facts_and_drops_placeholders(repo: Path) -> None:
    model = bom_document(repo)["metadata"]["component"]
    card = model["modelCard"]

    assert (
        model["description"]
        == "acme-chat answers customer-support questions in English and French."
    )
    assert card["modelParameters"]["task"] == "text-generation"
    assert card["modelParameters"]["architectureFamily"] == "acme"
    assert card["modelParameters"]["modelArchitecture"] == "AcmeForCausalLM"
    assert card["quantitativeAnalysis"]["performanceMetrics"] == [
        {"type": "accuracy", "value": "0.612", "slice": "MMLU (all, test)"}
    ]
    considerations = card["considerations"]
    assert considerations["useCases"] == [
        "Answering customer support questions about Acme products."
    ]
    assert considerations["technicalLimitations"] == [
        "The model invents product names when it does not know them.",
        "It was not evaluated on legal or medical questions.",
    ]
    # "[More Information Needed]" under Out-of-Scope Use is not a fact.
    assert "properties" not in card
    co2 = considerations["environmentalConsiderations"]["properties"]
    assert {"name": "supplychain:co2:emissions-tco2eq", "value": "0.125"} in co2  # 125000 g
    assert {"name": "supplychain:co2:hardware-used", "value": "8 x A100"} in co2
    assert props(model, "cdx:ai-ml:model:language") == ["en", "fr"]
    assert props(model, "cdx:ai-ml:model:hyperparameter:context_length") == ["2048"]
    assert props(model, "cdx:ai-ml:model:hyperparameter:num_key_value_heads") == ["2"]
    assert props(model, "supplychain:chat-template:sha256") == [
        hashlib.sha256(TOKENIZER_CONFIG["chat_template"].encode()).hexdigest()
    ]
    assert model["tags"] == ["acme", "chat"]


def test_pickle_and_remote_code_are_findings_on_their_files(repo: Path) -> None:
    document = bom_document(repo)

    found = [
        (v["id"], v["ratings"][0]["severity"], v["affects"], v.get("cwes"))
        for v in document["vulnerabilities"]
    ]
    assert found == [
        ("code.remote-code", "medium", [{"ref": "file:modeling_acme.py"}], [829]),
        ("format.code-execution-capable", "medium", [{"ref": "file:pytorch_model.bin"}], [502]),
    ]
    assert props(document["metadata"], "supplychain:scan:performed") == ["false"]


def test_a_pickle_named_safetensors_is_caught_by_content(tmp_path: Path) -> None:
    repo = hf_repo(
        tmp_path / "m",
        pickle_weights=False,
        remote_code=False,
        extra={"extra.safetensors": pickle.dumps([1, 2, 3], protocol=2)},
    )
    bom = build_bom(repo)

    extra = next(f for f in bom.files if f.name == "extra.safetensors")
    assert extra.format is Format.PICKLE
    assert extra.extension_mismatch
    rules = {(f.rule_id, f.file, f.severity.value) for f in bom.findings}
    assert ("format.extension-mismatch", "extra.safetensors", "high") in rules
    assert ("format.code-execution-capable", "extra.safetensors", "medium") in rules


def test_corrupt_safetensors_header_is_a_finding_not_a_crash(tmp_path: Path) -> None:
    repo = hf_repo(tmp_path / "m", pickle_weights=False, remote_code=False)
    data = (repo / "model.safetensors").read_bytes()
    (repo / "model.safetensors").write_bytes(data[:-4])  # tensors run past the end now

    bom = build_bom(repo)

    [finding] = [f for f in bom.findings if f.rule_id == "format.safetensors-invalid"]
    assert finding.file == "model.safetensors"
    assert "data bytes but the file has" in finding.message
    assert bom.parameter_count is None


def test_apache_fine_tune_of_llama_relaxes_its_base_licence(tmp_path: Path) -> None:
    card = CARD.replace(
        "license: other\nlicense_name: acme-model-license\n"
        "license_link: https://acme.example/model-license\n",
        "license: apache-2.0\n",
    )
    bom = build_bom(hf_repo(tmp_path / "m", card=card))

    assert [lic.spdx for lic in bom.licenses] == ["Apache-2.0"]
    [conflict] = [f for f in bom.license_findings if f.rule == "license.relaxes-ancestor"]
    assert conflict.severity.value == "high"
    assert conflict.subject == "meta-llama/Meta-Llama-3-8B"
    assert "declares Apache-2.0 (permissive)" in conflict.message
    # The fine-tune's own Apache-2.0 does not free it from the Llama 3 terms of its base.
    assert bom.openness.openness is OpennessClass.OPEN_WEIGHTS_RESTRICTED
    assert bom.openness.evidence[-1] == (
        "base model meta-llama/Meta-Llama-3-8B is under Meta Llama 3 Community License Agreement "
        "(llama3) (vendor-community); its terms bind derivatives"
    )


@pytest.mark.parametrize(
    ("licence", "expected"),
    [
        ("llama3", OpennessClass.OPEN_WEIGHTS_RESTRICTED),
        ("cc-by-nc-4.0", OpennessClass.RESEARCH_ONLY),
        ("mit", OpennessClass.OPEN_WEIGHTS),
    ],
)
def test_openness_follows_the_declared_licence(
    tmp_path: Path, licence: str, expected: OpennessClass
) -> None:
    card = f"---\nlicense: {licence}\n---\n# m\n"
    bom = build_bom(hf_repo(tmp_path / "m", card=card))
    assert bom.openness.openness is expected


def test_gated_repository_is_classified_gated(tmp_path: Path) -> None:
    card = "---\nlicense: llama3\nextra_gated_prompt: You agree to the Llama 3 terms.\n---\n# m\n"
    bom = build_bom(hf_repo(tmp_path / "m", card=card))

    assert bom.openness.openness is OpennessClass.GATED
    assert any("You agree to the Llama 3 terms." in e for e in bom.openness.evidence)


def test_no_card_means_no_licence_and_a_high_finding(tmp_path: Path) -> None:
    bom = build_bom(hf_repo(tmp_path / "m", card=None))

    assert bom.licenses == ()
    assert [(f.rule, f.severity.value) for f in bom.license_findings] == [
        ("license.missing", "high")
    ]
    assert bom.openness.openness is OpennessClass.UNDETERMINED
    assert bom.card.present is False


def test_model_sig_is_an_attestation_reference_not_a_weight(tmp_path: Path) -> None:
    repo = hf_repo(tmp_path / "m", pickle_weights=False, remote_code=False)
    (repo / "model.sig").write_bytes(b'{"mediaType": "application/vnd.dev.sigstore.bundle"}')
    document = bom_document(repo)
    model = document["metadata"]["component"]

    assert "model.sig" not in [f["name"] for f in model["components"]]
    [attestation] = [r for r in model["externalReferences"] if r["type"] == "attestation"]
    assert attestation["url"] == "model.sig"
    assert attestation["hashes"] == [{"alg": "SHA-256", "content": sha256(repo / "model.sig")}]
    # The root digest is the one OMS signs: the signature itself is not part of the model.
    root = hash_model(repo, signature=repo / "model.sig").root_digest_hex
    assert props(model, "supplychain:oms:root-digest") == [f"sha256:{root}"]
    assert root in attestation["comment"]


def test_a_single_file_is_a_model_named_after_the_file(tmp_path: Path) -> None:
    repo = hf_repo(tmp_path / "m", pickle_weights=False, remote_code=False)
    document = bom_document(repo / "model.safetensors")
    model = document["metadata"]["component"]

    assert model["name"] == "model.safetensors"
    [component] = model["components"]
    assert component["name"] == "model.safetensors"  # not the OMS resource name "."
    assert component["hashes"][0]["content"] == sha256(repo / "model.safetensors")
    root = hash_model(repo / "model.safetensors").root_digest_hex
    assert props(model, "supplychain:oms:root-digest") == [f"sha256:{root}"]


def test_licence_class_of_the_resolved_model_licence(repo: Path) -> None:
    bom = build_bom(repo)
    assert [lic.license_class for lic in bom.licenses] == [LicenseClass.UNKNOWN]
    assert [a.repo_id for a in bom.ancestors] == ["meta-llama/Meta-Llama-3-8B"]
    assert [d.name for d in bom.datasets] == ["acme/support-tickets", "cais/mmlu"]
