"""Benchmark: the full deployment gate vs model-signing's verify alone, on the same 2 GB model.

`supplychain check` runs every check of a strict policy (layout, signature,
integrity, safety scan, formats, licences, AI-BOM hashes, remote code);
`model_signing verify key` checks the signature and integrity only. Both are
timed end to end as processes, medians of several alternated runs, with CPU
seconds (robust when other jobs share the machine).

  python benchmarks/bench_gate.py                   # 2000 MB, 5 runs each
  python benchmarks/bench_gate.py --size-mb 200 --runs 3

Needs model-signing (the `test` extra).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Timing, generate_model, load_average, run_timed, warm

POLICY = """version: 1
name: bench-strict
use: commercial
signature:
  signers:
    - public_key: {public_key}
scan: {{fail_on: high}}
formats: {{allow_pickle: false}}
licenses: {{allow_classes: [permissive]}}
bom: {{verify_hashes: true}}
remote_code: {{allowed: false}}
"""


def prepare(root: Path, size_mb: int) -> tuple[Path, Path, Path, Path]:
    model = root / "model"
    generate_model(model, size_mb)
    supplychain = [sys.executable, "-m", "supplychain", "-q"]
    subprocess.run(
        [*supplychain, "keygen", "--no-passphrase", str(root / "release")],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    subprocess.run([*supplychain, "bom", str(model), "-o", str(model / "bom.cdx.json")], check=True)
    signature = model / "model.sig"
    subprocess.run(
        [*supplychain, "sign", str(model), "--key", str(root / "release.key")],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    policy = root / "policy.yaml"
    policy.write_text(POLICY.format(public_key=root / "release.pub"))
    return model, signature, root / "release.pub", policy


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mb", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="bench-gate-"))
    try:
        model, signature, public_key, policy = prepare(root, args.size_mb)
        size = sum(p.stat().st_size for p in model.rglob("*") if p.is_file())
        warm(model)
        ours = [
            sys.executable,
            "-m",
            "supplychain",
            "-q",
            "check",
            str(model),
            "--policy",
            str(policy),
        ]
        verify_ours = [
            sys.executable,
            "-m",
            "supplychain",
            "-q",
            "verify",
            str(model),
            "--public-key",
            str(public_key),
        ]
        theirs = [
            sys.executable,
            "-m",
            "model_signing",
            "verify",
            "key",
            "--signature",
            str(signature),
            "--public_key",
            str(public_key),
            str(model),
        ]
        subprocess.run(ours, check=True, stdout=subprocess.DEVNULL)  # the gate must allow it
        results: dict[str, Timing] = {}
        names = ["supplychain check (full gate)", "supplychain verify", "model_signing verify key"]
        commands = [ours, verify_ours, theirs]
        per_tool: dict[str, list[Timing]] = {n: [] for n in names}
        for _ in range(args.runs):  # alternate the tools so load hits them alike
            for name, command in zip(names, commands, strict=True):
                per_tool[name].append(run_timed(command, 1))
        for name in names:
            runs = per_tool[name]
            results[name] = Timing([t.wall[0] for t in runs], [t.cpu[0] for t in runs])
        print(f"{size / 1e9:.2f} GB model, {args.runs} runs each, load average {load_average()}")
        for name, timing in results.items():
            print(
                f"  {name:<32} median {timing.median:6.3f} s  best {timing.best:6.3f} s  "
                f"CPU {timing.cpu_median:6.3f} s"
            )
        gate, theirs_t = results[names[0]], results[names[2]]
        print(
            f"  full gate vs model-signing verify alone: {theirs_t.median / gate.median:.2f}x "
            f"(wall, median), {theirs_t.cpu_median / gate.cpu_median:.2f}x (CPU)"
        )
        if args.json:
            args.json.write_text(
                json.dumps(
                    {
                        n: {"median_s": t.median, "best_s": t.best, "cpu_s": t.cpu_median}
                        for n, t in results.items()
                    },
                    indent=2,
                )
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
