"""Hugging Face cache snapshots and git clones: identity, blob checks, lineage from cached cards."""

from __future__ import annotations

from pathlib import Path

import pytest

from supplychain.bom import build_bom
from supplychain.bom.hub import locate
from supplychain.errors import InputError
from tests.bom.repos import CARD, bom_document, hf_cache_repo, hf_repo, props, repo_files

REVISION = "a" * 40
LLAMA_CARD = b"---\nlicense: llama3\nextra_gated_prompt: Meta terms\n---\n# Meta Llama 3\n"
TICKETS_CARD = b"---\nlicense: cc-by-nc-4.0\n---\n# support tickets\n"


@pytest.fixture
def hub(tmp_path: Path) -> Path:
    files = repo_files(hf_repo(tmp_path / "src"))
    hub = tmp_path / "hub"
    hf_cache_repo(
        hub,
        "acme/acme-chat",
        files,
        revision=REVISION,
        lfs=("model.safetensors", "pytorch_model.bin"),
    )
    return hub


def snapshot(hub: Path) -> Path:
    return hub / "models--acme--acme-chat" / "snapshots" / REVISION


def test_snapshot_identity_is_repo_and_revision(hub: Path) -> None:
    model = bom_document(snapshot(hub))["metadata"]["component"]

    assert (model["group"], model["name"], model["version"]) == ("acme", "acme-chat", REVISION)
    assert model["purl"] == f"pkg:huggingface/acme/acme-chat@{REVISION}"
    assert {"type": "website", "url": "https://huggingface.co/acme/acme-chat"} in model[
        "externalReferences"
    ]
    [card_ref] = [r for r in model["externalReferences"] if r["type"] == "model-card"]
    assert card_ref["url"] == f"https://huggingface.co/acme/acme-chat/blob/{REVISION}/README.md"
    assert props(model, "supplychain:identity:source") == ["hf-cache"]
    assert props(model, "supplychain:oms:allow-symlinks") == ["true"]


def test_the_cache_repo_directory_resolves_refs_main(hub: Path) -> None:
    location = locate(hub / "models--acme--acme-chat")
    assert location.root == snapshot(hub)
    assert location.revision == REVISION
    assert location.snapshot is not None
    assert location.snapshot.repo_dir == hub / "models--acme--acme-chat"


def test_a_refs_main_that_is_a_path_is_refused(hub: Path) -> None:
    (hub / "models--acme--acme-chat" / "refs" / "main").write_text("../../../../etc")
    with pytest.raises(InputError, match="is not a revision name"):
        locate(hub / "models--acme--acme-chat")


def test_every_cached_file_matches_its_blob_name(hub: Path) -> None:
    bom = build_bom(snapshot(hub))

    assert {f.name: f.blob_verified for f in bom.files} == {f.name: True for f in bom.files}
    lfs = next(f for f in bom.files if f.name == "model.safetensors")
    assert lfs.hf_blob == lfs.sha256  # LFS blobs are named by their sha256
    small = next(f for f in bom.files if f.name == "config.json")
    assert small.hf_blob is not None and len(small.hf_blob) == 40  # git blob sha1
    assert not [f for f in bom.findings if f.rule_id.startswith("integrity.")]


@pytest.mark.parametrize("name", ["model.safetensors", "config.json"])
def test_a_modified_blob_is_a_critical_finding(hub: Path, name: str) -> None:
    target = (snapshot(hub) / name).resolve()
    data = bytearray(target.read_bytes())
    data[-2] ^= 0x01
    target.write_bytes(bytes(data))

    bom = build_bom(snapshot(hub))

    [finding] = [f for f in bom.findings if f.rule_id == "integrity.hf-blob-mismatch"]
    assert (finding.file, finding.severity.value) == (name, "critical")
    assert next(f for f in bom.files if f.name == name).blob_verified is False


def test_a_link_out_of_the_cache_repo_is_refused(hub: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.bin"
    outside.write_bytes(b"x")
    (snapshot(hub) / "evil.bin").symlink_to(outside)

    with pytest.raises(InputError, match="points outside"):
        build_bom(snapshot(hub))


def test_cached_cards_give_ancestor_and_dataset_licences(hub: Path) -> None:
    hf_cache_repo(hub, "meta-llama/Meta-Llama-3-8B", {"README.md": LLAMA_CARD}, revision="b" * 40)
    hf_cache_repo(
        hub, "acme/support-tickets", {"README.md": TICKETS_CARD}, revision="c" * 40, kind="datasets"
    )

    bom = build_bom(snapshot(hub))

    [ancestor] = bom.ancestors
    assert [lic.key for lic in ancestor.licenses] == ["llama3"]
    assert ancestor.licenses[0].declared.source == "its card in the local Hugging Face cache"
    assert not ancestor.licenses[0].declared.inferred
    tickets = next(d for d in bom.datasets if d.name == "acme/support-tickets")
    assert [lic.spdx for lic in tickets.licenses] == ["CC-BY-NC-4.0"]


def test_lineage_recurses_through_cached_cards(hub: Path, tmp_path: Path) -> None:
    hf_cache_repo(
        hub,
        "meta-llama/Meta-Llama-3-8B",
        {
            "README.md": b"---\nlicense: llama3\nbase_model: meta-llama/Llama-Base\n"
            b"base_model_relation: finetune\n---\n"
        },
        revision="b" * 40,
    )
    hf_cache_repo(
        hub,
        "meta-llama/Llama-Base",
        {"README.md": b"---\nlicense: llama3\n---\n"},
        revision="d" * 40,
    )
    model = bom_document(snapshot(hub))["metadata"]["component"]

    [parent] = model["pedigree"]["ancestors"]
    [grandparent] = parent["pedigree"]["ancestors"]
    assert grandparent["name"] == "Llama-Base"
    assert props(grandparent, "supplychain:lineage:relation") == ["finetune"]
    assert props(grandparent, "supplychain:lineage:source") == [
        "base_model in the cached card of meta-llama/Meta-Llama-3-8B"
    ]


def test_other_cache_given_with_hf_cache_is_used_for_a_plain_directory(tmp_path: Path) -> None:
    hub = tmp_path / "hub"
    hf_cache_repo(hub, "meta-llama/Meta-Llama-3-8B", {"README.md": LLAMA_CARD})
    repo = hf_repo(tmp_path / "m", card=CARD.replace("license: other", "license: apache-2.0"))

    bom = build_bom(repo, hf_cache=hub)

    assert (
        bom.ancestors[0].licenses[0].declared.source == "its card in the local Hugging Face cache"
    )
    assert [f.rule for f in bom.license_findings if f.rule == "license.relaxes-ancestor"] == [
        "license.relaxes-ancestor"
    ]


def test_git_clone_identity_without_running_git(tmp_path: Path) -> None:
    repo = hf_repo(tmp_path / "clone")
    git = repo / ".git"
    (git / "refs" / "heads").mkdir(parents=True)
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    (git / "refs" / "heads" / "main").write_text("e" * 40 + "\n")
    (git / "config").write_text(
        '[core]\n\tbare = false\n[remote "origin"]\n'
        "\turl = https://user:hf_secret@huggingface.co/acme/acme-chat\n"
    )

    document = bom_document(repo)
    model = document["metadata"]["component"]

    assert (model["group"], model["name"], model["version"]) == ("acme", "acme-chat", "e" * 40)
    assert {"type": "vcs", "url": "https://huggingface.co/acme/acme-chat"} in model[
        "externalReferences"
    ]
    assert "hf_secret" not in str(document)
    assert ".git/HEAD" not in [c["name"] for c in model["components"]]
