"""Openness class of a model (open-source AI ... research-only), computed with its evidence.

The classes follow the OSI Open Source AI Definition 1.0 (weights, code and data
information all available under OSI-approved terms) and the practical split
reviewers use for everything short of it. The most restrictive fact wins:
research-only > gated > use-restricted > undetermined > open weights > open-source AI.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from supplychain.licenses.knowledge import LicenseClass
from supplychain.licenses.resolve import ResolvedLicense


class OpennessClass(str, enum.Enum):
    OPEN_SOURCE_AI = "open-source-ai"
    OPEN_WEIGHTS = "open-weights"
    OPEN_WEIGHTS_RESTRICTED = "open-weights-restricted"
    GATED = "gated"
    RESEARCH_ONLY = "research-only"
    #: No licence, or one whose terms we do not know: a human must decide.
    UNDETERMINED = "undetermined"


@dataclass(frozen=True)
class DataInformation:
    """What is known about one training dataset."""

    name: str
    has_source: bool
    has_license: bool


@dataclass(frozen=True)
class TrainingCode:
    repository: str | None
    commit: str | None
    licenses: tuple[ResolvedLicense, ...] = ()


@dataclass(frozen=True)
class OpennessInput:
    licenses: tuple[ResolvedLicense, ...]
    has_weights: bool
    gated: bool = False
    gating_evidence: str | None = None
    training_data: tuple[DataInformation, ...] = ()
    training_code: TrainingCode | None = None
    #: (ancestor, licence) of base models: a derivative is bound by their terms too.
    inherited: tuple[tuple[str, ResolvedLicense], ...] = ()


@dataclass(frozen=True)
class OpennessAssessment:
    openness: OpennessClass
    evidence: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"class": self.openness.value, "evidence": list(self.evidence)}


def classify_openness(facts: OpennessInput) -> OpennessAssessment:
    """The openness class of a model and the facts that decided it."""
    evidence: list[str] = []
    classes = {lic.license_class for lic in facts.licenses}
    labels = ", ".join(lic.label for lic in facts.licenses)
    if not facts.has_weights:
        evidence.append("no weight files were found in the model directory")
    if facts.gated:
        evidence.append(f"access is gated: {facts.gating_evidence or 'click-through terms'}")

    if classes and all(c.noncommercial for c in classes):
        evidence.append(f"licence {labels} allows research or non-commercial use only")
        return OpennessAssessment(OpennessClass.RESEARCH_ONLY, tuple(evidence))
    binding = _binding_ancestors(facts)
    if any(lic.license_class.noncommercial for _, lic in binding):
        evidence += [
            _inherited(name, lic) for name, lic in binding if lic.license_class.noncommercial
        ]
        return OpennessAssessment(OpennessClass.RESEARCH_ONLY, tuple(evidence))
    if facts.gated:
        return OpennessAssessment(OpennessClass.GATED, tuple(evidence))
    if not facts.licenses:
        evidence.append("no licence is declared")
        return OpennessAssessment(OpennessClass.UNDETERMINED, tuple(evidence))
    if LicenseClass.UNKNOWN in classes:
        evidence.append(f"licence {labels} is not in the reviewed knowledge base")
        return OpennessAssessment(OpennessClass.UNDETERMINED, tuple(evidence))
    if any(c.use_restricted or c is LicenseClass.NO_DERIVATIVES for c in classes):
        evidence.append(f"licence {labels} restricts use or derivatives")
        return OpennessAssessment(OpennessClass.OPEN_WEIGHTS_RESTRICTED, tuple(evidence))
    if binding:
        evidence += [_inherited(name, lic) for name, lic in binding]
        return OpennessAssessment(OpennessClass.OPEN_WEIGHTS_RESTRICTED, tuple(evidence))

    gaps = _osaid_gaps(facts)
    if not gaps:
        evidence.append(f"weights under OSI-approved {labels}")
        evidence.append(
            f"training data described: {', '.join(d.name for d in facts.training_data)}"
        )
        code = facts.training_code
        assert code is not None
        evidence.append(f"training code {code.repository}@{code.commit} under OSI-approved terms")
        return OpennessAssessment(OpennessClass.OPEN_SOURCE_AI, tuple(evidence))
    evidence.append(f"weights under {labels}")
    evidence.extend(gaps)
    return OpennessAssessment(OpennessClass.OPEN_WEIGHTS, tuple(evidence))


def _binding_ancestors(facts: OpennessInput) -> list[tuple[str, ResolvedLicense]]:
    """Ancestor licences stricter than anything the model itself declares."""
    own = [lic.license_class.restrictiveness for lic in facts.licenses]
    floor = min((r for r in own if r is not None), default=0)
    return [
        (name, lic)
        for name, lic in facts.inherited
        if (lic.license_class.restrictiveness or 0) > floor
        and (
            lic.license_class.use_restricted
            or lic.license_class.noncommercial
            or lic.license_class is LicenseClass.NO_DERIVATIVES
        )
    ]


def _inherited(name: str, lic: ResolvedLicense) -> str:
    return (
        f"base model {name} is under {lic.label} ({lic.license_class.value}); "
        "its terms bind derivatives"
    )


def _osaid_gaps(facts: OpennessInput) -> list[str]:
    """What keeps a model with open weights from meeting the Open Source AI Definition."""
    gaps = []
    if not all(lic.osi_approved for lic in facts.licenses):
        gaps.append("the weights' licence is not OSI-approved")
    gaps += _data_gaps(facts.training_data)
    code = facts.training_code
    if code is None or not code.repository or not code.commit:
        gaps.append("training code (repository and commit) is not declared")
    elif not code.licenses or not all(lic.osi_approved for lic in code.licenses):
        gaps.append("training code is not declared under an OSI-approved licence")
    return gaps


def _data_gaps(data: Sequence[DataInformation]) -> list[str]:
    if not data:
        return ["no training data is declared"]
    gaps = []
    unsourced = [d.name for d in data if not d.has_source]
    if unsourced:
        gaps.append(f"training data without a source: {', '.join(unsourced)}")
    unlicensed = [d.name for d in data if not d.has_license]
    if unlicensed:
        gaps.append(f"training data without a licence: {', '.join(unlicensed)}")
    return gaps
