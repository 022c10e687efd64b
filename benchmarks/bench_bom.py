"""Benchmark: time to write an AI-BOM of a large model directory, beside the peer and the floor.

Generates a Hugging Face-like repository of N files totalling S bytes (valid
safetensors shards, pickles, configs, code, docs, a card with front matter),
warms the page cache, then times, with medians over several runs:

  - supplychain bom DIR -o out.cdx.json       (us: hash, sniff, headers, card, validate, write)
  - supplychain hash DIR                      (floor: our hashing engine alone, same read)
  - sha256sum FILES...                        (floor: coreutils, one thread)
  - aisbom scan DIR --offline                 (peer, when installed: Lab700x aisbom-cli, the one
                                               AI-BOM generator on PyPI that runs offline on a
                                               local directory; the OWASP aibom-generator is not
                                               on PyPI and needs the Hub)

  python benchmarks/bench_bom.py                        # 2,000 files, 2 GB, 3 runs
  python benchmarks/bench_bom.py --files 200 --size-mb 100 --runs 1   # quick check
  python benchmarks/bench_bom.py --aisbom /path/to/venv/bin/aisbom --json figures.json

aisbom has dependencies that conflict with ours; install it in its own venv
(`python -m venv /tmp/aisbom && /tmp/aisbom/bin/pip install aisbom-cli`) and pass
--aisbom, or put it on PATH. Data goes to /tmp/bom-bench and is removed afterwards
unless --keep is given.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path

MB = 1_000_000
CARD = """---
license: apache-2.0
base_model: meta-llama/Meta-Llama-3-8B
base_model_relation: finetune
datasets: [acme/support-tickets]
pipeline_tag: text-generation
---
# bench-model

