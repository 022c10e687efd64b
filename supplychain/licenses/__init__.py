"""Licence knowledge for models and datasets: the reviewed table (data), resolution of what a
card declares, inheritance and data-terms checks, and the openness class."""

from __future__ import annotations

from supplychain.licenses.conflicts import LicensedSubject, LicenseFinding, check_licenses
from supplychain.licenses.knowledge import (
    KnowledgeBase,
    LicenseClass,
    LicenseEntry,
    Permission,
    Redistribution,
    knowledge_base,
)
from supplychain.licenses.openness import (
    DataInformation,
    OpennessAssessment,
    OpennessClass,
    OpennessInput,
    TrainingCode,
    classify_openness,
)
from supplychain.licenses.resolve import LicenseDeclaration, ResolvedLicense, license_ref, resolve

__all__ = [
    "DataInformation",
    "KnowledgeBase",
    "LicenseClass",
    "LicenseDeclaration",
    "LicenseEntry",
    "LicenseFinding",
    "LicensedSubject",
    "OpennessAssessment",
    "OpennessClass",
    "OpennessInput",
    "Permission",
    "Redistribution",
    "ResolvedLicense",
    "TrainingCode",
    "check_licenses",
    "classify_openness",
    "knowledge_base",
    "license_ref",
    "resolve",
]
