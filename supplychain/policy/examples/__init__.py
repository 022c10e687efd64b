"""Shipped policies: a commented starting point, ``strict`` and ``research``."""

from __future__ import annotations

from pathlib import Path

_FILES = {"commented": "init.yaml", "strict": "strict.yaml", "research": "research.yaml"}


def example_text(name: str) -> str:
    return (Path(__file__).with_name(_FILES[name])).read_text(encoding="utf-8")
