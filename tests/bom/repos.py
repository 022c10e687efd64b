"""Model directories that look like real Hugging Face repositories, built in tmp_path."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import save_file

#: A card with the shapes real repositories use: `license: other` + name/link, base_model +
#: relation, datasets, model-index, co2 in grams, template sections with placeholders.
CARD = """---
license: other
license_name: acme-model-license
license_link: https://acme.example/model-license
base_model: meta-llama/Meta-Llama-3-8B
base_model_relation: finetune
datasets:
- acme/support-tickets
language:
- en
- fr
pipeline_tag: text-generation
library_name: transformers
tags:
- acme
- chat
model-index:
- name: acme-chat
  results:
  - task:
      type: text-generation
    dataset:
      type: cais/mmlu
      name: MMLU
      config: all
      split: test
    metrics:
    - type: accuracy
      value: 0.612
      verified: false
co2_eq_emissions:
  emissions: 125000
  source: CodeCarbon
  training_type: fine-tuning
  geographical_location: eu-west-1
  hardware_used: 8 x A100
---

# acme-chat

<!-- Provide a quick summary of what the model is/does. -->

acme-chat answers customer-support questions in English and French.

## Uses

### Direct Use

Answering customer support questions about Acme products.

### Out-of-Scope Use

[More Information Needed]

## Bias, Risks, and Limitations

- The model invents product names when it does not know them.
- It was not evaluated on legal or medical questions.

## Environmental Impact

[More Information Needed]
"""

CONFIG: dict[str, Any] = {
    "architectures": ["AcmeForCausalLM"],
    "model_type": "acme",
    "auto_map": {"AutoModelForCausalLM": "modeling_acme.AcmeForCausalLM"},
    "hidden_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 2048,
    "vocab_size": 128,
    "torch_dtype": "bfloat16",
}

TOKENIZER_CONFIG: dict[str, Any] = {
    "tokenizer_class": "PreTrainedTokenizerFast",
    "chat_template": "{% for m in messages %}{{ m['content'] }}{% endfor %}",
}

MODELING = '''"""Custom modelling code, loaded with trust_remote_code=True."""
import torch


class AcmeForCausalLM(torch.nn.Module):
    pass
'''


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def weights() -> dict[str, np.ndarray]:
    """Two shards' worth of tensors: 64*128 + 64*64 BF16-sized and F32 tensors."""
    rng = np.random.default_rng(6)
    return {
        "embed.weight": rng.standard_normal((128, 64)).astype(np.float16),
        "layers.0.weight": rng.standard_normal((64, 64)).astype(np.float32),
        "layers.0.bias": np.zeros(64, dtype=np.float32),
    }


def hf_repo(
    root: Path,
    *,
    card: str | None = CARD,
    config: dict[str, Any] | None = CONFIG,
    pickle_weights: bool = True,
    remote_code: bool = True,
    extra: dict[str, bytes] | None = None,
) -> Path:
    """Write a repository: card, config, tokenizer, safetensors (+ pickle) weights, code."""
    root.mkdir(parents=True, exist_ok=True)
    if card is not None:
        (root / "README.md").write_text(card, encoding="utf-8")
    if config is not None:
        (root / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    (root / "tokenizer_config.json").write_text(json.dumps(TOKENIZER_CONFIG), encoding="utf-8")
    tensors = weights()
    save_file(tensors, str(root / "model.safetensors"), metadata={"format": "pt"})
    if pickle_weights:
        # A protocol-2 pickle like torch's legacy .bin files; never loaded by anyone here.
        (root / "pytorch_model.bin").write_bytes(pickle.dumps({"step": 3}, protocol=2))
    if remote_code:
        (root / "modeling_acme.py").write_text(MODELING, encoding="utf-8")
    for name, data in (extra or {}).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def hf_cache_repo(
    hub: Path,
    repo_id: str,
    files: dict[str, bytes],
    *,
    revision: str = "0123456789abcdef0123456789abcdef01234567",
    kind: str = "models",
    lfs: tuple[str, ...] = (),
) -> Path:
    """A Hub cache entry as huggingface_hub lays it out; returns the snapshot directory.

    Files named in ``lfs`` get blobs named by their sha256, the others by their
    git blob sha1, exactly as the Hub cache does.
    """
    repo = hub / f"{kind}--{repo_id.replace('/', '--')}"
    blobs = repo / "blobs"
    snapshot = repo / "snapshots" / revision
    blobs.mkdir(parents=True, exist_ok=True)
    snapshot.mkdir(parents=True, exist_ok=True)
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(revision)
    for name, data in files.items():
        blob_id = hashlib.sha256(data).hexdigest() if name in lfs else git_blob_sha1(data)
        (blobs / blob_id).write_bytes(data)
        link = snapshot / name
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(os.path.relpath(blobs / blob_id, link.parent), link)
    return snapshot


def repo_files(root: Path) -> dict[str, bytes]:
    """Every file of a repository directory, by relative name."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def bom_document(model: Path, spec_version: str = "1.6", **options: Any) -> dict[str, Any]:
    """Build, render (validated) and parse the BOM of ``model``."""
    from supplychain.bom import build_bom, render_cyclonedx

    data = render_cyclonedx(build_bom(model, **options), spec_version, reproducible=True)
    document: dict[str, Any] = json.loads(data)
    return document


def props(node: dict[str, Any], name: str) -> list[str]:
    """Values of every property ``name`` of a CycloneDX node."""
    return [p["value"] for p in node.get("properties", []) if p["name"] == name]


def library_strict_errors(document: dict[str, Any]) -> object:
    """cyclonedx-python-lib's own strict validator, as an independent check of ours."""
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    version = SchemaVersion.from_version(document["specVersion"])
    return JsonStrictValidator(version).validate_str(json.dumps(document))
