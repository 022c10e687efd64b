"""Issue 11 on real checkpoints: convert equals torch.load(weights_only=True), or both refuse.

Every torch checkpoint of the real-world corpus (shipped in PyPI packages, or
written here by torch itself) is converted; torch reads the same file in a
child process (these files were not made by the tests) and reports what its
weights-only loader returns, flattened at the key our conversion selected.
Where torch reads a file we convert it to exactly those tensors (name,
dtype, shape, bytes); where torch refuses it, we refuse too.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from supplychain.conversion import ConversionReport, convert
from supplychain.errors import InputError, SupplychainError
from tests.conversion.reading import read_safetensors
from tests.realworld.artifacts import Artifact

pytestmark = [pytest.mark.slow, pytest.mark.network]

ROOT = Path(__file__).resolve().parents[2]
TORCH_FORMATS = frozenset({"pytorch-zip", "pytorch-legacy", "pytorch-tar", "torchscript"})

#: Runs in a child interpreter: torch's weights-only reading of each file, as digests.
_CHILD = r"""
import json, sys, warnings
import torch
from tests.conversion import checkpoints, torchref
warnings.simplefilter("ignore")
answers = []
for request in json.load(sys.stdin):
    try:
        loaded = torch.load(request["path"], map_location="cpu", weights_only=True)
    except Exception as exc:
        answers.append({"refused": f"{type(exc).__name__}: {str(exc)[:300]}"})
        continue
    found = torchref.flatten(
        loaded, tuple(request["selected"]), request["stripped"], explicit=request["explicit"]
    )
    answers.append({"tensors": {n: checkpoints.expected(torch, t) for n, t in found.items()}})
print(json.dumps(answers))
"""


def _torch_readings(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD],
        input=json.dumps(requests),
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    answers: list[dict[str, Any]] = json.loads(done.stdout.splitlines()[-1])
    return answers


def _ours(path: Path, output: Path) -> tuple[ConversionReport | SupplychainError, str | None]:
    """Our conversion (with the first listed --key when the file holds several state dicts)."""
    try:
        return convert(path, output), None
    except SupplychainError as exc:
        if not (isinstance(exc, InputError) and "--key " in exc.problem):
            return exc, None
        key = exc.problem.split("--key ")[1].split(" ")[0]
    try:
        return convert(path, output, key=key), key
    except SupplychainError as exc:
        return exc, key


def _request(
    path: Path, ours: ConversionReport | SupplychainError, key: str | None
) -> dict[str, Any]:
    if isinstance(ours, SupplychainError):
        return {"path": str(path), "selected": [], "stripped": "", "explicit": False}
    (conversion,) = ours.files
    return {
        "path": str(path),
        "selected": list(conversion.selected),
        "stripped": conversion.stripped_prefix,
        "explicit": key is not None,
    }


def _problem(
    ours: ConversionReport | SupplychainError, output: Path, torch_reading: dict[str, Any]
) -> str | None:
    """What is wrong with our outcome next to torch's reading (None: nothing)."""
    if isinstance(ours, SupplychainError):
        return None if "refused" in torch_reading else f"torch reads it, we refuse: {ours}"
    if "refused" in torch_reading:
        return f"torch refuses ({torch_reading['refused'][:120]}), we convert"
    metadata, tensors = read_safetensors(output)
    aliases = {k: v for k, v in metadata.items() if k != "format"}
    expected = torch_reading["tensors"]
    if set(tensors) | set(aliases) != set(expected):
        return f"names differ: ours {sorted(tensors)[:5]}..., torch {sorted(expected)[:5]}..."
    for name, want in expected.items():
        got = tensors[aliases.get(name, name)]
        if [got["dtype"], got["shape"], got["blake3"]] != [
            want["dtype"],
            want["shape"],
            want["blake3"],
        ]:
            return (
                f"{name}: ours {got['dtype']}{got['shape']}, torch {want['dtype']}{want['shape']}"
            )
    return None


def test_every_real_torch_checkpoint_converts_as_torch_reads_it(
    shipped: list[Artifact], written: list[Artifact], tmp_path: Path
) -> None:
    pytest.importorskip("torch")
    checkpoints = [a for a in (*shipped, *written) if a.expected_format in TORCH_FORMATS]
    assert len(checkpoints) >= 20, [a.name for a in checkpoints]
    outcomes = []
    for index, artifact in enumerate(checkpoints):
        output = tmp_path / f"{index}.safetensors"
        ours, key = _ours(artifact.path, output)
        outcomes.append((artifact, ours, output, _request(artifact.path, ours, key)))
    readings = _torch_readings([request for *_, request in outcomes])
    problems = {
        f"{artifact.origin}: {artifact.name}": problem
        for (artifact, ours, output, _), reading in zip(outcomes, readings, strict=True)
        if (problem := _problem(ours, output, reading))
    }
    assert problems == {}
    converted = sum(isinstance(ours, ConversionReport) for _, ours, *_ in outcomes)
    assert converted >= 10, "most real checkpoints are state dicts torch reads"
