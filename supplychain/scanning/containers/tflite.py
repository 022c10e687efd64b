"""TFLite models: custom operators, which need native code the interpreter must register.

Builtin kernels are data-driven arithmetic. A CUSTOM operator runs whatever
native kernel the loading process registered under its name (medium: the
model does not run without that code, and the name says which). A ``Flex``
custom op runs a TensorFlow op through the Select-TF-ops delegate, so a Flex
op whose TensorFlow op is on the reviewed list (``data/tensorflow_ops.json``:
files, processes, network) gets that op's severity.
"""

from __future__ import annotations

from supplychain.formats import tflite
from supplychain.formats.sniff import Format
from supplychain.scanning.blob import Blob
from supplychain.scanning.containers._base import read_structure
from supplychain.scanning.containers._data import reviewed_table
from supplychain.scanning.results import Finding, Severity
from supplychain.scanning.scanner import FileScan

RULE_TFLITE_CUSTOM = "tflite.custom-op"
#: The prefix the TFLite converter gives TensorFlow ops it keeps (Select TF ops).
FLEX_PREFIX = "Flex"


def scan_tflite(scan: FileScan, blob: Blob, kind: Format, head: bytes) -> None:
    """One finding per distinct custom op name."""
    codes = read_structure(
        scan,
        blob,
        "TFLite model",
        lambda handle: tflite.read_operator_codes(handle, blob.size or 0),
        tflite.TfliteLimit,
        tflite.TfliteFormatError,
    )
    if codes is None:
        return
    names = sorted({code.custom or "" for code in codes if code.is_custom})
    for name in names:
        scan.add(_custom_op_finding(name, blob.location))


def _custom_op_finding(name: str, location: str) -> Finding:
    ops = reviewed_table("tensorflow_ops.json")["ops"]
    tf_op = name[len(FLEX_PREFIX) :] if name.startswith(FLEX_PREFIX) else None
    if tf_op in ops:
        entry = ops[tf_op]
        return Finding(
            RULE_TFLITE_CUSTOM,
            Severity(entry["severity"]),
            f"TFLite custom op {name!r} runs TensorFlow op {tf_op} through the Select-TF-ops "
            f"delegate, which {entry['why']}; re-convert without it or run only in a sandbox",
            location,
        )
    return Finding(
        RULE_TFLITE_CUSTOM,
        Severity.MEDIUM,
        f"TFLite custom op {name or '(unnamed)'!r} runs native code the interpreter must "
        "register under that name; make sure that kernel comes from a source you trust",
        location,
    )
