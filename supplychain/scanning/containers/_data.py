"""Reviewed data tables shipped in ``supplychain/scanning/data``, read once."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def reviewed_table(name: str) -> Any:
    """The parsed JSON table ``data/<name>``."""
    text = resources.files("supplychain.scanning").joinpath(f"data/{name}").read_text("utf-8")
    return json.loads(text)
