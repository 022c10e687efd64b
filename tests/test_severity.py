"""Severity names are CycloneDX's; scanners' spellings parse into them."""

from __future__ import annotations

import pytest

from supplychain.severity import Severity


@pytest.mark.parametrize(
    ("text", "expected"),
    [("HIGH", Severity.HIGH), ("warning", Severity.MEDIUM), ("error", Severity.HIGH),
     (" note ", Severity.INFO), ("critical", Severity.CRITICAL)],
)
def test_parse(text: str, expected: Severity) -> None:
    assert Severity.parse(text) is expected


def test_unknown_severity_is_refused() -> None:
    with pytest.raises(ValueError):
        Severity.parse("catastrophic")


def test_ranks_order_worst_last() -> None:
    assert sorted(Severity, key=lambda s: s.rank) == [
        Severity.INFO, Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL]
