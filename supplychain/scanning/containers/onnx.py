"""ONNX models: external-data locations that escape the model's folder.

An ONNX loader joins each tensor's external ``location`` to the model's
folder and opens it; an absolute path or a ``..`` component makes it read
any file the process can (CVE-2024-27318/27319), and tools that re-save the
model write there. The graph itself runs no Python.
"""

from __future__ import annotations

from supplychain.formats import onnx
from supplychain.formats.sniff import Format
from supplychain.scanning.blob import Blob
from supplychain.scanning.containers._base import read_structure
from supplychain.scanning.results import Finding, Severity
from supplychain.scanning.scanner import FileScan

RULE_EXTERNAL_ESCAPE = "onnx.external-data-escape"


def scan_onnx(scan: FileScan, blob: Blob, kind: Format, head: bytes) -> None:
    """Walk the model for external data; a location outside the folder is HIGH."""
    model = read_structure(
        scan,
        blob,
        "ONNX model",
        lambda handle: onnx.read_model(handle, blob.size),
        onnx.OnnxLimit,
        onnx.OnnxFormatError,
    )
    if model is None:
        return
    for external in model.external:
        problem = onnx.location_problem(external.location)
        if problem is not None:
            scan.add(
                Finding(
                    RULE_EXTERNAL_ESCAPE,
                    Severity.HIGH,
                    f"tensor {external.tensor!r} keeps its data at {problem}: loading the "
                    "model reads that file (and re-saving it writes there); keep external "
                    "data beside the model with a relative name",
                    blob.location,
                )
            )
