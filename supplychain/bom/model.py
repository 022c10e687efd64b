"""The typed facts an AI-BOM is made of, collected once and rendered to any BOM format.

Nothing here knows CycloneDX: :mod:`supplychain.bom.cyclonedx` renders these
dataclasses (1.6 and 1.7 today; CycloneDX 2.0 or SPDX 3.0 would be another renderer).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from supplychain.formats.sniff import Format
from supplychain.licenses import LicenseFinding, OpennessAssessment, ResolvedLicense
from supplychain.severity import Severity


class FileRole(str, enum.Enum):
    """What a file is for in a model repository."""

    WEIGHTS = "weights"
    CODE = "code"
    CONFIG = "config"
    TOKENIZER = "tokenizer"
    DOCUMENTATION = "documentation"
    LICENSE = "license"
    DATA = "data"
    OTHER = "other"


@dataclass(frozen=True)
class WeightStats:
    """What a safetensors header says about the tensors it describes."""

    parameters: int
    tensors: int
    #: (dtype, parameter count), sorted by dtype.
    dtypes: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class ModelFileFacts:
    """One file of the model."""

    #: Resource name (POSIX path relative to the model root), as in the OMS manifest.
    name: str
    size: int
    sha256: str
    #: Format by content, never by extension.
    format: Format
    role: FileRole
    #: The extension claims a format the content is not (e.g. a pickle named .safetensors).
    extension_mismatch: bool = False
    weights: WeightStats | None = None
    #: Python shipped with the model that ``trust_remote_code=True`` would import.
    remote_code: bool = False
    #: Hugging Face cache blob name the file links to (its sha256 or git blob sha1).
    hf_blob: str | None = None
    #: The blob name matches the content (None: not in a cache, or not checkable).
    blob_verified: bool | None = None

    @property
    def can_execute_code(self) -> bool:
        return self.format.can_execute_code


@dataclass(frozen=True)
class SignatureRef:
    """An OMS signature (``model.sig``) found beside the model; never part of the weights."""

    name: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Identity:
    """Who the model is: name, publisher namespace, revision and where that was read."""

    name: str
    group: str | None = None
    version: str | None = None
    #: ``org/name`` when the model is a Hugging Face repository.
    hub_repo: str | None = None
    repository_url: str | None = None
    #: hf-cache, git, provenance or directory.
    source: str = "directory"

    @property
    def purl(self) -> str | None:
        if self.hub_repo is None:
            return None
        return huggingface_purl(self.hub_repo, self.version)


def huggingface_purl(repo_id: str, revision: str | None = None) -> str:
    """``pkg:huggingface/org/name@rev`` (purl spec: the revision is the full commit, lower case)."""
    from packageurl import PackageURL

    namespace, _, name = repo_id.rpartition("/")
    version = revision.lower() if revision and _is_hex(revision) else revision
    return str(
        PackageURL(type="huggingface", namespace=namespace or None, name=name, version=version)
    )


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdefABCDEF" for c in text)


@dataclass(frozen=True)
class Metric:
    """One evaluation result (Hugging Face ``model-index``)."""

    type: str
    value: str
    slice: str | None = None
    dataset: str | None = None
    verified: bool | None = None


@dataclass(frozen=True)
class Emissions:
    """Hugging Face ``co2_eq_emissions``, converted from grams to tonnes CO2eq."""

    tco2eq: float
    source: str | None = None
    training_type: str | None = None
    geographical_location: str | None = None
    hardware_used: str | None = None


@dataclass(frozen=True)
class Energy:
    """Energy spent in one activity, as declared in the provenance file."""

    activity: str
    kwh: float
    provider: str
    energy_source: str = "unknown"
    co2_tco2eq: float | None = None


@dataclass(frozen=True)
class CardFacts:
    """The model card (README front matter and text) plus config.json and tokenizer facts."""

    present: bool = False
    description: str | None = None
    task: str | None = None
    library: str | None = None
    languages: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    architecture_family: str | None = None
    architecture: str | None = None
    #: (name, value) from config.json, named after the cdx:ai-ml taxonomy.
    hyperparameters: tuple[tuple[str, str], ...] = ()
    use_cases: tuple[str, ...] = ()
    out_of_scope: tuple[str, ...] = ()
    limitations: tuple[str, ...] = ()
    ethical: tuple[str, ...] = ()
    metrics: tuple[Metric, ...] = ()
    emissions: Emissions | None = None
    gated: bool = False
    gating_prompt: str | None = None
    new_version: str | None = None
    tokenizer_class: str | None = None
    chat_template_sha256: str | None = None
    #: Modules named by config ``auto_map`` (what trust_remote_code imports).
    auto_map_modules: tuple[str, ...] = ()


@dataclass(frozen=True)
class Ancestor:
    """A base model (Hugging Face ``base_model``) and, recursively, its own bases."""

    repo_id: str
    #: finetune, adapter, quantized, merge (or None when not stated).
    relation: str | None = None
    revision: str | None = None
    licenses: tuple[ResolvedLicense, ...] = ()
    #: Where the ancestor was declared (README front matter, provenance file, cached card).
    source: str = ""
    ancestors: tuple[Ancestor, ...] = ()
    sha256: str | None = None

    @property
    def purl(self) -> str:
        return huggingface_purl(self.repo_id, self.revision)


@dataclass(frozen=True)
class Dataset:
    """One dataset the model was trained, tuned or evaluated on."""

    name: str
    roles: tuple[str, ...] = ()
    version: str | None = None
    url: str | None = None
    licenses: tuple[ResolvedLicense, ...] = ()
    collected_from: str | None = None
    collected_to: str | None = None
    #: (CycloneDX algorithm name, lower-case hex).
    hashes: tuple[tuple[str, str], ...] = ()
    classification: str | None = None
    sensitive_data: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()
    custodians: tuple[str, ...] = ()
    stewards: tuple[str, ...] = ()
    description: str | None = None
    #: Where it was declared: README front matter, model-index, provenance file.
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class Library:
    """A Python distribution the model's runtime needs."""

    name: str
    version: str | None = None
    #: A PEP 508 specifier when the version is not pinned (e.g. ``>=4.40``).
    specifier: str | None = None
    license_expression: str | None = None
    license_name: str | None = None
    #: requirements.txt, pyproject.toml, pylock.toml, uv.lock, poetry.lock or installed.
    source: str = ""

    @property
    def purl(self) -> str:
        from packageurl import PackageURL

        return str(
            PackageURL(type="pypi", name=normalize_dist_name(self.name), version=self.version)
        )


