"""CoreML models: custom models and custom layers, which need native code the app supplies.

The rest of a CoreML model is parameters the framework interprets. A
``CustomModel`` or a neural-network layer of the ``custom`` kind names a class
that must be compiled into the loading app (medium: the model cannot run
without it, and the name says which).
"""

from __future__ import annotations

from supplychain.formats import coreml
from supplychain.formats.sniff import Format
from supplychain.scanning.blob import Blob
from supplychain.scanning.containers._base import read_structure
from supplychain.scanning.results import Finding, Severity
from supplychain.scanning.scanner import FileScan

RULE_COREML_CUSTOM = "coreml.custom-code"


def scan_coreml(scan: FileScan, blob: Blob, kind: Format, head: bytes) -> None:
    natives = read_structure(
        scan,
        blob,
        "CoreML model",
        lambda handle: coreml.native_code(handle, blob.size or 0),
        coreml.CoremlLimit,
        coreml.CoremlFormatError,
    )
    if natives is None:
        return
    for native in natives:
        scan.add(
            Finding(
                RULE_COREML_CUSTOM,
                Severity.MEDIUM,
                f"CoreML {native.where} needs native class {native.class_name or '(unnamed)'!r} "
                "compiled into the app; make sure it comes from a source you trust",
                blob.location,
            )
        )
