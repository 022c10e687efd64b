"""Per-file facts: format by content, role in the repository, tensor statistics, cache blobs."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass

from supplychain.bom.model import FileRole, ModelFileFacts, WeightStats
from supplychain.errors import ModelTreeError
from supplychain.formats.safetensors import SafetensorsError, read_header
from supplychain.formats.sniff import Format, extension_mismatch, sniff
from supplychain.model.hfcache import BlobCheck
from supplychain.model.tree import SINGLE_FILE_NAME, ModelFile

WEIGHT_EXTENSIONS = frozenset(
    {
        ".safetensors",
        ".bin",
        ".pt",
        ".pth",
        ".ckpt",
        ".pkl",
        ".pickle",
        ".joblib",
        ".npy",
        ".npz",
        ".gguf",
        ".onnx",
        ".h5",
        ".hdf5",
        ".keras",
        ".tflite",
        ".msgpack",
        ".ot",
        ".mlmodel",
    }
)
_LICENSE_NAMES = ("license", "licence", "copying", "notice", "use_policy", "acceptable_use")
_TOKENIZER_NAMES = frozenset(
    {
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "added_tokens.json",
        "merges.txt",
        "tokenizer.model",
        "spiece.model",
        "sentencepiece.bpe.model",
        "chat_template.jinja",
        "chat_template.json",
    }
)
_CONFIG_EXTENSIONS = frozenset({".json", ".yaml", ".yml", ".toml", ".cfg", ".ini"})
_DOC_EXTENSIONS = frozenset(
    {".md", ".txt", ".rst", ".pdf", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".html"}
)
_DATA_EXTENSIONS = frozenset({".csv", ".tsv", ".parquet", ".jsonl", ".arrow"})
_CODE_EXTENSIONS = frozenset({".py", ".pyi", ".sh", ".ipynb"})
#: File name prefixes of the modules transformers' trust_remote_code imports.
_REMOTE_CODE_PREFIXES = (
    "modeling_",
    "configuration_",
    "tokenization_",
    "processing_",
    "image_processing_",
    "feature_extraction_",
    "modular_",
)
#: Training state pickled beside the weights; configuration, not weights.
_TRAINING_STATE = frozenset({"training_args.bin"})


@dataclass(frozen=True)
class FileReading:
    facts: ModelFileFacts
    #: (rule id, message) for a problem found while reading (a corrupt header).
    problem: tuple[str, str] | None = None


def read_file_facts(
    file: ModelFile,
    sha256: str,
    auto_map_modules: Iterable[str] = (),
    blob: BlobCheck | None = None,
) -> FileReading:
    """Facts about one walked file whose sha256 the hashing engine already computed.

    ``blob`` is the Hub cache blob check of the file, when the model is a snapshot.
    """
    # A single-file model's OMS resource is named "."; the BOM names the file.
    name = file.path.name if file.name == SINGLE_FILE_NAME else file.name
    try:
        fmt = sniff(file.path)
    except OSError as exc:
        raise ModelTreeError(f"cannot read the file: {exc.strerror}", path=file.path) from None
    role = file_role(name, fmt)
    weights = None
    problem = None
    if fmt is Format.SAFETENSORS:
        try:
            header = read_header(file.path)
        except SafetensorsError as exc:
            problem = ("format.safetensors-invalid", f"{name}: {exc.problem}")
        else:
            weights = WeightStats(
                header.parameter_count, len(header.tensors), tuple(header.dtype_counts.items())
            )
    facts = ModelFileFacts(
        name=name,
        size=file.size,
        sha256=sha256,
        format=fmt,
        role=role,
        extension_mismatch=extension_mismatch(name, fmt),
        weights=weights,
        remote_code=role is FileRole.CODE and is_remote_code(name, auto_map_modules),
        hf_blob=blob.blob if blob else None,
        blob_verified=blob.ok if blob else None,
    )
    return FileReading(facts, problem)


def file_role(name: str, fmt: Format) -> FileRole:
    """What the file is for, from its name and (for weights) its content."""
    base = name.rsplit("/", 1)[-1].lower()
    ext = os.path.splitext(base)[1]
    if base.startswith(_LICENSE_NAMES):
        return FileRole.LICENSE
    if ext in _CODE_EXTENSIONS:
        return FileRole.CODE
    if base in _TRAINING_STATE:
        return FileRole.CONFIG
    if base in _TOKENIZER_NAMES or re.match(r"^vocab[._]", base):
        return FileRole.TOKENIZER
    if fmt.is_weights or ext in WEIGHT_EXTENSIONS:
        return FileRole.WEIGHTS
    if ext in _CONFIG_EXTENSIONS:
        return FileRole.CONFIG
    if ext in _DOC_EXTENSIONS or base.startswith("readme"):
        return FileRole.DOCUMENTATION
    if ext in _DATA_EXTENSIONS:
        return FileRole.DATA
    return FileRole.OTHER


def is_remote_code(name: str, auto_map_modules: Iterable[str]) -> bool:
    """Python that trust_remote_code would run: named by auto_map, or a transformers module name."""
    if not name.endswith(".py"):
        return False
    module = name[:-3].replace("/", ".")
    if module in set(auto_map_modules):
        return True
    return module.rsplit(".", 1)[-1].startswith(_REMOTE_CODE_PREFIXES)