def normalize_dist_name(name: str) -> str:
    """PEP 503 normalisation (also what the pypi purl type wants)."""
    import re

    return re.sub(r"[-_.]+", "-", name).lower()


class ConversionStatus(str, enum.Enum):
    #: The output file is in the model with the recorded digest.
    MATCH = "match"
    #: The output file is in the model but its bytes changed since the conversion.
    MISMATCH = "mismatch"
    #: No file of that name is in the model.
    MISSING = "missing"


@dataclass(frozen=True)
class Conversion:
    """A format conversion recorded by ``supplychain convert`` (or declared by hand)."""

    source_name: str
    source_sha256: str
    output_name: str
    output_sha256: str
    tool_name: str
    tool_version: str
    status: ConversionStatus
    timestamp: str | None = None
    command: str | None = None


@dataclass(frozen=True)
class Training:
    """How the model was trained, as declared in the provenance file."""

    code_repository: str | None = None
    code_commit: str | None = None
    code_licenses: tuple[ResolvedLicense, ...] = ()
    started: str | None = None
    ended: str | None = None
    #: (name, value, JSON data type) in declaration order.
    hyperparameters: tuple[tuple[str, str, str], ...] = ()
    method: str | None = None
    approach: str | None = None
    hardware: str | None = None
    description: str | None = None
    energy: tuple[Energy, ...] = ()


@dataclass(frozen=True)
class Finding:
    """A security or integrity finding attached to the BOM."""

    rule_id: str
    severity: Severity
    message: str
    #: The resource name of the file it is about (None: about the model as a whole).
    file: str | None = None
    #: ``scan`` (from a scanner report) or ``bom`` (derived while building the BOM).
    origin: str = "bom"
    cwe: int | None = None
    recommendation: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "severity": self.severity.value,
            "message": self.message,
            "file": self.file,
            "origin": self.origin,
            "cwe": self.cwe,
        }


@dataclass(frozen=True)
class ScanInfo:
    """Which scanner produced the findings with origin ``scan``."""

    name: str
    version: str
    #: Files the scanner looked at (None: every file of the model).
    files: tuple[str, ...] | None = None


@dataclass(frozen=True)
class OmsDigest:
    """The OMS root digest of the model and how it was computed."""

    root_digest: str
    hash_type: str
    ignore_paths: tuple[str, ...]
    allow_symlinks: bool


@dataclass(frozen=True)
class AiBom:
    """Everything the AI-BOM says about one model."""

    identity: Identity
    files: tuple[ModelFileFacts, ...]
    oms: OmsDigest
    card: CardFacts
    licenses: tuple[ResolvedLicense, ...]
    openness: OpennessAssessment
    signature: SignatureRef | None = None
    ancestors: tuple[Ancestor, ...] = ()
    datasets: tuple[Dataset, ...] = ()
    libraries: tuple[Library, ...] = ()
    conversions: tuple[Conversion, ...] = ()
    training: Training | None = None
    findings: tuple[Finding, ...] = ()
    license_findings: tuple[LicenseFinding, ...] = ()
    scan: ScanInfo | None = None
    #: sha256 of the provenance file the BOM was built with.
    provenance_sha256: str | None = None

    @property
    def weight_files(self) -> tuple[ModelFileFacts, ...]:
        return tuple(f for f in self.files if f.role is FileRole.WEIGHTS)

    @property
    def parameter_count(self) -> int | None:
        stats = [f.weights for f in self.files if f.weights is not None]
        return sum(s.parameters for s in stats) if stats else None

    @property
    def dtype_mix(self) -> tuple[tuple[str, int], ...]:
        totals: dict[str, int] = {}
        for f in self.files:
            for dtype, count in f.weights.dtypes if f.weights else ():
                totals[dtype] = totals.get(dtype, 0) + count
        return tuple(sorted(totals.items()))
