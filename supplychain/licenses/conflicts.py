"""Licence findings: missing or unknown licences, derivatives that relax their ancestors' terms,
and training data whose terms the model's licence ignores."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from supplychain.licenses.knowledge import LicenseClass, Permission
from supplychain.licenses.resolve import ResolvedLicense
from supplychain.severity import Severity

MODEL = "model"
ANCESTOR = "ancestor"
DATASET = "dataset"

#: Dataset roles whose licence reaches the model's weights.
TRAINING_ROLES = frozenset({"training", "fine-tuning"})


@dataclass(frozen=True)
class LicensedSubject:
    """Something that carries licences: the model, one ancestor, one dataset."""

    kind: str
    name: str
    licenses: tuple[ResolvedLicense, ...]
    #: Ancestors: finetune/adapter/quantized/merge. Datasets: their roles.
    relation: str | None = None
    roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class LicenseFinding:
    rule: str
    severity: Severity
    subject_kind: str
    subject: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity.value,
            "subject_kind": self.subject_kind,
            "subject": self.subject,
            "message": self.message,
        }


def check_licenses(
    model: LicensedSubject,
    ancestors: Sequence[LicensedSubject] = (),
    datasets: Sequence[LicensedSubject] = (),
) -> tuple[LicenseFinding, ...]:
    """Every licence finding for a model, its ancestors and its datasets, in a stable order."""
    findings: list[LicenseFinding] = []
    findings += _declared(model, missing=Severity.HIGH)
    for ancestor in ancestors:
        findings += _inheritance(model, ancestor)
    for dataset in datasets:
        findings += _declared(dataset, missing=Severity.LOW)
        findings += _data_terms(model, dataset)
    return tuple(findings)


def _declared(subject: LicensedSubject, *, missing: Severity) -> list[LicenseFinding]:
    if not subject.licenses:
        what = "the model" if subject.kind == MODEL else f"{subject.kind} {subject.name}"
        return [
            LicenseFinding(
                "license.missing",
                missing,
                subject.kind,
                subject.name,
                f"no licence is declared for {what}; treat it as all rights reserved",
            )
        ]
    return [
        LicenseFinding(
            "license.unknown-terms",
            Severity.MEDIUM if subject.kind == MODEL else Severity.LOW,
            subject.kind,
            subject.name,
            f"licence {lic.name!r}{f' ({lic.url})' if lic.url else ''} is not in the reviewed "
            "knowledge base; its terms need a human review",
        )
        for lic in subject.licenses
        if not lic.known
    ]


def _most_permissive(licenses: Sequence[ResolvedLicense]) -> ResolvedLicense | None:
    """With several licences a user may pick the loosest, so that is what must not relax."""
    ranked = [lic for lic in licenses if lic.license_class.restrictiveness is not None]
    return min(ranked, key=lambda lic: lic.license_class.restrictiveness or 0, default=None)


def _inheritance(model: LicensedSubject, ancestor: LicensedSubject) -> list[LicenseFinding]:
    relation = ancestor.relation or "derivative"
    child = _most_permissive(model.licenses)
    parents = [lic for lic in ancestor.licenses if lic.license_class.restrictiveness is not None]
    if not ancestor.licenses or not parents:
        return [
            LicenseFinding(
                "license.ancestor-unknown",
                Severity.INFO,
                ANCESTOR,
                ancestor.name,
                f"the licence of base model {ancestor.name} is not known here, so inheritance "
                "was not checked; declare it in the provenance file",
            )
        ]
    if child is None:
        return []
    parent = min(parents, key=lambda lic: lic.license_class.restrictiveness or 0)
    child_rank = child.license_class.restrictiveness or 0
    parent_rank = parent.license_class.restrictiveness or 0
    source = f" (base licence {parent.declared.source})" if parent.declared.source else ""
    if child_rank < parent_rank:
        return [
            LicenseFinding(
                "license.relaxes-ancestor",
                Severity.HIGH,
                ANCESTOR,
                ancestor.name,
                f"the model is a {relation} of {ancestor.name} under {parent.label} "
                f"({parent.license_class.value}) but declares {child.label} "
                f"({child.license_class.value}); a derivative cannot relax its base's "
                f"terms{source}",
            )
        ]
    if parent_rank > 0 and child_rank == parent_rank and child.key != parent.key:
        return [
            LicenseFinding(
                "license.differs-from-ancestor",
                Severity.MEDIUM,
                ANCESTOR,
                ancestor.name,
                f"the model is a {relation} of {ancestor.name} under {parent.label} but declares "
                f"{child.label}; the base's restrictions must still flow down{source}",
            )
        ]
    return []


def _data_terms(model: LicensedSubject, dataset: LicensedSubject) -> list[LicenseFinding]:
    if not dataset.licenses or not TRAINING_ROLES.intersection(dataset.roles):
        return []
    commercial_model = any(
        lic.commercial_use in (Permission.YES, Permission.CONDITIONAL) for lic in model.licenses
    )
    findings = []
    data_classes = {lic.license_class for lic in dataset.licenses}
    if commercial_model and all(c.noncommercial for c in data_classes):
        findings.append(
            LicenseFinding(
                "license.noncommercial-data",
                Severity.HIGH,
                DATASET,
                dataset.name,
                f"training data {dataset.name} is licensed for non-commercial use only "
                f"({', '.join(lic.label for lic in dataset.licenses)}) but the model's licence "
                "allows commercial use",
            )
        )
    elif data_classes == {LicenseClass.COPYLEFT} and all(
        lic.license_class is LicenseClass.PERMISSIVE for lic in model.licenses
    ):
        findings.append(
            LicenseFinding(
                "license.share-alike-data",
                Severity.LOW,
                DATASET,
                dataset.name,
                f"training data {dataset.name} is share-alike "
                f"({', '.join(lic.label for lic in dataset.licenses)}); whether its terms "
                "reach the "
                "weights of a permissively licensed model needs a legal review",
            )
        )
    return findings
