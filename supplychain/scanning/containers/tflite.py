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
from supplychain.scanning.blob import Blob, TooLargeToSpool
from supplychain.scanning.containers._base import RULE_CONTAINER
from supplychain.scanning.containers._data import reviewed_table
from supplychain.scanning.results import Finding, Severity
from supplychain.scanning.scanner import FileScan

RULE_TFLITE_CUSTOM = "tflite.custom-op"
#: The prefix the TFLite converter gives TensorFlow ops it keeps (Select TF ops).
FLEX_PREFIX = "Flex"


def scan_tflite(scan: FileScan, blob: Blob, kind: Format, head: bytes) -> None:
    """One finding per distinct custom op name."""
    try:
        handle = blob.binary(scan.options.max_spool)
        codes = tflite.read_operator_codes(handle, blob.size or 0)  # type: ignore[arg-type]
    except TooLargeToSpool as exc:
        scan.could_not_scan(blob, f"TFLite model inside a compressed stream is too large ({exc})")
        return
    except tflite.TfliteLimit as exc:
        scan.could_not_scan(blob, f"TFLite model not read to its end: {exc}")
        return
    except (tflite.TfliteFormatError, OSError) as exc:
        scan.add(
            Finding(RULE_CONTAINER, Severity.MEDIUM, f"invalid TFLite model: {exc}", blob.location)
        )
        scan.could_not_scan(blob, f"invalid TFLite model: {exc}")
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
