"""Real benign models: every file identified, nothing at high or above, alike rated alike."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest

from supplychain.scanning import Severity, scan_file
from supplychain.scanning.scanner import FileScan, ScanOptions
from tests.conftest import RunCli
from tests.realworld.artifacts import Artifact
from tests.realworld.corpus import load_packages

pytestmark = [pytest.mark.slow, pytest.mark.network]


def _problems(artifacts: Iterable[Artifact]) -> list[str]:
    """What a deployer would see go wrong: a wrong or unknown format, a finding at high or above."""
    problems = []
    for artifact in artifacts:
        result = scan_file(artifact.path, name=artifact.name)
        where = f"{artifact.origin}: {artifact.name}"
        if result.format != artifact.expected_format:
            problems.append(f"{where}: format {result.format}, expected {artifact.expected_format}")
        if result.format == "unknown" and artifact.gap is None:
            problems.append(f"{where}: not identified")
        for finding in result.findings:
            if finding.severity.rank >= Severity.HIGH.rank:
                problems.append(f"{where}: {finding.severity.value} {finding.message}")
    return problems


def test_at_least_fifteen_pinned_packages_ship_model_files() -> None:
    packages = load_packages()
    assert len(packages) >= 15
    assert all("==" in p.requirement and p.files for p in packages)
    gaps = [m for p in packages for m, (_, gap) in p.files.items() if gap is not None]
    assert len(gaps) <= 2, "a gap is an exception, not a way to pass"


def test_models_shipped_in_packages_are_identified_and_not_flagged(
    shipped: list[Artifact],
) -> None:
    assert len(shipped) >= 40
    assert _problems(shipped) == []


def test_models_written_by_the_libraries_are_identified_and_not_flagged(
    written: list[Artifact],
) -> None:
    origins = " ".join(a.origin for a in written)
    for library in ("torch.jit", "torch.onnx", "joblib", "skops", "xgboost", "lightgbm"):
        assert library in origins, library
    assert _problems(written) == []


def test_the_cli_fails_nothing(
    run_cli: RunCli, shipped: list[Artifact], written: list[Artifact]
) -> None:
    unscannable = {a.name for a in [*shipped, *written] if a.expected_format == "hdf5"}
    result = run_cli("scan", *(a.path for a in [*shipped, *written]))
    # 3: the HDF5 files are identified but not inspected yet, which is never "clean"
    assert result.exit_code == (3 if unscannable else 0), result
    assert "critical" not in result.stdout.lower()


def _severities(artifact: Artifact) -> list[str]:
    return sorted(f"{f.severity.value} {f.symbol}" for f in scan_file(artifact.path).findings)


def _by_name(artifacts: list[Artifact]) -> dict[str, Artifact]:
    return {a.name: a for a in artifacts}


def test_legacy_and_zip_saves_of_one_module_are_rated_alike(written: list[Artifact]) -> None:
    named = _by_name(written)
    legacy = _severities(named["torch/whole_module_legacy.pth"])
    assert legacy == _severities(named["torch/whole_module.pt"])
    assert legacy and all(s.startswith("medium torch.nn.modules.") for s in legacy)


def test_torchscript_archives_are_medium_for_their_code(
    shipped: list[Artifact], written: list[Artifact]
) -> None:
    archives = [a for a in [*shipped, *written] if a.expected_format == "torchscript"]
    assert len(archives) >= 3
    for archive in archives:
        findings = scan_file(archive.path).findings
        assert {f.severity for f in findings} == {Severity.MEDIUM}, archive.name
        assert any(f.rule == "torch.torchscript-code" for f in findings)


def test_sibling_estimators_are_rated_alike(written: list[Artifact]) -> None:
    named = _by_name(written)
    tops = {
        name: max(f.severity.rank for f in scan_file(named[name].path).findings)
        for name in (
            "scikit-learn/count_vectorizer.joblib",
            "scikit-learn/tfidf_vectorizer.joblib",
            "scikit-learn/tfidf_transformer.joblib",
            "scikit-learn/svc.joblib",
            "scikit-learn/linear_svc_pipeline.joblib",
        )
    }
    assert set(tops.values()) == {Severity.MEDIUM.rank}, tops


def test_an_exported_model_pointed_outside_its_folder_is_high(
    written: list[Artifact], tmp_path_factory: pytest.TempPathFactory
) -> None:
    onnx = pytest.importorskip("onnx")
    from supplychain.formats.onnx import read_model

    source = _by_name(written)["onnx-export/external/model.onnx"].path
    with open(source, "rb") as handle:
        assert {e.location for e in read_model(handle).external} == {"model.onnx.data"}
    proto = onnx.load(str(source), load_external_data=False)
    for initializer in proto.graph.initializer:
        for entry in initializer.external_data:
            if entry.key == "location":
                entry.value = "../../../../etc/passwd"
    tampered = tmp_path_factory.mktemp("onnx") / "model.onnx"
    onnx.save_model(proto, str(tampered))
    findings = _scan_onnx(tampered).findings
    assert findings and {f.severity for f in findings} == {Severity.HIGH}


def _scan_onnx(path: Path) -> FileScan:
    """The ONNX container check on its own (its registration lives with the other handlers)."""
    from supplychain.formats.sniff import Format
    from supplychain.picklevm import Source
    from supplychain.scanning.blob import Blob
    from supplychain.scanning.onnx_model import scan_onnx
    from supplychain.scanning.policy import builtin_policy

    scan = FileScan(builtin_policy(), ScanOptions())
    handle = open(path, "rb")  # noqa: SIM115 - the blob reads it lazily; closed below
    with handle:
        size = path.stat().st_size
        blob = Blob("", path.name, size, lambda: Source.from_file(handle), True)
        scan_onnx(scan, blob, Format.ONNX, handle.read(4096))
    return scan
