"""Output helpers shared by every report: JSON documents and human-readable sizes."""

from __future__ import annotations

import json
import re
import sys
from typing import Any, TextIO

#: What json.dumps(ensure_ascii=False) leaves raw that a terminal may still act on:
#: DEL, the C1 controls (U+009B is a one-byte CSI) and the Unicode line separators.
_RAW_CONTROLS = re.compile("[\x7f-\x9f\u2028\u2029]")


def json_text(document: Any) -> str:
    """One JSON document (2-space indent, UTF-8 kept readable), safe to print on a terminal.

    json.dumps escapes the C0 controls itself; the rest of the control
    characters can only occur inside strings, where ``\\uXXXX`` means the same.
    """
    text = json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False)
    return _RAW_CONTROLS.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def dump_json(document: Any, stream: TextIO | None = None) -> None:
    """Write one JSON document (see :func:`json_text`) and a newline."""
    out = stream or sys.stdout
    out.write(json_text(document))
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
