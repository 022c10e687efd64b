"""Output helpers shared by every report: JSON documents and human-readable sizes."""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO


def dump_json(document: Any, stream: TextIO | None = None) -> None:
    """Write one JSON document (2-space indent, UTF-8 kept readable) and a newline."""
    out = stream or sys.stdout
    out.write(json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False))
    out.write("\n")
    out.flush()


def human_bytes(n: int) -> str:
    """1536 -> '1.5 KiB'."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
