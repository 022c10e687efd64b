"""Detection and speed: supplychain scan against picklescan, modelscan, fickling and ModelAudit.

Every tool sees the same files: the corpus the tests build (tests/scanning/scan_corpus.py,
malicious samples with live payloads and benign checkpoints) and the real-world corpus
(tests/realworld: model files shipped in PyPI packages and written by the real libraries,
all benign, cached in $SUPPLYCHAIN_TEST_CACHE), one CLI invocation per file,
as a user or a CI job would run it. A sample is "caught" when the tool's exit code (or, for
ModelAudit gated on critical, its JSON) flags it; a benign sample flagged is a false alarm;
exit codes that mean "error / nothing scanned" are counted separately (never as caught).
Then each tool scans one large torch checkpoint (``--size-gb``) for the time per GB.

Run with the project's venv (torch is needed to build the corpus); peers live in their own
venv, never in the project's dependencies:

    python benchmarks/bench_scan.py --peers /work/venvs/peers/bin --size-gb 1
    python benchmarks/bench_scan.py --tools supplychain --size-gb 0.05   # quick check
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
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "scanning"))
sys.path.insert(0, str(REPO))

import scan_corpus  # noqa: E402

QUIET_ENV = {
    "PROMPTFOO_DISABLE_TELEMETRY": "1",
    "NO_ANALYTICS": "1",
    "CI": "1",
    "DO_NOT_TRACK": "1",
}


@dataclass
class Verdict:
    flagged: bool
    error: bool
    seconds: float


@dataclass
class Tool:
    name: str
    command: Callable[[Path], list[str]]
    #: (exit code, stdout) -> (flagged, error)
    judge: Callable[[int, str], tuple[bool, bool]]
    results: dict[str, Verdict] = field(default_factory=dict)


def exit_code_judge(flag: set[int], error: set[int]) -> Callable[[int, str], tuple[bool, bool]]:
    return lambda code, _out: (code in flag, code in error or code not in flag | {0})


def modelaudit_critical(code: int, out: str) -> tuple[bool, bool]:
    try:
        issues = json.loads(out).get("issues", [])
    except json.JSONDecodeError:
        return False, True
    return any(i.get("severity") == "critical" for i in issues), code == 2


def tools(peers: Path | None, selected: set[str]) -> list[Tool]:
    ours = [sys.executable, "-m", "supplychain"]
    found = [
        Tool(
            "supplychain", lambda p: [*ours, "-q", "scan", str(p)], exit_code_judge({1}, {2, 3, 70})
        ),
    ]
    if peers is not None:
        found += [
            Tool(
                "picklescan",
                lambda p: [str(peers / "picklescan"), "-p", str(p)],
                exit_code_judge({1}, {2}),
            ),
            Tool(
                "modelscan",
                lambda p: [str(peers / "modelscan"), "-p", str(p)],
                exit_code_judge({1}, {2, 3}),
            ),
            Tool(
                "fickling",
                lambda p: [str(peers / "fickling"), "--check-safety", str(p)],
                exit_code_judge({1}, {2}),
            ),
            Tool(
                "modelaudit (critical)",
                lambda p: [str(peers / "modelaudit"), "scan", "--format", "json", str(p)],
                modelaudit_critical,
            ),
            Tool(
                "modelaudit (any)",
                lambda p: [str(peers / "modelaudit"), "scan", str(p)],
                exit_code_judge({1}, {2}),
            ),
        ]
    return [t for t in found if not selected or t.name.split()[0] in selected]


def run(tool: Tool, path: Path, cwd: Path, timeout: float) -> Verdict:
    env = {**os.environ, **QUIET_ENV}
    started = time.perf_counter()
    try:
        completed = subprocess.run(
            tool.command(path),
            capture_output=True,
            text=True,
            cwd=cwd,
            env=env,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Verdict(False, True, time.perf_counter() - started)
    seconds = time.perf_counter() - started
    flagged, error = tool.judge(completed.returncode, completed.stdout)
    return Verdict(flagged, error and not flagged, seconds)


def big_checkpoint(directory: Path, size_gb: float) -> Path:
    import torch

    path = directory / "big_checkpoint.pt"
    per_tensor = 64 << 20
    count = max(1, int(size_gb * (1 << 30)) // per_tensor)
    state = {f"layer{i}.weight": torch.zeros(per_tensor // 4) for i in range(count)}
    torch.save(state, path)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--peers", type=Path, help="bin/ directory of the venv with the peers")
    parser.add_argument("--tools", default="", help="comma-separated subset (e.g. supplychain)")
    parser.add_argument("--size-gb", type=float, default=1.0, help="large checkpoint size")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/scanning-bench"))
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument(
        "--no-realworld", action="store_true", help="skip the real-world corpus (needs PyPI)"
    )
    args = parser.parse_args()

    selected = {t.strip() for t in args.tools.split(",") if t.strip()}
    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    try:
        samples = scan_corpus.build(args.workdir / "corpus")
        big = big_checkpoint(args.workdir, args.size_gb) if args.size_gb > 0 else None
        chosen = tools(args.peers, selected)
        with tempfile.TemporaryDirectory() as cwd:  # fickling writes into its CWD
            for tool in chosen:
                for sample in samples:
                    tool.results[sample.name] = run(tool, sample.path, Path(cwd), args.timeout)
                if big is not None:
                    tool.results["<big>"] = run(tool, big, Path(cwd), args.timeout * 5)
        markers = list((args.workdir / "corpus" / "markers").iterdir())
        report(chosen, samples, big, markers, args.json)
        if not args.no_realworld:
            realworld(chosen, args.timeout)
        return 1 if markers else 0
    finally:
        shutil.rmtree(args.workdir, ignore_errors=True)


def _ratio(value: float, reference: float | None) -> str:
    return "-" if not reference else f"{value / reference:.1f}x"


def report(
    chosen: list[Tool],
    samples: list[scan_corpus.Sample],
    big: Path | None,
    markers: list[Path],
    json_path: Path | None,
) -> None:
    malicious = [s for s in samples if s.kind == scan_corpus.MALICIOUS]
    benign = [s for s in samples if s.kind == scan_corpus.BENIGN]
    size = big.stat().st_size if big is not None else 0
    print(
        f"corpus: {len(malicious)} malicious, {len(benign)} benign samples; "
        f"large checkpoint {size / (1 << 30):.2f} GiB"
    )
    print()
    print(
        "| tool | caught | missed (of which errors) | false alarms | errors on benign "
        "| median s/file | large checkpoint s | s per GiB | s/file vs supplychain |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    ours = next((t for t in chosen if t.name == "supplychain"), None)
    ours_median = statistics.median(ours.results[s.name].seconds for s in samples) if ours else None
    raw: dict[str, object] = {}
    for tool in chosen:
        caught = [s for s in malicious if tool.results[s.name].flagged]
        missed = [s for s in malicious if not tool.results[s.name].flagged]
        errors = [s for s in missed if tool.results[s.name].error]
        alarms = [s for s in benign if tool.results[s.name].flagged]
        benign_errors = [s for s in benign if tool.results[s.name].error]
        times = [tool.results[s.name].seconds for s in samples]
        big_result = tool.results.get("<big>")
        big_text = per_gb = "-"
        if big_result is not None:
            big_text = f"{big_result.seconds:.2f}" + (" (error)" if big_result.error else "")
            per_gb = f"{big_result.seconds / (size / (1 << 30)):.2f}"
        print(
            f"| {tool.name} | {len(caught)}/{len(malicious)} | {len(missed)} ({len(errors)}) "
            f"| {len(alarms)}/{len(benign)} | {len(benign_errors)} "
            f"| {statistics.median(times):.2f} | {big_text} | {per_gb} "
            f"| {_ratio(statistics.median(times), ours_median)} |"
        )
        raw[tool.name] = {
            "missed": [s.name for s in missed],
            "false_alarms": [s.name for s in alarms],
            "errors": [s.name for s in errors + benign_errors],
            "seconds": {k: round(v.seconds, 4) for k, v in tool.results.items()},
        }
    print()
    for tool in chosen:
        info = raw[tool.name]
        assert isinstance(info, dict)
        if info["missed"] or info["false_alarms"]:
            print(
                f"{tool.name}: missed {', '.join(info['missed']) or '-'}; "
                f"false alarms {', '.join(info['false_alarms']) or '-'}"
            )
    print(f"\npayload markers created during the benchmark: {len(markers)}")
    if json_path is not None:
        json_path.write_text(json.dumps(raw, indent=2))


def realworld(chosen: list[Tool], timeout: float) -> None:
    """Every real-world file (benign) through every tool: false alarms, unknowns, errors."""
    from supplychain.scanning import Severity, scan_file
    from tests.realworld.corpus import fetch_all, library_artifacts

    artifacts = [*fetch_all(), *library_artifacts()[0]]
    unknown = sum(scan_file(a.path).format == "unknown" for a in artifacts)
    ours_high = sum(
        any(f.severity.rank >= Severity.HIGH.rank for f in scan_file(a.path).findings)
        for a in artifacts
    )
    print(f"\nreal-world corpus: {len(artifacts)} benign files (shipped in PyPI packages and")
    print("written by torch, scikit-learn, skops, xgboost, lightgbm, onnx, transformers)\n")
    print("| tool | false alarms | could not scan | unknown format | median s/file |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as cwd:
        for tool in chosen:
            verdicts = [run(tool, a.path, Path(cwd), timeout) for a in artifacts]
            alarms = sum(v.flagged for v in verdicts)
            errors = sum(v.error for v in verdicts)
            median = statistics.median(v.seconds for v in verdicts)
            unknown_text = f"{unknown}" if tool.name == "supplychain" else "-"
            print(f"| {tool.name} | {alarms} | {errors} | {unknown_text} | {median:.2f} |")
    print(f"\nsupplychain API: {ours_high} file(s) with a finding at high or above")


if __name__ == "__main__":
    raise SystemExit(main())
