"""MLflow ``MLmodel``: identified by its flavors, loader modules outside MLflow flagged."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from supplychain.formats import mlflow
from supplychain.formats.sniff import Format, sniff, sniff_bytes
from supplychain.scanning import scan_file

SKLEARN = b"""artifact_path: model
flavors:
  python_function:
    env:
      conda: conda.yaml
    loader_module: mlflow.sklearn
    model_path: model.pkl
    predict_fn: predict
    python_version: 3.11.7
  sklearn:
    code: null
    pickled_model: model.pkl
    serialization_format: cloudpickle
    sklearn_version: 1.5.0
mlflow_version: 2.14.1
model_uuid: 0a1b2c
utc_time_created: '2024-06-01 10:00:00.000000'
"""

CUSTOM_LOADER = b"""flavors:
  python_function:
    code: code
    loader_module: my_loader
    data: data
mlflow_version: 2.14.1
"""


def _scan(tmp_path: Path, data: bytes) -> tuple[str, list[tuple[str, str]]]:
    path = tmp_path / "MLmodel"
    path.write_bytes(data)
    assert sniff(path) is Format.MLFLOW
    result = scan_file(path)
    return result.format, [(f.severity.value, f.message) for f in result.findings]


def test_sklearn_model_names_its_pickle_and_is_clean(tmp_path: Path) -> None:
    kind, findings = _scan(tmp_path, SKLEARN)
    assert kind == "mlflow-mlmodel"
    assert [s for s, _ in findings] == ["info"]
    assert "'model.pkl' (cloudpickle)" in findings[0][1]
    assert scan_file(tmp_path / "MLmodel").clean


def test_loader_module_outside_mlflow_is_high(tmp_path: Path) -> None:
    _, findings = _scan(tmp_path, CUSTOM_LOADER)
    assert ("high" in [s for s, _ in findings]) and "'my_loader'" in findings[0][1]


def test_plain_yaml_with_flavors_is_text() -> None:
    data = b"flavors:\n  vanilla: 1\n"
    assert sniff_bytes(data, len(data)) is Format.TEXT


def test_broken_yaml_is_never_clean(tmp_path: Path) -> None:
    path = tmp_path / "MLmodel"
    path.write_bytes(b"flavors:\nmlflow_version: [\n")
    result = scan_file(path)
    assert result.format == "mlflow-mlmodel" and not result.clean


@settings(max_examples=50, deadline=None)
@given(
    document=st.recursive(
        st.text(max_size=8),
        lambda c: st.dictionaries(st.text(max_size=8), c, max_size=4),
        max_leaves=20,
    )
)
def test_fuzz_flavors_never_crash(document: object) -> None:
    result = mlflow.flavors({"flavors": document})
    assert result is None or all(isinstance(f.name, str) for f in result)
