"""Find the JSON Schemas: ``supplychain/_schemas`` in a wheel, ``schemas/`` in a checkout."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

_PACKAGE = Path(__file__).resolve().parents[1]
_PLACES = (_PACKAGE / "_schemas", _PACKAGE.parent / "schemas")


def schema_path(name: str) -> Path:
    """Path of the schema file ``name``; raises FileNotFoundError naming both places."""
    for place in _PLACES:
        candidate = place / name
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"schema {name} is in neither {_PLACES[0]} nor {_PLACES[1]}")


def load_schema(name: str) -> Any:
    return json.loads(schema_path(name).read_text(encoding="utf-8"))
