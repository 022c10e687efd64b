"""One real-world model file and what it is."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Artifact:
    path: Path
    #: Name relative to its origin's folder (what reports show).
    name: str
    #: The format ``supplychain scan`` must report for it.
    expected_format: str
    #: Who wrote it (library call, or ``package==version``).
    origin: str
    #: Why a format we do not identify yet is expected as "unknown" (None: identified).
    gap: str | None = None
