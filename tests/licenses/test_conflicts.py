"""Licence findings: missing, unknown, relaxing a base, non-commercial and share-alike data."""

from __future__ import annotations

from supplychain.licenses import LicenseDeclaration, LicensedSubject, check_licenses, resolve
from supplychain.licenses.conflicts import ANCESTOR, DATASET, MODEL


def lic(identifier: str, **kw: str) -> object:
    return resolve(LicenseDeclaration(identifier, **kw))


def model(*ids: str) -> LicensedSubject:
    return LicensedSubject(MODEL, "model", tuple(lic(i) for i in ids))  # type: ignore[misc]


def base(identifier: str | None, relation: str = "finetune") -> LicensedSubject:
    licences = (lic(identifier),) if identifier else ()
    return LicensedSubject(ANCESTOR, "org/base", licences, relation=relation)  # type: ignore[arg-type]


def data(identifier: str | None, *roles: str) -> LicensedSubject:
    licences = (lic(identifier),) if identifier else ()
    return LicensedSubject(DATASET, "org/data", licences, roles=roles)  # type: ignore[arg-type]


def rules(findings: tuple) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [(f.rule, f.severity.value) for f in findings]


def test_missing_model_licence_is_high_and_dataset_licence_low() -> None:
    assert rules(check_licenses(model(), datasets=[data(None, "training")])) == [
        ("license.missing", "high"),
        ("license.missing", "low"),
    ]


def test_child_more_permissive_than_base_is_flagged() -> None:
    [finding] = check_licenses(model("apache-2.0"), [base("llama3")])
    assert (finding.rule, finding.severity.value, finding.subject) == (
        "license.relaxes-ancestor",
        "high",
        "org/base",
    )
    assert "declares Apache-2.0 (permissive)" in finding.message


def test_same_licence_or_stricter_child_is_fine() -> None:
    assert check_licenses(model("llama3"), [base("llama3")]) == ()
    assert check_licenses(model("cc-by-nc-4.0"), [base("apache-2.0")]) == ()
    assert check_licenses(model("mit"), [base("apache-2.0")]) == ()  # both permissive


def test_different_licence_of_the_same_restrictive_class_needs_review() -> None:
    assert rules(check_licenses(model("gemma"), [base("llama3")])) == [
        ("license.differs-from-ancestor", "medium")
    ]
    assert rules(check_licenses(model("openrail"), [base("creativeml-openrail-m")])) == [
        ("license.differs-from-ancestor", "medium")
    ]


def test_dual_licensing_uses_the_loosest_option() -> None:
    assert rules(check_licenses(model("llama3", "mit"), [base("llama3")])) == [
        ("license.relaxes-ancestor", "high")
    ]


def test_unknown_base_licence_is_noted_not_judged() -> None:
    assert rules(check_licenses(model("mit"), [base(None)])) == [
        ("license.ancestor-unknown", "info")
    ]


def test_unknown_model_licence_needs_review() -> None:
    assert rules(check_licenses(model("other"))) == [("license.unknown-terms", "medium")]


def test_noncommercial_training_data_under_commercial_model() -> None:
    assert rules(
        check_licenses(model("apache-2.0"), datasets=[data("cc-by-nc-4.0", "training")])
    ) == [("license.noncommercial-data", "high")]
    # Evaluation data does not reach the weights; an NC model has no conflict.
    assert check_licenses(model("apache-2.0"), datasets=[data("cc-by-nc-4.0", "evaluation")]) == ()
    assert check_licenses(model("cc-by-nc-4.0"), datasets=[data("cc-by-nc-4.0", "training")]) == ()


def test_share_alike_training_data_under_permissive_model_is_low() -> None:
    assert rules(check_licenses(model("mit"), datasets=[data("cc-by-sa-4.0", "fine-tuning")])) == [
        ("license.share-alike-data", "low")
    ]
