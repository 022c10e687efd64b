"""ONNX by structure: identification from the ModelProto fields, and external-data locations."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supplychain.formats import onnx
from supplychain.formats.sniff import Format, sniff
from supplychain.picklevm import Source
from supplychain.scanning.blob import Blob
from supplychain.scanning.containers.onnx import RULE_EXTERNAL_ESCAPE, scan_onnx
from supplychain.scanning.policy import builtin_policy
from supplychain.scanning.results import Severity
from supplychain.scanning.scanner import FileScan, ScanOptions
from tests.conftest import RunCli
from tests.formats.protowire import field

# -- models written by hand (the format's own rules, no onnx dependency) ----------------------


def text(number: int, value: str) -> bytes:
    return field(number, value.encode())


def tensor(name: str, location: str | None = None, raw: bytes = b"") -> bytes:
    body = field(1, 4) + field(2, 1) + text(8, name)
    if raw:
        body += field(9, raw)
    if location is not None:
        body += field(13, text(1, "location") + text(2, location)) + field(14, 1)
    return body


def node(op: str, *attributes: bytes) -> bytes:
    return text(1, "x") + text(2, "y") + text(4, op) + b"".join(field(5, a) for a in attributes)


def graph(*, nodes: tuple[bytes, ...] = (), initializers: tuple[bytes, ...] = ()) -> bytes:
    return (
        b"".join(field(1, n) for n in nodes)
        + text(2, "main")
        + b"".join(field(5, t) for t in initializers)
    )


def model(body: bytes, producer: str = "pytorch") -> bytes:
    opset = field(8, field(2, 17))
    return field(1, 8) + text(2, producer) + text(3, "2.13.0") + field(7, body) + opset


def scan_bytes(data: bytes) -> FileScan:
    scan = FileScan(builtin_policy(), ScanOptions())
    blob = Blob("", "model.onnx", len(data), lambda: Source.from_file(io.BytesIO(data)), True)
    scan_onnx(scan, blob, Format.ONNX, data[:4096])
    return scan


# -- identification -----------------------------------------------------------------------------
def test_exported_models_are_onnx_without_the_word_onnx(tmp_path: Path) -> None:
    path = tmp_path / "exported.bin"
    path.write_bytes(
        model(graph(nodes=(node("Relu"),), initializers=(tensor("w", raw=b"\0" * 16),)))
    )
    assert sniff(path) is Format.ONNX


def test_a_model_larger_than_the_head_is_identified(tmp_path: Path) -> None:
    path = tmp_path / "big.onnx"
    path.write_bytes(model(graph(initializers=(tensor("w", raw=b"\1" * 100_000),))))
    assert sniff(path) is Format.ONNX


@pytest.mark.parametrize(
    "data",
    [
        b"\x08hello world, this is text",
        field(1, 8) + text(2, "pytorch"),  # no graph
        field(1, 8) + text(9, "no such field") + field(7, b""),
        field(1, 0) + field(7, b""),  # ir_version 0
        text(2, "pytorch") + field(1, 8) + field(7, b""),  # ir_version must come first
        field(1, 8) + field(7, b"abc")[:-1],  # graph cut short
        field(1, 8) + field(7, b"") + b"\x00",  # trailing junk
    ],
)
def test_look_alikes_are_not_onnx(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "x.onnx"
    path.write_bytes(data)
    assert sniff(path) is not Format.ONNX


# -- external data ------------------------------------------------------------------------------
def test_external_locations_are_read_from_every_graph() -> None:
    inner = graph(initializers=(tensor("deep", "deep.bin"),))
    branch = text(1, "then_branch") + field(6, inner) + field(20, 5)
    const = text(1, "value") + field(5, tensor("const", "const.bin"))
    data = model(
        graph(
            nodes=(node("If", branch), node("Constant", const)),
            initializers=(tensor("w", "weights.bin"), tensor("inline", raw=b"\0" * 8)),
        )
    )
    read = onnx.read_model(io.BytesIO(data), len(data))
    assert read.ir_version == 8 and read.producer == "pytorch" and read.opsets == (("", 17),)
    found = {(e.tensor, e.location) for e in read.external}
    assert found == {("w", "weights.bin"), ("deep", "deep.bin"), ("const", "const.bin")}
    assert not scan_bytes(data).findings


@pytest.mark.parametrize(
    "location",
    [
        "/etc/passwd",
        "../../../root/.ssh/id_rsa",
        "data/../../x",
        "C:\\Windows\\win.ini",
        "\\\\h\\s",
    ],
)
def test_a_location_outside_the_model_folder_is_high(location: str) -> None:
    data = model(graph(initializers=(tensor("w", location),)))
    scan = scan_bytes(data)
    assert [(f.rule, f.severity) for f in scan.findings] == [(RULE_EXTERNAL_ESCAPE, Severity.HIGH)]
    assert "'w'" in scan.findings[0].message


def test_an_escape_hidden_in_a_subgraph_is_found() -> None:
    inner = graph(initializers=(tensor("w", "../secret"),))
    data = model(graph(nodes=(node("Loop", text(1, "body") + field(6, inner)),)))
    assert [f.severity for f in scan_bytes(data).findings] == [Severity.HIGH]


def test_nesting_past_the_bound_is_not_reported_clean() -> None:
    body = graph()
    for _ in range(onnx.MAX_DEPTH + 2):
        body = graph(nodes=(node("If", text(1, "g") + field(6, body)),))
    scan = scan_bytes(model(body))
    assert scan.incomplete and "deeper" in scan.incomplete[0]


def test_a_broken_model_is_reported_and_not_clean() -> None:
    data = model(graph())[:-3] + b"\xff\xff\xff"
    scan = scan_bytes(data)
    assert scan.incomplete
    assert any(f.severity is Severity.MEDIUM for f in scan.findings)


def test_agrees_with_the_onnx_package(tmp_path: Path) -> None:
    onnx_pkg = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    np = pytest.importorskip("numpy")
    weight = numpy_helper.from_array(np.arange(64, dtype=np.float32).reshape(8, 8), "w")
    built = helper.make_model(
        helper.make_graph(
            [helper.make_node("MatMul", ["x", "w"], ["y"])],
            "g",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8])],
            [weight],
        )
    )
    path = tmp_path / "m.onnx"
    onnx_pkg.save_model(
        built, str(path), save_as_external_data=True, location="w.data", size_threshold=0
    )
    assert sniff(path) is Format.ONNX
    with open(path, "rb") as handle:
        read = onnx.read_model(handle)
    assert [(e.tensor, e.location) for e in read.external] == [("w", "w.data")]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_never_crashes(data: bytes) -> None:
    for candidate in (data, b"\x08" + data, model(data)):
        onnx.looks_like_model(candidate[:4096], len(candidate))
        with contextlib.suppress(onnx.OnnxFormatError, onnx.OnnxLimit):
            onnx.read_model(io.BytesIO(candidate), len(candidate))


# -- through the CLI: the scanner routes ONNX files to the external-data check ----------------
@pytest.mark.parametrize("location", ["../secrets.bin", "/etc/passwd"])
def test_scan_cli_reports_escaping_external_data(
    tmp_path: Path, run_cli: RunCli, location: str
) -> None:
    (tmp_path / "model.onnx").write_bytes(
        model(graph(initializers=(tensor("w", location=location),)))
    )
    result = run_cli("scan", tmp_path, "--json")
    assert result.exit_code == 1, result
    findings = [f for r in json.loads(result.stdout)["files"] for f in r["findings"]]
    assert any(f["rule"] == RULE_EXTERNAL_ESCAPE and f["severity"] == "high" for f in findings)


def test_scan_cli_passes_external_data_inside_the_model(tmp_path: Path, run_cli: RunCli) -> None:
    (tmp_path / "model.onnx").write_bytes(
        model(graph(initializers=(tensor("w", location="weights/w.bin"),)))
    )
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "w.bin").write_bytes(b"\0" * 16)
    result = run_cli("scan", tmp_path / "model.onnx", "--json")
    findings = [f for r in json.loads(result.stdout)["files"] for f in r["findings"]]
    assert not [f for f in findings if f["rule"] == RULE_EXTERNAL_ESCAPE], result
