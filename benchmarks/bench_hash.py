"""Benchmark: hashing a model, supplychain vs model-signing 1.1.1 vs openssl, side by side.

Makes its own data (a multi-file model of ~2 GB and one 2 GB file, random
bytes), warms the page cache, then runs every tool several times and prints
medians and ratios:

  python benchmarks/bench_hash.py                 # 2 GB sets, 5 runs each
  python benchmarks/bench_hash.py --size-mb 256   # quick check
  python benchmarks/bench_hash.py --json out.json

Needs model-signing (the `test` extra) and `openssl` on PATH.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

MB = 1_000_000


def generate(root: Path, total_mb: int) -> tuple[Path, Path]:
    """A multi-file model (weights shards + small files) and a single big file."""
    multi = root / "multi"
    single = root / "single.bin"
    if not multi.exists():
        multi.mkdir(parents=True)
        shards = 8
        chunk = os.urandom(4 * MB)
        for i in range(shards):
            _fill(
                multi / f"model-{i + 1:05d}-of-{shards:05d}.safetensors", total_mb // shards, chunk
            )
        (multi / "config.json").write_text('{"model_type": "bench"}')
        (multi / "tokenizer").mkdir()
        (multi / "tokenizer" / "vocab.json").write_bytes(os.urandom(2 * MB))
        (multi / "tokenizer.json").write_bytes(os.urandom(MB))
        (multi / "README.md").write_text("# bench\n")
    if not single.exists():
        _fill(single, total_mb, os.urandom(4 * MB))
    # Keep the cache's "recently modified" rule from hiding the cached run.
    time.sleep(1.2)
    return multi, single


def _fill(path: Path, size_mb: int, chunk: bytes) -> None:
    remaining = size_mb * MB
    with open(path, "wb") as handle:
        while remaining:
            piece = chunk[: min(len(chunk), remaining)]
            handle.write(piece)
            remaining -= len(piece)


def warm(paths: list[Path]) -> None:
    for path in paths:
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        for file in files:
            with open(file, "rb") as handle:
                while handle.read(16 * MB):
                    pass


def timed(
    command: list[str] | Callable[[], object], runs: int, cwd: Path | None = None
) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        if callable(command):
            command()
        else:
            subprocess.run(
                command, check=True, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        times.append(time.perf_counter() - start)
    return times


def ec_key(directory: Path) -> Path:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    path = directory / "key.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mb", type=int, default=2000, help="size of each data set (MB)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--data-dir", type=Path, help="reuse/keep generated data here")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    # An installed wheel ships compiled bytecode; an editable checkout run with
    # PYTHONDONTWRITEBYTECODE would recompile on every start. Measure the former.
    import compileall

    compileall.compile_dir(Path(__file__).resolve().parents[1] / "supplychain", quiet=1)
    tmp = Path(tempfile.mkdtemp(prefix="bench-hash-"))
    data_dir = args.data_dir or tmp / "data"
    try:
        multi, single = generate(data_dir, args.size_mb)
        warm([multi, single])
        key = ec_key(tmp)
        ours = [sys.executable, "-m", "supplychain", "hash"]
        theirs = [sys.executable, "-m", "model_signing"]
        multi_files = sorted(str(p) for p in multi.rglob("*") if p.is_file())

        import model_signing

        def ms_inprocess(path: Path) -> Callable[[], object]:
            return lambda: model_signing.hashing.Config().hash(path)

        rows: dict[str, dict[str, float]] = {}

        def record(name: str, times: list[float], size: int) -> None:
            median = statistics.median(times)
            rows[name] = {
                "median_s": median,
                "min_s": min(times),
                "max_s": max(times),
                "gb_per_s": size / 1e9 / median,
            }
            print(f"  {name:<52} {median:8.3f} s  ({size / 1e9 / median:5.2f} GB/s)", flush=True)

        multi_size = sum(os.path.getsize(p) for p in multi_files)
        single_size = single.stat().st_size
        print(
            f"multi-file set: {len(multi_files)} files, {multi_size / 1e9:.2f} GB; "
            f"single file {single_size / 1e9:.2f} GB; {args.runs} runs each; medians"
        )
        print("multi-file model")
        record(
            "multi: supplychain hash (CLI, sha256)",
            timed([*ours, str(multi)], args.runs),
            multi_size,
        )
        record(
            "multi: model_signing sign key (CLI, sha256)",
            timed(
                [*theirs, "sign", "key", "--private_key", str(key), str(multi)], args.runs, cwd=tmp
            ),
            multi_size,
        )
        record(
            "multi: model-signing in-process hashing",
            timed(ms_inprocess(multi), args.runs),
            multi_size,
        )
        record(
            "multi: openssl dgst -sha256 (sequential)",
            timed(["openssl", "dgst", "-sha256", *multi_files], args.runs),
            multi_size,
        )
        record(
            "multi: supplychain hash --cache, unchanged",
            (
                timed([*ours, "--cache", str(multi)], 1),
                timed([*ours, "--cache", str(multi)], args.runs),
            )[1],
            multi_size,
        )
        print("single big file")
        record(
            "single: supplychain hash (CLI, sha256)",
            timed([*ours, str(single)], args.runs),
            single_size,
        )
        record(
            "single: supplychain hash (CLI, blake3)",
            timed([*ours, "-a", "blake3", str(single)], args.runs),
            single_size,
        )
        record(
            "single: openssl dgst -sha256",
            timed(["openssl", "dgst", "-sha256", str(single)], args.runs),
            single_size,
        )
        record(
            "single: model_signing sign key (CLI, sha256)",
            timed(
                [*theirs, "sign", "key", "--private_key", str(key), str(single)], args.runs, cwd=tmp
            ),
            single_size,
        )

        def ratio(a: str, b: str) -> float:
            return rows[b]["median_s"] / rows[a]["median_s"]

        print("ratios (>1 means supplychain is faster)")
        ours_multi, ours_single = (
            "multi: supplychain hash (CLI, sha256)",
            "single: supplychain hash (CLI, sha256)",
        )
        summary = {
            "multi: vs model_signing sign key": ratio(
                ours_multi, "multi: model_signing sign key (CLI, sha256)"
            ),
            "multi: vs model-signing in-process hashing": ratio(
                ours_multi, "multi: model-signing in-process hashing"
            ),
            "multi: vs openssl sequential": ratio(
                ours_multi, "multi: openssl dgst -sha256 (sequential)"
            ),
            "single sha256: vs openssl (1 core)": ratio(
                ours_single, "single: openssl dgst -sha256"
            ),
            "single blake3: vs openssl sha256": ratio(
                "single: supplychain hash (CLI, blake3)", "single: openssl dgst -sha256"
            ),
            "single: vs model_signing sign key": ratio(
                ours_single, "single: model_signing sign key (CLI, sha256)"
            ),
        }
        for name, value in summary.items():
            print(f"  {name:<52} {value:6.2f}x")
        cached = rows["multi: supplychain hash --cache, unchanged"]["median_s"]
        print(f"  cached re-hash of the unchanged multi-file model: {cached:.3f} s")
        if args.json:
            args.json.write_text(json.dumps({"rows": rows, "ratios": summary}, indent=2))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
