"""Benchmark: pickle -> safetensors conversion, supplychain vs the reference path.

The reference is what Hugging Face's convert.py does at its core:
``torch.load(weights_only=True)`` + ``.contiguous()`` +
``safetensors.torch.save_file(..., metadata={"format": "pt"})``, run in its
own process. Ours is ``supplychain convert`` (scan, torch-free parse,
streaming copy, SHA-256 of the output, self-check, fsync), also in its own
process. Both convert the same torch-saved checkpoint (default: 8 float32
tensors of 8192x4096 = 1 GiB, as in convert.md §6); wall time and peak RSS
(``wait4`` of each child) are reported side by side with their ratios, and
the two outputs are compared byte for byte.

    python benchmarks/bench_convert.py                  # 1 GiB, 3 runs each
    python benchmarks/bench_convert.py --size-mb 64 --runs 2
    python benchmarks/bench_convert.py --cold           # evict the source from the page cache

Needs torch (to make the checkpoint and run the reference). Data goes to
/tmp/convert-bench (or --workdir) and is deleted afterwards.
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

ROWS = 8192
GENERATE = r"""
import sys, torch
count, rows, cols = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
torch.manual_seed(0)
state = {f"layers.{i}.weight": torch.randn(rows, cols) for i in range(count)}
torch.save(state, sys.argv[1])
"""
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


def run_child(argv: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of one child process."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
    if process.returncode != 0:
        raise SystemExit(f"{argv[:4]} failed with {process.returncode}:\n{stderr}")
    return elapsed, usage.ru_maxrss * 1024


def evict(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def summary(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="checkpoint size (MiB)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/convert-bench"))
    parser.add_argument("--cold", action="store_true", help="evict the source before each run")
    parser.add_argument("--keep", action="store_true", help="keep the generated data")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    workdir: Path = args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    source = workdir / "pytorch_model.bin"
    ours_out = workdir / "ours.safetensors"
    reference_out = workdir / "reference.safetensors"
    count, rows, cols = shape_for(args.size_mb)
    try:
        print(f"generating {count} float32 tensors of {rows}x{cols} with torch ...", flush=True)
        subprocess.run(
            [sys.executable, "-c", GENERATE, str(source), str(count), str(rows), str(cols)],
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
            "supplychain": {"seconds": [], "rss": []},
            "reference": {"seconds": [], "rss": []},
        }
        for run in range(args.runs):
            for name, argv, out in (
                ("supplychain", ours_cmd, ours_out),
                ("reference", reference_cmd, reference_out),
            ):
                out.unlink(missing_ok=True)
                if args.cold:
                    evict(source)
                seconds, rss = run_child(argv)
                results[name]["seconds"].append(seconds)
                results[name]["rss"].append(rss)
                print(
                    f"run {run + 1} {name:12s} {seconds:6.2f} s  peak RSS {rss / 2**20:7.1f} MiB",
                    flush=True,
                )
        identical = ours_out.read_bytes() == reference_out.read_bytes() if size < 2**31 else None
        ours_t = summary(results["supplychain"]["seconds"])
        ref_t = summary(results["reference"]["seconds"])
        ours_m = summary(results["supplychain"]["rss"])
        ref_m = summary(results["reference"]["rss"])
        print(
            f"\ncheckpoint: {size / 2**20:.0f} MiB ({count} x {rows}x{cols} float32), "
            f"{args.runs} runs each, {'cold' if args.cold else 'warm'} page cache"
        )
        print(f"{'':14s}{'wall median (min-max)':>28s}{'peak RSS median':>20s}")
        for label, t, m in (("supplychain", ours_t, ours_m), ("reference", ref_t, ref_m)):
            print(
                f"{label:14s}{t['median']:10.2f} s ({t['min']:.2f}-{t['max']:.2f}){'':5s}"
                f"{m['median'] / 2**20:12.1f} MiB"
            )
        speedup = ref_t["median"] / ours_t["median"]
        memory = ours_m["median"] / ref_m["median"]
        print(
            f"speed-up: {speedup:.1f}x faster (goal >= 4x); memory: {memory:.3f} of the "
            f"reference's peak (goal <= 0.1); outputs byte-identical: {identical}"
        )
        if args.json:
            args.json.write_text(
                json.dumps(
                    {
                        "size_bytes": size,
                        "runs": args.runs,
                        "cold": args.cold,
                        "supplychain": {"seconds": ours_t, "rss_bytes": ours_m},
                        "reference": {"seconds": ref_t, "rss_bytes": ref_m},
                        "speedup": speedup,
                        "memory_ratio": memory,
                        "identical": identical,
                    },
                    indent=2,
                )
            )
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
