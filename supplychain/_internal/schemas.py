"""Find and load the JSON Schemas in ``schemas/`` (installed as ``supplychain/_schemas``)."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

_PACKAGE = Path(__file__).resolve().parents[1]
#: A wheel carries them inside the package; a source checkout has them at the top.
_LOCATIONS = (_PACKAGE / "_schemas", _PACKAGE.parent / "schemas")


def schema_path(name: str) -> Path:
    for directory in _LOCATIONS:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"schema {name!r} is not installed (looked in {_LOCATIONS})")


@functools.cache
def load_schema(name: str) -> dict[str, Any]:
    document = json.loads(schema_path(name).read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document
