"""The openness class and the evidence behind it."""

from __future__ import annotations

import pytest

from supplychain.licenses import (
    DataInformation,
    LicenseDeclaration,
    OpennessClass,
    OpennessInput,
    TrainingCode,
    classify_openness,
    resolve,
)


def licences(*ids: str) -> tuple:  # type: ignore[type-arg]
    return tuple(resolve(LicenseDeclaration(i)) for i in ids)


DATA = (DataInformation("org/corpus", has_source=True, has_license=True),)
CODE = TrainingCode("https://github.com/org/train", "a" * 40, licences("apache-2.0"))


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (
            OpennessInput(licences("apache-2.0"), True, training_data=DATA, training_code=CODE),
            OpennessClass.OPEN_SOURCE_AI,
        ),
        (OpennessInput(licences("apache-2.0"), True), OpennessClass.OPEN_WEIGHTS),
        (
            OpennessInput(licences("cc-by-4.0"), True, training_data=DATA, training_code=CODE),
            OpennessClass.OPEN_WEIGHTS,
        ),  # open, but not an OSI-approved licence
        (OpennessInput(licences("llama3"), True), OpennessClass.OPEN_WEIGHTS_RESTRICTED),
        (
            OpennessInput(licences("creativeml-openrail-m"), True),
            OpennessClass.OPEN_WEIGHTS_RESTRICTED,
        ),
        (OpennessInput(licences("cc-by-nd-4.0"), True), OpennessClass.OPEN_WEIGHTS_RESTRICTED),
        (OpennessInput(licences("apache-2.0"), True, gated=True), OpennessClass.GATED),
        (
            OpennessInput(licences("fair-noncommercial-research-license"), True, gated=True),
            OpennessClass.RESEARCH_ONLY,
        ),
        (OpennessInput(licences("cc-by-nc-sa-4.0"), True), OpennessClass.RESEARCH_ONLY),
        (OpennessInput((), True), OpennessClass.UNDETERMINED),
        (OpennessInput(licences("other"), True), OpennessClass.UNDETERMINED),
        (
            OpennessInput(licences("mit"), True, inherited=(("org/base", licences("llama2")[0]),)),
            OpennessClass.OPEN_WEIGHTS_RESTRICTED,
        ),
        (
            OpennessInput(
                licences("mit"), True, inherited=(("org/base", licences("cc-by-nc-4.0")[0]),)
            ),
            OpennessClass.RESEARCH_ONLY,
        ),
    ],
)
def test_classes(facts: OpennessInput, expected: OpennessClass) -> None:
    assert classify_openness(facts).openness is expected


def test_open_weights_lists_what_is_missing_for_open_source_ai() -> None:
    partial = OpennessInput(
        licences("apache-2.0"),
        True,
        training_data=(DataInformation("org/secret", has_source=False, has_license=False),),
        training_code=TrainingCode("https://github.com/org/train", None),
    )
    assessment = classify_openness(partial)

    assert assessment.evidence == (
        "weights under Apache-2.0",
        "training data without a source: org/secret",
        "training data without a licence: org/secret",
        "training code (repository and commit) is not declared",
    )
    assert assessment.to_json()["class"] == "open-weights"


def test_no_weights_is_stated_as_evidence() -> None:
    assessment = classify_openness(OpennessInput(licences("mit"), False))
    assert assessment.evidence[0] == "no weight files were found in the model directory"
