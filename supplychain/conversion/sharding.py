"""Output names and sharded checkpoints (``pytorch_model-0000x-of-0000y.bin`` + index).

Names follow the Hugging Face convention: ``pytorch_model*.bin`` becomes
``model*.safetensors``, any other ``x.bin``/``.pt``/``.pth``/``.ckpt`` becomes
``x.safetensors``, and ``X.bin.index.json`` becomes ``Y.safetensors.index.json``
with a ``weight_map`` naming only the tensors really written and a
``total_size`` recomputed from the shards' data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from supplychain._internal import safeopen
from supplychain.conversion.errors import CheckpointFormatError
from supplychain.model.tree import ModelTree

WEIGHT_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".npy", ".npz", ".pkl", ".pickle")
INDEX_SUFFIX = ".index.json"
HF_PICKLE_STEM = "pytorch_model"
HF_SAFETENSORS_STEM = "model"


def output_name(name: str) -> str:
    """The safetensors name for a checkpoint's (POSIX, relative) name."""
    directory, _, base = name.rpartition("/")
    stem = base
    for suffix in WEIGHT_SUFFIXES:
        if base.lower().endswith(suffix) and len(base) > len(suffix):
            stem = base[: -len(suffix)]
            break
    if stem.startswith(HF_PICKLE_STEM):
        stem = HF_SAFETENSORS_STEM + stem[len(HF_PICKLE_STEM) :]
    converted = stem + ".safetensors"
    return f"{directory}/{converted}" if directory else converted


@dataclass(frozen=True)
class ShardSet:
    """A sharded checkpoint: its index and the shards the index names."""

    index_name: str
    output_index: str
    #: Source shard names (relative to the model root), sorted.
    shards: tuple[str, ...]
    #: Tensor name -> source shard, as the index declares.
    declared: dict[str, str]
    #: The index's metadata other than total_size (kept as is).
    metadata: dict[str, Any]


def find_shard_sets(tree: ModelTree, read_text: Any) -> list[ShardSet]:
    """Index files of pickle shards in ``tree``; ``read_text(file)`` returns a file's text."""
    names = {f.name for f in tree.files}
    sets = []
    for file in tree.files:
        if not file.name.endswith(INDEX_SUFFIX):
            continue
        base = file.name[: -len(INDEX_SUFFIX)]
        if base.endswith(".safetensors"):
            continue
        document = safeopen.parse_json(
            read_text(file), path=file.path, what="shard index", error=CheckpointFormatError
        )
        weight_map = document.get("weight_map") if isinstance(document, dict) else None
        if not isinstance(weight_map, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in weight_map.items()
        ):
            raise CheckpointFormatError(
                "the shard index has no weight_map of names to files", path=file.path
            )
        folder = str(PurePosixPath(file.name).parent)
        declared = {
            tensor: (shard if folder == "." else f"{folder}/{shard}")
            for tensor, shard in weight_map.items()
        }
        missing = sorted(set(declared.values()) - names)
        if missing:
            raise CheckpointFormatError(
                f"the shard index names {missing[0]}, which is not in the model",
                path=file.path,
                hint="the model is incomplete",
            )
        metadata = document.get("metadata") or {}
        if not isinstance(metadata, dict):
            metadata = {}
        metadata = {k: v for k, v in metadata.items() if k != "total_size"}
        sets.append(
            ShardSet(
                file.name,
                output_name(base) + INDEX_SUFFIX,
                tuple(sorted(set(declared.values()))),
                declared,
                metadata,
            )
        )
    return sets


def index_document(
    shard_set: ShardSet, written: dict[str, list[str]], total_size: int, aliases: dict[str, str]
) -> bytes:
    """The safetensors index: ``written`` maps output shard name -> tensor names in it."""
    folder = str(PurePosixPath(shard_set.output_index).parent)
    weight_map: dict[str, str] = {}
    for shard, tensors in written.items():
        relative = shard if folder == "." else str(PurePosixPath(shard).relative_to(folder))
        for tensor in tensors:
            weight_map[tensor] = relative
    metadata = {**shard_set.metadata, **aliases, "total_size": total_size}
    document = {"metadata": metadata, "weight_map": dict(sorted(weight_map.items()))}
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
