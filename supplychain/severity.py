"""Severity levels shared by every kind of finding (scanner, licences, BOM integrity checks).

The names are CycloneDX's ``severity`` values, so findings render without a mapping.
"""

from __future__ import annotations

import enum


class Severity(str, enum.Enum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is worse; for sorting and thresholds."""
        return _RANK[self]

    # A str enum would otherwise compare names alphabetically ("critical" < "high"),
    # silently inverting every threshold: compare by rank, and only with severities.
    def __lt__(self, other: object) -> bool:
        return self.rank < _other_rank(other)

    def __le__(self, other: object) -> bool:
        return self.rank <= _other_rank(other)

    def __gt__(self, other: object) -> bool:
        return self.rank > _other_rank(other)

    def __ge__(self, other: object) -> bool:
        return self.rank >= _other_rank(other)

    @classmethod
    def parse(cls, value: str) -> Severity:
        """Accept any case and the common synonyms ``warning`` and ``error``."""
        text = value.strip().lower()
        return cls(_SYNONYMS.get(text, text))


_RANK = {
    Severity.INFO: 0,
    Severity.LOW: 1,
    Severity.MEDIUM: 2,
    Severity.HIGH: 3,
    Severity.CRITICAL: 4,
}
_SYNONYMS = {"warning": "medium", "error": "high", "informational": "info", "note": "info"}


def _other_rank(other: object) -> int:
    if not isinstance(other, Severity):
        raise TypeError(f"cannot order a Severity against {type(other).__name__}")
    return other.rank
