"""Opt-in cross-check against torch: ``torch.load(weights_only=True)`` in a separate process.

The converter never imports torch. When asked (``--verify-with-torch``), a
child interpreter loads the *source* with torch's restricted unpickler (only
after our own scan passed) and compares every tensor's bytes, dtype and shape
with the written file, and every dropped alias with the tensor kept for it.
Files torch itself cannot load (protocol 4/5 pickles, Lightning objects,
legacy float8 storages) are reported as such, not as failures.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from supplychain.errors import InputError

MATCH, MISMATCH, CANNOT_LOAD = "match", "mismatch", "torch-cannot-load"

_SCRIPT = r"""
import json, struct, sys
import numpy as np
import torch

request = json.load(sys.stdin)

def finish(document):
    sys.stdout.write(json.dumps(document))
    sys.exit(0)

try:
    # The one torch.load in the product: opt-in (--verify-with-torch), in this child
    # process only, after our scan passed, and with torch's restricted unpickler.
    loaded = torch.load(request["source"], map_location="cpu", weights_only=True)
except Exception as exc:
    finish({"status": "torch-cannot-load", "detail": f"{type(exc).__name__}: {exc}"[:500]})

def reach(path):
    value = loaded
    for key in path:
        value = value[key["s"] if "s" in key else key["i"]]
    return value

def raw(value, swap):
    if isinstance(value, np.ndarray):
        return str(value.dtype), list(value.shape), np.ascontiguousarray(value).tobytes()
    value = value.detach().resolve_conj().resolve_neg().contiguous()
    data = value.reshape(-1).view(torch.uint8).numpy().tobytes()
    if swap:
        data = np.frombuffer(data, dtype=f">u{swap}").astype(f"<u{swap}").tobytes()
    return str(value.dtype).replace("torch.", ""), list(value.shape), data

problems = []
with open(request["output"], "rb") as handle:
    (length,) = struct.unpack("<Q", handle.read(8))
    header = json.loads(handle.read(length))
    base = 8 + length
    written = {}
    for item in request["tensors"]:
        begin, end = header[item["name"]]["data_offsets"]
        handle.seek(base + begin)
        written[item["name"]] = handle.read(end - begin)
for item in request["tensors"] + request["aliases"]:
    try:
        dtype, shape, data = raw(reach(item["path"]), item["swap"])
    except Exception as exc:
        problems.append(f"{item['name']}: torch's value cannot be read "
                        f"({type(exc).__name__}: {exc})")
        continue
    if item.get("numpy"):
        dtype = item["dtype"]
    if dtype != item["dtype"] or shape != item["shape"]:
        problems.append(f"{item['name']}: torch has {dtype}{shape}, "
                        f"we wrote {item['dtype']}{item['shape']}")
    elif data != written[item["kept"]]:
        problems.append(f"{item['name']}: the bytes differ from torch's tensor")
compared = len(request["tensors"]) + len(request["aliases"])
finish({"status": "mismatch" if problems else "match", "compared": compared,
        "problems": problems[:20]})
"""


@dataclass(frozen=True)
class TorchCheck:
    status: str
    compared: int = 0
    detail: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "compared": self.compared, "detail": self.detail}


def torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None


def require_torch() -> None:
    if not torch_available():
        raise InputError(
            "--verify-with-torch needs torch, which is not installed here",
            hint="pip install torch (CPU is enough), or drop the option",
        )


def cross_check(
    source: Path,
    output: Path,
    items: list[dict[str, Any]],
    aliases: list[dict[str, Any]],
    *,
    timeout: float | None = None,
) -> TorchCheck:
    """Compare ``output`` with torch's reading of ``source``; items come from :func:`item`."""
    request = {"source": str(source), "output": str(output), "tensors": items, "aliases": aliases}
    completed = subprocess.run(
        [sys.executable, "-I", "-c", _SCRIPT],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    try:
        answer = json.loads(completed.stdout)
    except json.JSONDecodeError:
        tail = (completed.stderr or "").strip().splitlines()[-1:] or ["no output"]
        return TorchCheck(CANNOT_LOAD, 0, f"the torch process failed: {tail[0][:300]}")
    problems = answer.get("problems") or []
    return TorchCheck(
        answer["status"],
        int(answer.get("compared", 0)),
        answer.get("detail") or ("; ".join(problems) if problems else None),
    )


def item(
    name: str,
    kept: str,
    path: tuple[object, ...],
    dtype: str,
    shape: tuple[int, ...],
    swap: int,
    numpy: bool,
) -> dict[str, Any]:
    """One tensor to compare: where torch's value is, what we wrote, and how torch orders bytes."""
    keys = [{"i": k} if isinstance(k, int) and not isinstance(k, bool) else {"s": k} for k in path]
    return {
        "name": name,
        "kept": kept,
        "path": keys,
        "dtype": dtype,
        "shape": list(shape),
        "swap": swap,
        "numpy": numpy,
    }
