"""Severity names are CycloneDX's; scanners' spellings parse into them."""

from __future__ import annotations

import pytest

from supplychain.severity import Severity


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("HIGH", Severity.HIGH),
        ("warning", Severity.MEDIUM),
        ("error", Severity.HIGH),
        (" note ", Severity.INFO),
        ("critical", Severity.CRITICAL),
    ],
)
def test_parse(text: str, expected: Severity) -> None:
    assert Severity.parse(text) is expected


def test_unknown_severity_is_refused() -> None:
    with pytest.raises(ValueError):
        Severity.parse("catastrophic")


def test_ranks_order_worst_last() -> None:
    assert sorted(Severity, key=lambda s: s.rank) == [
        Severity.INFO,
        Severity.LOW,
        Severity.MEDIUM,
        Severity.HIGH,
        Severity.CRITICAL,
    ]


def test_severities_order_by_rank_not_by_name() -> None:
    # As a str enum, "critical" < "high" alphabetically: thresholds must not use that.
    assert Severity.CRITICAL > Severity.HIGH > Severity.MEDIUM > Severity.LOW > Severity.INFO
    assert Severity.CRITICAL >= Severity.HIGH and not Severity.HIGH >= Severity.CRITICAL
    assert max([Severity.LOW, Severity.CRITICAL, Severity.HIGH]) is Severity.CRITICAL
    assert sorted([Severity.HIGH, Severity.INFO, Severity.CRITICAL]) == [
        Severity.INFO,
        Severity.HIGH,
        Severity.CRITICAL,
    ]
    with pytest.raises(TypeError):
        _ = Severity.HIGH < "critical"
