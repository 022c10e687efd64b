"""AI-BOM: a CycloneDX ML-BOM of a model's files, code, data, lineage, licences and findings.

Build the facts once (:func:`build_bom`), render them (:func:`render_cyclonedx`,
:func:`write_cyclonedx`: strictly validated, deterministic), and read any
CycloneDX JSON BOM back for review (:func:`inspect_bom`, :func:`diff_boms`).
"""

from __future__ import annotations

import os

from supplychain.bom.build import build_bom
from supplychain.bom.diff import BomDiff, Change, diff_boms
from supplychain.bom.findings import ScanFinding, ScanReport
from supplychain.bom.model import AiBom
from supplychain.bom.provenance import ProvenanceError, load_provenance
from supplychain.bom.read import BomReadError, BomView, load_document, view
from supplychain.bom.summary import Summary, summarize
from supplychain.bom.validate import (
    SPEC_VERSIONS,
    BomValidationError,
    can_validate,
    schema_problems,
)
from supplychain.bom.writer import render_cyclonedx, write_cyclonedx

__all__ = [
    "SPEC_VERSIONS",
    "AiBom",
    "BomDiff",
    "BomReadError",
    "BomValidationError",
    "BomView",
    "Change",
    "ProvenanceError",
    "ScanFinding",
    "ScanReport",
    "Summary",
    "build_bom",
    "diff_boms",
    "inspect_bom",
    "load_provenance",
    "read_bom",
    "render_cyclonedx",
    "write_cyclonedx",
]


def read_bom(path: str | os.PathLike[str]) -> tuple[BomView, tuple[str, ...]]:
    """A BOM file's typed view and its strict-schema problems (empty when valid)."""
    document = load_document(path)
    version = str(document["specVersion"])
    if can_validate(version):
        problems = tuple(schema_problems(document, version, path=path))
    else:
        problems = (f"CycloneDX {version} has no JSON schema to validate against",)
    return view(document), problems


def inspect_bom(path: str | os.PathLike[str]) -> Summary:
    """The reviewer's summary of the BOM at ``path``."""
    bom, problems = read_bom(path)
    return summarize(bom, problems)
