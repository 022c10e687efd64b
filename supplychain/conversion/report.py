"""What a conversion reports, and the conversion record an AI-BOM can cite.

Frozen results, rendered by the CLI (text or ``--json``) and by
:meth:`ConversionReport.record` into the small, stable conversion record
(``schemas/conversion-record.schema.json``): for each converted file the
source and output names and SHA-256 digests, the tool, what was converted and
what was left out.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from supplychain._version import __version__
from supplychain.conversion.errors import ConvertExit
from supplychain.conversion.select import Skipped
from supplychain.conversion.torchcheck import TorchCheck
from supplychain.conversion.verify import SelfCheck
from supplychain.scanning import Finding

TOOL = {"name": "supplychain", "version": __version__}
RECORD_VERSION = 1


@dataclass(frozen=True)
class TensorRecord:
    name: str
    dtype: str
    shape: tuple[int, ...]
    nbytes: int
    #: Where its bytes came from (``archive/data/3``, ``storage 9433...``, ``pickle@0``).
    storage: str
    #: ``copied`` (a straight byte range) or ``gathered`` (strided, byte-swapped, conj/neg).
    layout: str
    #: ``blake3:<hex>`` of the bytes written.
    digest: str

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "dtype": self.dtype,
            "shape": list(self.shape),
            "bytes": self.nbytes,
            "storage": self.storage,
            "layout": self.layout,
            "digest": self.digest,
        }


@dataclass(frozen=True)
class FileConversion:
    """One checkpoint converted to one safetensors file."""

    source: Path
    #: Name relative to the model root (the file name for a single file).
    source_name: str
    source_format: str
    source_size: int
    source_sha256: str
    output: Path
    output_name: str
    output_size: int
    output_sha256: str
    #: Keys followed to the exported container (``state_dict`` unwrapped, or ``--key``).
    selected: tuple[str, ...]
    tensors: tuple[TensorRecord, ...]
    #: Tied weights: dropped name -> kept name (also in the file's ``__metadata__``).
    aliases: dict[str, str]
    #: Everything not exported, with why.
    skipped: tuple[Skipped, ...]
    unreferenced_bytes: int
    unexported_bytes: int
    usage_approximate: bool
    orphans: tuple[str, ...]
    byteorder: str
    pickle_protocol: int | None
    self_check: SelfCheck
    #: Scanner findings below the refusal threshold.
    notes: tuple[Finding, ...] = ()
    #: Findings at or above it that --drop-non-tensors set aside.
    waived: tuple[Finding, ...] = ()
    torch_check: TorchCheck | None = None
    #: Removed from the front of every tensor name (DataParallel's ``module.``), or "".
    stripped_prefix: str = ""

    @property
    def parameters(self) -> int:
        total = 0
        for tensor in self.tensors:
            count = 1
            for dim in tensor.shape:
                count *= dim
            total += count
        return total

    def to_json(self) -> dict[str, Any]:
        return {
            "source": {
                "path": str(self.source),
                "name": self.source_name,
                "format": self.source_format,
                "size": self.source_size,
                "sha256": self.source_sha256,
            },
            "output": {
                "path": str(self.output),
                "name": self.output_name,
                "size": self.output_size,
                "sha256": self.output_sha256,
            },
            "selected": list(self.selected),
            "stripped_prefix": self.stripped_prefix,
            "tensors": [t.to_json() for t in self.tensors],
            "parameters": self.parameters,
            "aliases": dict(self.aliases),
            "skipped": [s.to_json() for s in self.skipped],
            "storage": {
                "unreferenced_bytes": self.unreferenced_bytes,
                "unexported_bytes": self.unexported_bytes,
                "approximate": self.usage_approximate,
                "orphans": list(self.orphans),
            },
            "byteorder": self.byteorder,
            "pickle_protocol": self.pickle_protocol,
            "self_check": self.self_check.to_json(),
            "torch_check": self.torch_check.to_json() if self.torch_check else None,
            "notes": [f.to_json() for f in self.notes],
            "waived": [f.to_json() for f in self.waived],
        }

    def record_entry(self, timestamp: str, command: str | None) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "source": {
                "name": self.source_name,
                "sha256": self.source_sha256,
                "format": self.source_format,
            },
            "output": {"name": self.output_name, "sha256": self.output_sha256},
            "tool": dict(TOOL),
            "timestamp": timestamp,
            "tensors": len(self.tensors),
            "aliases": dict(self.aliases),
            "non_tensor_leaves": [s.to_json() for s in self.skipped],
        }
        if self.selected:
            entry["selected_key"] = ".".join(self.selected)
        if self.stripped_prefix:
            entry["stripped_prefix"] = self.stripped_prefix
        if command:
            entry["command"] = command
        return entry


@dataclass(frozen=True)
class IndexConversion:
    """A sharded checkpoint's index, rewritten for the safetensors shards."""

    source_name: str
    output: Path
    output_name: str
    output_sha256: str
    total_size: int
    shards: tuple[str, ...]
    tensors: int

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source_name,
            "output": {
                "path": str(self.output),
                "name": self.output_name,
                "sha256": self.output_sha256,
            },
            "total_size": self.total_size,
            "shards": list(self.shards),
            "tensors": self.tensors,
        }


@dataclass(frozen=True)
class SkippedFile:
    """A file of a model directory that was not converted, and why."""

    name: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "reason": self.reason}


@dataclass(frozen=True)
class RefusedFile:
    """A checkpoint of a model directory that was refused while the others were converted."""

    name: str
    #: The exit code converting it alone would give (1 unsafe, 2 malformed, 3 unsupported).
    exit_code: int
    problem: str
    hint: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "exit_code": self.exit_code,
            "error": self.problem,
            "hint": self.hint,
        }


@dataclass(frozen=True)
class ConversionReport:
    """Everything one ``convert`` call did."""

    source: Path
    files: tuple[FileConversion, ...]
    indexes: tuple[IndexConversion, ...] = ()
    skipped_files: tuple[SkippedFile, ...] = ()
    seconds: float = 0.0
    finished: str = field(default_factory=lambda: _now())
    #: Checkpoints of a model directory that were refused (the others were converted).
    refused_files: tuple[RefusedFile, ...] = ()

    @property
    def exit_code(self) -> int:
        return int(ConvertExit.PARTIAL if self.refused_files else ConvertExit.CONVERTED)

    def to_json(self) -> dict[str, Any]:
        return {
            "source": str(self.source),
            "outcome": "partial" if self.refused_files else "converted",
            "exit_code": self.exit_code,
            "files": [f.to_json() for f in self.files],
            "indexes": [i.to_json() for i in self.indexes],
            "refused_files": [r.to_json() for r in self.refused_files],
            "skipped_files": [s.to_json() for s in self.skipped_files],
            "seconds": round(self.seconds, 6),
        }

    def record(self, command: str | None = None) -> dict[str, Any]:
        """The conversion record (``schemas/conversion-record.schema.json``)."""
        return {
            "record_version": RECORD_VERSION,
            "tool": dict(TOOL),
            "timestamp": self.finished,
            "conversions": [f.record_entry(self.finished, command) for f in self.files],
            "indexes": [
                {
                    "source": i.source_name,
                    "output": {"name": i.output_name, "sha256": i.output_sha256},
                }
                for i in self.indexes
            ],
        }


def _now() -> str:
    return (
        _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    )
