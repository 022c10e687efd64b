"""Shared benchmark helpers: realistic model data, page-cache warming, timed child processes."""

from __future__ import annotations

import json
import os
import resource
import statistics
import struct
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

MB = 1_000_000
SHARDS = 8

CARD = """---
license: apache-2.0
library_name: transformers
pipeline_tag: text-generation
base_model: bench/base
datasets:
- bench/corpus
---
# bench model

A generated model for supplychain benchmarks.
"""


def write_safetensors(path: Path, size: int, chunk: bytes) -> None:
    """A valid safetensors file of about ``size`` bytes: one F32 tensor of random data."""
    elements = max(1, (size - 256) // 4)
    header = json.dumps(
        {
            "__metadata__": {"format": "pt"},
            "weight": {"dtype": "F32", "shape": [elements], "data_offsets": [0, elements * 4]},
        },
        separators=(",", ":"),
    ).encode()
    header += b" " * (-len(header) % 8)
    with open(path, "wb") as handle:
        handle.write(struct.pack("<Q", len(header)))
        handle.write(header)
        remaining = elements * 4
        while remaining:
            piece = chunk[: min(len(chunk), remaining)]
            handle.write(piece)
            remaining -= len(piece)


def generate_model(model: Path, total_mb: int, *, shards: int = SHARDS) -> int:
    """A Hugging Face-shaped model (weight shards, tokenizer, config, card); returns its size."""
    if not model.exists():
        model.mkdir(parents=True)
        chunk = os.urandom(4 * MB)
        for i in range(shards):
            name = f"model-{i + 1:05d}-of-{shards:05d}.safetensors"
            write_safetensors(model / name, total_mb * MB // shards, chunk)
        (model / "tokenizer").mkdir()
        (model / "tokenizer" / "vocab.json").write_text(
            json.dumps({f"t{i}": i for i in range(50_000)})
        )
        (model / "tokenizer.json").write_text(
            json.dumps({"version": "1.0", "model": {"type": "BPE"}})
        )
        (model / "config.json").write_text(
            json.dumps({"architectures": ["BenchForCausalLM"], "model_type": "bench"})
        )
        (model / "README.md").write_text(CARD)
        # Files written just now are "racily clean" for the hash cache for a second.
        time.sleep(1.2)
    return sum(p.stat().st_size for p in model.rglob("*") if p.is_file())


def warm(*paths: Path) -> None:
    """Read everything once so runs compare CPU work, not the disk."""
    for path in paths:
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in files:
            with open(file, "rb") as handle:
                while handle.read(16 * MB):
                    pass


@dataclass(frozen=True)
class Timing:
    wall: list[float]
    cpu: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.wall)

    @property
    def best(self) -> float:
        return min(self.wall)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)


def run_timed(
    command: Sequence[str] | Callable[[], object],
    runs: int,
    *,
    cwd: Path | None = None,
    ok_codes: Sequence[int] = (0,),
) -> Timing:
    """Wall and CPU seconds (children included) of ``runs`` executions."""
    wall, cpu = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        self_before = resource.getrusage(resource.RUSAGE_SELF)
        start = time.perf_counter()
        if callable(command):
            command()
        else:
            done = subprocess.run(
                list(command), cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
            if done.returncode not in ok_codes:
                raise RuntimeError(
                    f"{' '.join(command)} exited {done.returncode}: "
                    f"{done.stderr.decode(errors='replace')[-2000:]}"
                )
        wall.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        self_after = resource.getrusage(resource.RUSAGE_SELF)
        cpu.append(
            after.ru_utime
            + after.ru_stime
            - before.ru_utime
            - before.ru_stime
            + self_after.ru_utime
            + self_after.ru_stime
            - self_before.ru_utime
            - self_before.ru_stime
        )
    return Timing(wall, cpu)


def load_average() -> str:
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"
