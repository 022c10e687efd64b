"""Benchmark: pickle -> safetensors conversion, supplychain vs the reference path.

The reference is what Hugging Face's convert.py does at its core:
``torch.load(weights_only=True)`` + ``.contiguous()`` +
``safetensors.torch.save_file(..., metadata={"format": "pt"})``, run in its
own process. Ours is ``supplychain convert`` (scan, torch-free parse, one
read of the source for its SHA-256 and the copy, SHA-256 of the output as it
is read back, self-check, fsync), also in its own process. Both convert the
same torch-saved checkpoint (default: 8 float32 tensors of 8192x4096 =
1 GiB, as in convert.md §6), once in the zip format and once in the legacy
format (``_use_new_zipfile_serialization=False``). Wall time, CPU time (user
+ system) and peak RSS (``wait4`` of each child) are reported side by side
with their ratios, and the two outputs are compared byte for byte.

    python benchmarks/bench_convert.py                  # 1 GiB zip + legacy, 3 runs each
    python benchmarks/bench_convert.py --size-mb 64 --runs 2 --formats zip
    python benchmarks/bench_convert.py --cold           # evict the source from the page cache

Wall-time ratios depend on the machine's load: on a busy machine both sides
are CPU-bound and the ratio tends to the CPU-time ratio; the load average is
printed before and after. Needs torch (to make the checkpoints and run the
reference). Data goes to /tmp/convert-bench (or --workdir) and is deleted
afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROWS = 8192
GENERATE = r"""
import sys, torch
count, rows, cols = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
torch.manual_seed(0)
state = {f"layers.{i}.weight": torch.randn(rows, cols) for i in range(count)}
torch.save(state, sys.argv[1], _use_new_zipfile_serialization=sys.argv[5] == "zip")
"""
FORMATS = ("zip", "legacy")
REFERENCE = r"""
import sys, torch
from safetensors.torch import save_file
loaded = torch.load(sys.argv[1], map_location="cpu", weights_only=True)
loaded = {k: v.contiguous() for k, v in loaded.items()}
save_file(loaded, sys.argv[2], metadata={"format": "pt"})
"""


def shape_for(size_mb: int) -> tuple[int, int, int]:
    """(tensors, rows, cols) of float32 tensors adding up to ``size_mb`` MiB (8 if possible)."""
    total = size_mb << 20
    count = 8 if size_mb >= 8 else 1
    cols = max(1, total // (count * ROWS * 4))
    return count, ROWS, cols


def run_child(argv: list[str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (bytes) of one child process."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
    if process.returncode != 0:
        raise SystemExit(f"{argv[:4]} failed with {process.returncode}:\n{stderr}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024


def same_bytes(a: Path, b: Path) -> bool:
    """Compare two files in chunks (reading them whole would raise this process's RSS, which
    every later child inherits in its peak RSS figure)."""
    with a.open("rb") as left, b.open("rb") as right:
        while True:
            x, y = left.read(16 << 20), right.read(16 << 20)
            if x != y:
                return False
            if not x:
                return True


def evict(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def summary(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def bench_format(args: argparse.Namespace, fmt: str) -> dict[str, Any]:
    """Make one checkpoint, convert it ``args.runs`` times each way; print and return results."""
    workdir: Path = args.workdir
    source = workdir / f"pytorch_model.{fmt}.bin"
    ours_out = workdir / "ours.safetensors"
    reference_out = workdir / "reference.safetensors"
    count, rows, cols = shape_for(args.size_mb)
    print(
        f"\n[{fmt}] generating {count} float32 tensors of {rows}x{cols} with torch ...", flush=True
    )
    subprocess.run(
        [sys.executable, "-c", GENERATE, str(source), str(count), str(rows), str(cols), fmt],
        check=True,
    )
    size = source.stat().st_size
    ours_cmd = [
        sys.executable,
        "-m",
        "supplychain",
        "-q",
        "convert",
        str(source),
        "-o",
        str(ours_out),
        "--overwrite",
    ]
    reference_cmd = [sys.executable, "-c", REFERENCE, str(source), str(reference_out)]
    results: dict[str, dict[str, list[float]]] = {
        name: {"seconds": [], "cpu": [], "rss": []} for name in ("supplychain", "reference")
    }
    print(f"[{fmt}] load average before: {load()}", flush=True)
    for run in range(args.runs):
        for name, argv, out in (
            ("supplychain", ours_cmd, ours_out),
            ("reference", reference_cmd, reference_out),
        ):
            out.unlink(missing_ok=True)
            if args.cold:
                evict(source)
            # start each run with nothing waiting to be written (the reference never syncs: its
            # output, or the generator's, would otherwise be flushed during the next run)
            os.sync()
            seconds, cpu, rss = run_child(argv)
            for key, value in (("seconds", seconds), ("cpu", cpu), ("rss", rss)):
                results[name][key].append(value)
            print(
                f"[{fmt}] run {run + 1} {name:12s} {seconds:6.2f} s  cpu {cpu:6.2f} s  "
                f"peak RSS {rss / 2**20:7.1f} MiB",
                flush=True,
            )
    identical = same_bytes(ours_out, reference_out)
    source.unlink()
    stats = {name: {k: summary(v) for k, v in r.items()} for name, r in results.items()}
    ours, ref = stats["supplychain"], stats["reference"]
    print(
        f"[{fmt}] checkpoint: {size / 2**20:.0f} MiB ({count} x {rows}x{cols} float32), "
        f"{args.runs} runs each, {'cold' if args.cold else 'warm'} page cache, "
        f"load average after: {load()}"
    )
    print(f"{'':14s}{'wall median (min-max)':>26s}{'cpu median':>14s}{'peak RSS median':>20s}")
    for label, t in (("supplychain", ours), ("reference", ref)):
        print(
            f"{label:14s}{t['seconds']['median']:9.2f} s ({t['seconds']['min']:.2f}-"
            f"{t['seconds']['max']:.2f}){t['cpu']['median']:12.2f} s"
            f"{t['rss']['median'] / 2**20:16.1f} MiB"
        )
    speedup = ref["seconds"]["median"] / ours["seconds"]["median"]
    cpu_ratio = ref["cpu"]["median"] / ours["cpu"]["median"]
    memory = ours["rss"]["median"] / ref["rss"]["median"]
    print(
        f"[{fmt}] speed-up: {speedup:.1f}x faster (goal >= 4x; CPU time {cpu_ratio:.1f}x less); "
        f"memory: {memory:.3f} of the reference's peak (goal <= 0.1); "
        f"outputs byte-identical: {identical}",
        flush=True,
    )
    return {
        "size_bytes": size,
        "supplychain": ours,
        "reference": ref,
        "speedup": speedup,
        "cpu_ratio": cpu_ratio,
        "memory_ratio": memory,
        "identical": identical,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="checkpoint size (MiB)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--formats", default=",".join(FORMATS), help="comma-separated: zip, legacy (default both)"
    )
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/convert-bench"))
    parser.add_argument("--cold", action="store_true", help="evict the source before each run")
    parser.add_argument("--keep", action="store_true", help="keep the generated data")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        parser.error(f"unknown format(s): {', '.join(unknown)}")
    args.workdir.mkdir(parents=True, exist_ok=True)
    try:
        report = {fmt: bench_format(args, fmt) for fmt in formats}
        print("\nsummary:")
        for fmt, r in report.items():
            print(f"  {fmt:7s} {r['speedup']:.1f}x faster, {r['memory_ratio']:.3f} of the memory")
        if args.json:
            payload = {"runs": args.runs, "cold": args.cold, "formats": report}
            args.json.write_text(json.dumps(payload, indent=2))
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(args.workdir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
