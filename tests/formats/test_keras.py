"""Keras models by structure: v3 zips recognised with either weights member, HDF5 configs read."""

from __future__ import annotations

import contextlib
import io
import json
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supplychain.formats import keras
from supplychain.scanning.containers.keras import ConfigTooLarge, config_issues


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["metadata.json", "config.json", "model.weights.h5"], True),
        (["metadata.json", "config.json", "model.weights.npz"], True),
        (["metadata.json", "config.json"], True),
        (["config.json", "data.pkl"], False),
        (["model.weights.h5"], False),
    ],
)
def test_v3_archives_are_recognised_with_either_weights_member(
    names: list[str], expected: bool
) -> None:
    assert keras.is_keras_zip(names) is expected


def test_a_deeply_nested_config_is_a_format_error_not_a_crash() -> None:
    with pytest.raises(keras.KerasFormatError, match="nests deeper"):
        keras.parse_config(b"[" * 100_000 + b"]" * 100_000, "config.json")


def test_a_config_that_is_not_json_is_a_format_error() -> None:
    with pytest.raises(keras.KerasFormatError, match="not JSON"):
        keras.parse_config(b"\xff\xfe", "config.json")


def test_hdf5_root_attributes_are_read(tmp_path: Any) -> None:
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "model.h5"
    with h5py.File(path, "w") as hdf5:
        hdf5.attrs["model_config"] = json.dumps({"class_name": "Sequential"})
        hdf5.attrs["keras_version"] = "2.15.0"
        hdf5.create_dataset("model_weights/dense/kernel", data=[[1.0, 2.0]])
    with open(path, "rb") as handle:
        configs = keras.read_hdf5_configs(handle)
    assert [name for name, _ in configs.documents] == ["model_config"]
    assert json.loads(configs.documents[0][1]) == {"class_name": "Sequential"}


def test_a_file_h5py_refuses_is_a_format_error() -> None:
    pytest.importorskip("h5py")
    with pytest.raises(keras.KerasFormatError, match="h5py cannot read"):
        keras.read_hdf5_configs(io.BytesIO(b"\x89HDF\r\n\x1a\n" + b"\x00" * 64))


def test_without_h5py_hdf5_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(keras.Hdf5Unavailable):
        keras.read_hdf5_configs(io.BytesIO(b"\x89HDF\r\n\x1a\n"))


def test_the_node_cap_is_a_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    import supplychain.scanning.containers.keras as scanner

    monkeypatch.setattr(scanner, "MAX_NODES", 10)
    with pytest.raises(ConfigTooLarge):
        config_issues({"layers": list(range(20))})


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from(["Lambda", "keras.layers", "os", "get_file", "builtins", "function", "x"]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["class_name", "module", "config", "registered_name", "layers", "k"]),
            children,
            max_size=4,
        )
    ),
    max_leaves=30,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
@given(config=_JSON)
def test_fuzz_config_walk_never_crashes(config: object) -> None:
    started = time.monotonic()
    raw = json.dumps(config).encode()
    issues = config_issues(keras.parse_config(raw, "config.json"))
    assert all(i.severity.value in ("high", "critical") for i in issues)
    assert time.monotonic() - started < 5


@settings(max_examples=100, deadline=None, database=None)
@given(raw=st.binary(max_size=300))
def test_fuzz_parse_config_raises_only_format_errors(raw: bytes) -> None:
    with contextlib.suppress(keras.KerasFormatError):
        keras.parse_config(raw, "config.json")
