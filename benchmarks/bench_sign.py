"""Benchmark: OMS sign and verify (key method), supplychain vs model-signing 1.1.1 CLI.

Generates a multi-file model (~2 GB by default: eight weight shards plus
tokenizer and config files) under /tmp/signing-bench, warms the page cache,
then alternates the two tools' CLIs end to end (process start-up included) and
prints medians, best runs, CPU seconds (robust when other jobs share the
machine), the verification call alone (imports excluded) and ratios. Each tool
also verifies the other's signature once, so the figures are for signatures
both accept.

  python benchmarks/bench_sign.py                  # 2000 MB, 5 runs each
  python benchmarks/bench_sign.py --size-mb 200 --runs 3
  python benchmarks/bench_sign.py --json sign.json

Needs model-signing (the `test` extra). Goal: verify at least 1.5x faster.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

MB = 1_000_000
SHARDS = 8


def generate(model: Path, total_mb: int) -> int:
    """Write the model (if absent); returns its size in bytes."""
    if not model.exists():
        model.mkdir(parents=True)
        chunk = os.urandom(4 * MB)
        for i in range(SHARDS):
            _fill(
                model / f"model-{i + 1:05d}-of-{SHARDS:05d}.safetensors",
                total_mb * MB // SHARDS,
                chunk,
            )
        (model / "tokenizer").mkdir()
        (model / "tokenizer" / "vocab.json").write_bytes(os.urandom(2 * MB))
        (model / "tokenizer.json").write_bytes(os.urandom(MB))
        (model / "config.json").write_text('{"model_type": "bench"}')
        (model / "README.md").write_text("# bench\n")
    return sum(p.stat().st_size for p in model.rglob("*") if p.is_file())


def _fill(path: Path, size: int, chunk: bytes) -> None:
    with open(path, "wb") as handle:
        while size:
            piece = chunk[: min(len(chunk), size)]
            handle.write(piece)
            size -= len(piece)


def warm(model: Path) -> None:
    for path in model.rglob("*"):
        if path.is_file():
            with open(path, "rb") as handle:
                while handle.read(16 * MB):
                    pass


def compile_bytecode() -> None:
    """Byte-compile supplychain as an installed wheel would be.

    An editable checkout run with PYTHONDONTWRITEBYTECODE recompiles every
    module on each start (~25 ms); model-signing's installed files are compiled.
    """
    import compileall

    import supplychain

    compileall.compile_dir(Path(supplychain.__file__).parent, quiet=1)


def key_pair(directory: Path) -> tuple[Path, Path]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    private, public = directory / "key.pem", directory / "key.pub"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


def run(command: list[str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child): CPU time is robust to a busy machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(
            f"failed ({done.returncode}): {' '.join(command)}\n{done.stdout}{done.stderr}"
        )
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


#: Time only the verification call, imports excluded: shows where the difference is.
OURS_INNER = """
import sys, time
from supplychain.signing import KeyVerifier, verify
verifier = KeyVerifier.from_file(sys.argv[3])
start = time.perf_counter()
verify(sys.argv[1], sys.argv[2], verifier, progress=False)
print(time.perf_counter() - start)
"""
THEIRS_INNER = """
import sys, time
import model_signing
config = model_signing.verifying.Config().use_elliptic_key_verifier(public_key=sys.argv[3])
start = time.perf_counter()
config.verify(sys.argv[1], sys.argv[2])
print(time.perf_counter() - start)
"""


def inner(snippet: str, *args: Path) -> float:
    done = subprocess.run(
        [sys.executable, "-c", snippet, *map(str, args)], capture_output=True, text=True, check=True
    )
    return float(done.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mb", type=int, default=2000, help="model size in MB (default 2000)")
    parser.add_argument("--runs", type=int, default=5, help="runs per command (median reported)")
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/signing-bench"))
    parser.add_argument("--keep", action="store_true", help="keep the generated data")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    work = args.data_dir
    model = work / f"model-{args.size_mb}mb"
    try:
        work.mkdir(parents=True, exist_ok=True)
        size = generate(model, args.size_mb)
        warm(model)
        compile_bytecode()
        private, public = key_pair(work)
        ours_sig, theirs_sig = work / "ours.sig", work / "theirs.sig"
        ours = [sys.executable, "-m", "supplychain", "-q"]
        theirs = [sys.executable, "-m", "model_signing"]
        commands = {
            "sign: supplychain": [
                *ours,
                "sign",
                str(model),
                "--key",
                str(private),
                "-s",
                str(ours_sig),
            ],
            "sign: model_signing": [
                *theirs,
                "sign",
                "key",
                str(model),
                "--private_key",
                str(private),
                "--signature",
                str(theirs_sig),
            ],
            "verify: supplychain": [
                *ours,
                "verify",
                str(model),
                "-s",
                str(ours_sig),
                "--public-key",
                str(public),
            ],
            "verify: model_signing": [
                *theirs,
                "verify",
                "key",
                str(model),
                "--signature",
                str(theirs_sig),
                "--public_key",
                str(public),
            ],
        }
        files = sum(1 for p in model.rglob("*") if p.is_file())
        print(
            f"model: {files} files, {size / 1e9:.2f} GB (page cache warm); "
            f"{args.runs} runs, medians"
        )
        walls: dict[str, list[float]] = {name: [] for name in commands}
        cpus: dict[str, list[float]] = {name: [] for name in commands}
        inside: dict[str, list[float]] = {"supplychain": [], "model_signing": []}
        for _ in range(args.runs):  # alternate tools so background load hits both alike
            for name, command in commands.items():
                wall, cpu = run(command, work)
                walls[name].append(wall)
                cpus[name].append(cpu)
            inside["supplychain"].append(inner(OURS_INNER, model, ours_sig, public))
            inside["model_signing"].append(inner(THEIRS_INNER, model, theirs_sig, public))
        # Interop check on the benchmark data: each tool accepts the other's signature.
        run([*ours, "verify", str(model), "-s", str(theirs_sig), "--public-key", str(public)], work)
        run(
            [
                *theirs,
                "verify",
                "key",
                str(model),
                "--signature",
                str(ours_sig),
                "--public_key",
                str(public),
            ],
            work,
        )
        print("  cross-check: each tool verified the other's signature")

        rows = {}
        for name, values in walls.items():
            median, cpu = statistics.median(values), statistics.median(cpus[name])
            rows[name] = {
                "median_s": median,
                "min_s": min(values),
                "max_s": max(values),
                "cpu_s": cpu,
                "gb_per_s": size / 1e9 / median,
            }
            print(
                f"  {name:<24} {median:7.3f} s  ({size / 1e9 / median:5.2f} GB/s)"
                f"  [min {min(values):.3f}, max {max(values):.3f}]  CPU {cpu:.3f} s"
            )
        for tool, values in inside.items():
            rows[f"verify in-process (no start-up): {tool}"] = {
                "median_s": statistics.median(values)
            }
            print(f"  verify call alone, {tool:<14} {statistics.median(values):7.3f} s")
        ratios = {}
        for step in ("sign", "verify"):
            theirs_row, ours_row = rows[f"{step}: model_signing"], rows[f"{step}: supplychain"]
            ratios[step] = theirs_row["median_s"] / ours_row["median_s"]
            ratios[f"{step} (best run)"] = theirs_row["min_s"] / ours_row["min_s"]
            ratios[f"{step} (CPU time)"] = theirs_row["cpu_s"] / ours_row["cpu_s"]
        ratios["verify call alone"] = (
            rows["verify in-process (no start-up): model_signing"]["median_s"]
            / rows["verify in-process (no start-up): supplychain"]["median_s"]
        )
        print("ratios (model_signing / supplychain; >1 means supplychain is faster)")
        for step, value in ratios.items():
            goal = ""
            if step == "verify":
                goal = "  (goal >= 1.5x: " + ("met)" if value >= 1.5 else "NOT met)")
            print(f"  {step:<24} {value:6.2f}x{goal}")
        load = os.getloadavg()[0]
        print(f"load average during the run: {load:.2f} (figures are noisy above ~0.5)")
        if args.json:
            args.json.write_text(
                json.dumps(
                    {
                        "bytes": size,
                        "files": files,
                        "runs": args.runs,
                        "rows": rows,
                        "ratios": ratios,
                        "load_average": load,
                    },
                    indent=2,
                )
            )
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
