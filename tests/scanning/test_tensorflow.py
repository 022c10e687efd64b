"""``supplychain scan`` on TensorFlow graphs: dangerous ops caught, real exports clean."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import RunCli
from tests.formats.tfproto import (
    BENIGN_FUNCTIONS,
    BENIGN_NODES,
    function,
    graph_def,
    keras_metadata,
    node,
    saved_model,
)


def _saved_model_dir(root: Path, graph: bytes) -> Path:
    folder = root / "export"
    (folder / "variables").mkdir(parents=True)
    (folder / "saved_model.pb").write_bytes(saved_model(graph))
    return folder


def _files(run_cli: RunCli, target: Path) -> tuple[int, dict[str, dict[str, object]]]:
    result = run_cli("scan", "--json", target)
    report = json.loads(result.stdout)
    return result.exit_code, {f["name"]: f for f in report["files"]}


def test_a_pyfunc_saved_model_fails_at_high(run_cli: RunCli, tmp_path: Path) -> None:
    graph = graph_def(
        [*BENIGN_NODES, node("callback", "PyFunc", "x")],
        [*BENIGN_FUNCTIONS, function("__inference_call_3", node("EagerPyFunc", "EagerPyFunc"))],
    )
    code, files = _files(run_cli, _saved_model_dir(tmp_path, graph))
    assert code == 1
    pb = files["export/saved_model.pb"]
    assert pb["format"] == "tf-savedmodel" and pb["max_severity"] == "high"
    messages = " ".join(f["message"] for f in pb["findings"])  # type: ignore[attr-defined]
    assert "PyFunc" in messages and "'callback'" in messages
    assert "EagerPyFunc" in messages and "__inference_call_3" in messages


def test_file_ops_in_a_frozen_graph_fail(run_cli: RunCli, tmp_path: Path) -> None:
    frozen = tmp_path / "frozen_graph.pb"
    frozen.write_bytes(
        graph_def([*BENIGN_NODES, node("leak", "ReadFile"), node("drop", "WriteFile")])
    )
    code, files = _files(run_cli, frozen)
    assert code == 1
    result = files["frozen_graph.pb"]
    assert result["format"] == "tf-graphdef"
    rules = {(f["rule"], f["severity"]) for f in result["findings"]}  # type: ignore[attr-defined]
    assert rules == {("tensorflow.dangerous-op", "high")}
    assert len(result["findings"]) == 2  # type: ignore[arg-type]


def test_an_export_with_its_own_checkpoint_functions_is_clean(
    run_cli: RunCli, tmp_path: Path
) -> None:
    code, files = _files(
        run_cli, _saved_model_dir(tmp_path, graph_def(BENIGN_NODES, BENIGN_FUNCTIONS))
    )
    assert code == 0
    pb = files["export/saved_model.pb"]
    assert pb["format"] == "tf-savedmodel" and pb["status"] == "scanned" and pb["findings"] == []


def test_a_truncated_graph_is_not_clean(run_cli: RunCli, tmp_path: Path) -> None:
    data = saved_model(graph_def([*BENIGN_NODES, node("callback", "PyFunc")]))
    path = tmp_path / "saved_model.pb"
    path.write_bytes(data[:-9])
    code, files = _files(run_cli, path)
    assert code != 0
    assert files["saved_model.pb"]["status"] == "could-not-scan"


LAMBDA_METADATA = json.dumps(
    {
        "name": "lambda",
        "class_name": "Lambda",
        "config": {
            "name": "lambda",
            "function": ["4wEAAAAAAAAAAAAAAAEAAAACAAAA", None, None],
            "function_type": "lambda",
        },
    }
)
DENSE_METADATA = json.dumps({"name": "dense", "class_name": "Dense", "config": {"units": 2}})


def test_a_tf_keras_lambda_in_keras_metadata_is_caught(run_cli: RunCli, tmp_path: Path) -> None:
    folder = _saved_model_dir(tmp_path, graph_def(BENIGN_NODES, BENIGN_FUNCTIONS))
    (folder / "keras_metadata.pb").write_bytes(
        keras_metadata(
            (
                "root",
                "_tf_keras_sequential",
                json.dumps({"class_name": "Sequential", "config": {}}),
            ),
            ("root.layer-0", "_tf_keras_layer", LAMBDA_METADATA),
        )
    )
    code, files = _files(run_cli, folder)
    assert code == 1
    meta = files["export/keras_metadata.pb"]
    assert meta["format"] == "tf-keras-metadata" and meta["max_severity"] == "high"
    assert "root.layer-0" in meta["findings"][0]["location"]  # type: ignore[index]


def test_plain_keras_metadata_is_clean(run_cli: RunCli, tmp_path: Path) -> None:
    folder = _saved_model_dir(tmp_path, graph_def(BENIGN_NODES, BENIGN_FUNCTIONS))
    (folder / "keras_metadata.pb").write_bytes(
        keras_metadata(("root.layer-0", "_tf_keras_layer", DENSE_METADATA))
    )
    code, files = _files(run_cli, folder)
    assert code == 0 and files["export/keras_metadata.pb"]["findings"] == []
