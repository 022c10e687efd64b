"""What every container handler shares: the handler type, rule ids, limits."""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO, TypeVar

from supplychain.formats.sniff import Format
from supplychain.scanning.blob import Blob, TooLargeToSpool
from supplychain.scanning.results import Finding, Severity
from supplychain.scanning.scanner import FileScan

T = TypeVar("T")

Handler = Callable[[FileScan, Blob, Format, bytes], None]

RULE_CONTAINER = "container.malformed"
RULE_ZIP = "container.zip-inconsistent"
RULE_TRAILING = "container.trailing-data"
RULE_OBJECT_ARRAY = "numpy.object-array"
RULE_TORCHSCRIPT = "torch.torchscript-code"
RULE_SAFETENSORS = "safetensors.invalid-header"
RULE_EMBEDDED = "pickle.embedded-pickle"
RULE_KERAS_LAMBDA = "keras.lambda-layer"

#: How many stacked pickles a raw pickle file may hold before we stop looking.
MAX_STACKED = 64
#: Depth of pickles found inside strings of pickles.
MAX_EMBEDDED_DEPTH = 3


def read_structure(
    scan: FileScan,
    blob: Blob,
    what: str,
    read: Callable[[BinaryIO], T],
    limit: type[Exception],
    malformed: type[Exception],
) -> T | None:
    """Parse ``blob`` (spooled if it is a stream) with ``read``; None when it cannot be.

    Never clean when unread: a bound hit is "could not scan", a malformed file is
    that plus a medium ``container.malformed`` finding. ``what`` names the file
    in messages ("ONNX model").
    """
    try:
        handle = blob.binary(scan.options.max_spool)
        return read(handle)  # type: ignore[arg-type]
    except TooLargeToSpool as exc:
        scan.could_not_scan(blob, f"{what} inside a compressed stream is too large ({exc})")
    except limit as exc:
        scan.could_not_scan(blob, f"{what} not read to its end: {exc}")
    except (malformed, OSError) as exc:
        scan.add(Finding(RULE_CONTAINER, Severity.MEDIUM, f"invalid {what}: {exc}", blob.location))
        scan.could_not_scan(blob, f"invalid {what}: {exc}")
    return None
