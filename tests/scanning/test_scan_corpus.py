"""The corpus end to end: every malicious sample flagged, no benign one, no payload run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import scan_corpus  # noqa: E402
from scan_corpus import BENIGN, MALICIOUS, Sample, build  # noqa: E402

from supplychain.scanning import Severity, Status, scan_file  # noqa: E402


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Sample]]:
    root = tmp_path_factory.mktemp("corpus")
    return root, build(root)


def test_corpus_covers_the_known_bypass_families(corpus: tuple[Path, list[Sample]]) -> None:
    _, samples = corpus
    techniques = " ".join(s.technique for s in samples if s.kind == MALICIOUS).lower()
    for family in (
        "dotted",
        "cpickle",
        "__builtin__",
        "commands.getoutput",
        "memo",
        "computed",
        "inst",
        "obj",
        "nested",
        "invalid opcode",
        "frame",
        "gzip",
        "joblib",
        "legacy",
        "tar",
        "crc",
        "local header name",
        "7z",
        "renamed",
        "object array",
        "no denylist",
    ):
        assert family in techniques, family
    assert sum(s.kind == MALICIOUS for s in samples) >= 60
    assert sum(s.kind == BENIGN for s in samples) >= 20


def test_every_malicious_sample_is_flagged_at_its_severity(
    corpus: tuple[Path, list[Sample]],
) -> None:
    _, samples = corpus
    missed = []
    for sample in (s for s in samples if s.kind == MALICIOUS):
        result = scan_file(sample.path)
        top = result.max_severity
        if top is None or top.rank < Severity(sample.expected).rank:
            missed.append(
                f"{sample.name} ({sample.technique}): got {top}, "
                f"{[f.message for f in result.findings]}"
            )
    assert not missed, "\n".join(missed)


def test_no_benign_sample_has_a_finding_above_info(corpus: tuple[Path, list[Sample]]) -> None:
    _, samples = corpus
    alarms = []
    for sample in (s for s in samples if s.kind == BENIGN):
        result = scan_file(sample.path)
        if result.status is not Status.SCANNED or not result.clean:
            alarms.append(
                f"{sample.name}: {result.status.value} {result.reason} "
                f"{[(f.severity.value, f.message) for f in result.findings]}"
            )
    assert not alarms, "\n".join(alarms)


def test_scanning_the_corpus_runs_no_payload(corpus: tuple[Path, list[Sample]]) -> None:
    root, samples = corpus
    # through the real command, in a separate process, as a user would run it
    completed = subprocess.run(
        [sys.executable, "-m", "supplychain", "scan", "--json", str(root / "files")],
        capture_output=True,
        text=True,
        check=False,
        cwd=root,
    )
    assert completed.returncode == 1, completed.stderr
    report = json.loads(completed.stdout)
    assert report["outcome"] == "fail"
    assert len(report["files"]) == len(samples)
    for sample in samples:
        if sample.marker is not None:
            assert not sample.marker.exists(), f"{sample.name}: the payload ran"
    assert list((root / "markers").iterdir()) == []


_LOADER = r"""
import gzip, pickle, sys, json
samples = json.loads(sys.argv[1])
for path, how in samples:
    try:
        if how == "pickle":
            with open(path, "rb") as handle:
                pickle.Unpickler(handle).load()
        elif how == "gzip":
            with gzip.open(path, "rb") as handle:
                pickle.load(handle)
        elif how == "torch":
            import torch
            torch.load(path, weights_only=False)
        elif how == "numpy":
            import numpy
            numpy.load(path, allow_pickle=True)
    except Exception:
        pass
"""


def _has_frame_differential() -> bool:
    """Whether this CPython still lets a file-reading Unpickler run past a frame (gh-154848)."""
    import io
    import pickle

    probe = scan_corpus.frame_differential_probe()
    try:
        return pickle.Unpickler(io.BytesIO(probe)).load() == "'RAN'"
    except pickle.UnpicklingError:
        return False


def test_the_payloads_are_real(tmp_path: Path) -> None:
    """Loading the samples the unsafe way creates their markers: the scan tests mean something."""
    samples = [s for s in build(tmp_path) if s.live]
    if not _has_frame_differential():
        samples = [s for s in samples if "FRAME" not in s.technique]
    completed = subprocess.run(
        [sys.executable, "-c", _LOADER, json.dumps([[str(s.path), s.live] for s in samples])],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        timeout=300,
    )
    dead = [s.name for s in samples if s.marker is not None and not s.marker.exists()]
    assert not dead, f"payloads that did not run when loaded: {dead}\n{completed.stderr[-2000:]}"
    assert len(samples) >= 30