A generated repository for timing AI-BOM generation on many files.
"""


def generate(root: Path, files: int, size_mb: int) -> list[Path]:
    """Half safetensors shards carrying almost all bytes; the rest small configs, code, docs."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "README.md").write_text(CARD)
    (root / "config.json").write_text(
        '{"model_type": "llama", "architectures": ["LlamaForCausalLM"]}'
    )
    shards = max(1, files // 2)
    pickles = max(1, files // 100)
    small = max(0, files - shards - pickles - 2)
    small_size = 20_000
    shard_bytes = max(64, (size_mb * MB - small * small_size) // shards)
    chunk = os.urandom(4 * MB)
    for i in range(shards):
        _safetensors(
            root / "weights" / f"model-{i + 1:05d}-of-{shards:05d}.safetensors", shard_bytes, chunk
        )
    for i in range(pickles):
        # Protocol-2 pickle bytes (never loaded): what legacy .bin checkpoints look like.
        (root / "legacy" / f"part-{i:04d}.bin").parent.mkdir(parents=True, exist_ok=True)
        (root / "legacy" / f"part-{i:04d}.bin").write_bytes(b"\x80\x02}q\x00." + chunk[:small_size])
    kinds = (
        ("configs", ".json", b'{"k": "%d"}'),
        ("code", ".py", b"x = %d\n"),
        ("docs", ".md", b"# page %d\n"),
    )
    for i in range(small):
        folder, suffix, template = kinds[i % len(kinds)]
        path = root / folder / f"file-{i:05d}{suffix}"
        path.parent.mkdir(parents=True, exist_ok=True)
        body = template % i
        path.write_bytes(body + b" " * (small_size - len(body)))
    return sorted(p for p in root.rglob("*") if p.is_file())


def _safetensors(path: Path, data_bytes: int, chunk: bytes) -> None:
    header = json.dumps(
        {"w": {"dtype": "U8", "shape": [data_bytes], "data_offsets": [0, data_bytes]}}
    )
    raw = header.encode()
    raw += b" " * (-len(raw) % 8)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(struct.pack("<Q", len(raw)) + raw)
        remaining = data_bytes
        while remaining:
            piece = chunk[: min(len(chunk), remaining)]
            handle.write(piece)
            remaining -= len(piece)


def warm(files: list[Path]) -> None:
    for file in files:
        with open(file, "rb") as handle:
            while handle.read(16 * MB):
                pass


def timed(
    command: list[str], runs: int, env: dict[str, str] | None = None, cwd: Path | None = None
) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            command,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
        )
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=2000, help="number of files")
    parser.add_argument("--size-mb", type=int, default=2000, help="total size (MB)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/bom-bench"))
    parser.add_argument("--keep", action="store_true", help="keep the generated data")
    parser.add_argument("--aisbom", help="aisbom executable (default: on PATH)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    model = args.data_dir / "model"
    out = args.data_dir / "out"
    try:
        if model.exists():
            shutil.rmtree(model)
        out.mkdir(parents=True, exist_ok=True)
        files = generate(model, args.files, args.size_mb)
        total = sum(f.stat().st_size for f in files)
        warm(files)
        print(
            f"{len(files)} files, {total / 1e9:.2f} GB; {args.runs} runs each; medians; "
            f"{os.cpu_count()} CPUs"
        )
        rows: dict[str, dict[str, float]] = {}

        def record(name: str, times: list[float]) -> float:
            median = statistics.median(times)
            rows[name] = {
                "median_s": median,
                "min_s": min(times),
                "max_s": max(times),
                "gb_per_s": total / 1e9 / median,
            }
            print(f"  {name:<44} {median:8.3f} s  ({total / 1e9 / median:5.2f} GB/s)", flush=True)
            return median

        python = [sys.executable, "-m", "supplychain", "-q"]
        ours = record(
            "supplychain bom (CLI, CycloneDX 1.6)",
            timed([*python, "bom", str(model), "-o", str(out / "ours.cdx.json")], args.runs),
        )
        record(
            "supplychain bom --spec-version 1.7",
            timed(
                [
                    *python,
                    "bom",
                    str(model),
                    "-o",
                    str(out / "ours17.cdx.json"),
                    "--spec-version",
                    "1.7",
                ],
                args.runs,
            ),
        )
        hashing = record(
            "floor: supplychain hash (same engine)", timed([*python, "hash", str(model)], args.runs)
        )
        names = [str(f.relative_to(model)) for f in files]
        coreutils = record(
            "floor: sha256sum (coreutils, 1 thread)",
            timed(["sha256sum", *names], args.runs, cwd=model),
        )
        document = json.loads((out / "ours.cdx.json").read_bytes())
        hashed = sum(1 for c in document["metadata"]["component"]["components"] if c.get("hashes"))
        print(
            f"  our BOM: {(out / 'ours.cdx.json').stat().st_size / 1e6:.1f} MB, "
            f"{hashed} file components with SHA-256, "
            f"{len(document.get('vulnerabilities', []))} findings"
        )

        peer = args.aisbom or shutil.which("aisbom")
        peer_median = None
        if peer:
            env = {
                **os.environ,
                "AISBOM_OFFLINE": "1",
                "AISBOM_NO_TELEMETRY": "1",
                "AISBOM_NO_HF_LOOKUP": "1",
                "AISBOM_NO_OSV": "1",
            }
            command = [
                peer,
                "scan",
                str(model),
                "--offline",
                "--no-fail-on-risk",
                "--schema-version",
                "1.6",
                "--output",
                str(out / "aisbom.cdx.json"),
            ]
            peer_median = record(
                "peer: aisbom scan --offline (aisbom-cli)", timed(command, args.runs, env=env)
            )
            theirs = json.loads((out / "aisbom.cdx.json").read_bytes())
            peer_hashed = sum(1 for c in theirs.get("components", []) if c.get("hashes"))
            print(
                f"  aisbom BOM: {peer_hashed} components with hashes "
                f"(it lists model artifacts only, not every file)"
            )
        else:
            print("  peer: aisbom not found (pass --aisbom); compared with the floors only")

        print("ratios (lower is faster)")
        print(f"  bom / our hashing alone      {ours / hashing:5.2f}x")
        print(f"  bom / sha256sum              {ours / coreutils:5.2f}x")
        if peer_median is not None:
            print(f"  aisbom / bom                 {peer_median / ours:5.2f}x")
        if args.json:
            args.json.write_text(
                json.dumps({"files": len(files), "bytes": total, "runs": rows}, indent=2)
            )
    finally:
        if not args.keep:
            shutil.rmtree(args.data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
