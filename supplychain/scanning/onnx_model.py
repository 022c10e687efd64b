"""ONNX models: external-data locations that escape the model's folder.

An ONNX loader joins each tensor's external ``location`` to the model's
folder and opens it; an absolute path or a ``..`` component makes it read
any file the process can (CVE-2024-27318/27319), and tools that re-save the
model write there. The graph itself runs no Python.

The container registry (``scanning/containers``) maps ``Format.ONNX`` to
:func:`scan_onnx`.
"""

from __future__ import annotations

from supplychain.formats import onnx
from supplychain.formats.sniff import Format
from supplychain.scanning.blob import Blob, TooLargeToSpool
from supplychain.scanning.results import Finding, Severity
from supplychain.scanning.scanner import FileScan

RULE_EXTERNAL_ESCAPE = "onnx.external-data-escape"
RULE_MALFORMED = "container.malformed"


def scan_onnx(scan: FileScan, blob: Blob, kind: Format, head: bytes) -> None:
    """Walk the model for external data; a location outside the folder is HIGH."""
    try:
        handle = blob.binary(scan.options.max_spool)
        model = onnx.read_model(handle, blob.size)  # type: ignore[arg-type]
    except TooLargeToSpool as exc:
        scan.could_not_scan(blob, f"ONNX model inside a compressed stream is too large ({exc})")
        return
    except onnx.OnnxLimit as exc:
        scan.could_not_scan(blob, f"ONNX model not read to its end: {exc}")
        return
    except (onnx.OnnxFormatError, OSError) as exc:
        scan.add(
            Finding(RULE_MALFORMED, Severity.MEDIUM, f"invalid ONNX model: {exc}", blob.location)
        )
        scan.could_not_scan(blob, f"invalid ONNX model: {exc}")
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
