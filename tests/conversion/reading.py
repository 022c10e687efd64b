"""An independent safetensors reader for assertions (json + struct, nothing from supplychain)."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import blake3


def read_safetensors(path: Path) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """(metadata, name -> {dtype, shape, data, blake3}) of a safetensors file."""
    raw = path.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + length])
    metadata = header.pop("__metadata__", {})
    base = 8 + length
    tensors = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        data = raw[base + begin : base + end]
        tensors[name] = {
            "dtype": entry["dtype"],
            "shape": entry["shape"],
            "data": data,
            "blake3": blake3.blake3(data).hexdigest(),
        }
    return metadata, tensors


def header_order(path: Path) -> list[str]:
    raw = path.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    return list(json.loads(raw[8 : 8 + length]))
