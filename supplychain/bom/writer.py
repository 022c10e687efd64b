"""Serialise AI-BOM facts to validated, deterministic CycloneDX JSON and write it atomically."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import uuid
from typing import Any

from supplychain._internal.atomic import write_bytes_atomic
from supplychain.bom.cyclonedx import CycloneDxWriter
from supplychain.bom.model import AiBom
from supplychain.bom.validate import SPEC_VERSIONS, check_document
from supplychain.errors import InputError
from supplychain.output import json_text

DEFAULT_SPEC_VERSION = "1.6"
#: Namespace of reproducible serial numbers (uuid5 over the document's content).
SERIAL_NAMESPACE = uuid.UUID("6c1d7c1e-5a3b-5d4e-9f61-5f0d1b0c9a11")
#: Timestamp of a reproducible BOM when SOURCE_DATE_EPOCH is not set.
EPOCH = "1970-01-01T00:00:00Z"


def render_cyclonedx(
    bom: AiBom,
    spec_version: str = DEFAULT_SPEC_VERSION,
    *,
    reproducible: bool = False,
    timestamp: str | None = None,
) -> bytes:
    """The BOM as CycloneDX JSON, strictly validated; raises instead of returning a broken BOM.

    Output is deterministic: the same facts give the same bytes except the serial
    number and timestamp. ``reproducible`` pins those too: the timestamp comes
    from ``SOURCE_DATE_EPOCH`` (else 1970-01-01T00:00:00Z) and the serial number
    is a UUIDv5 of the rest of the document.
    """
    if spec_version not in SPEC_VERSIONS:
        raise InputError(
            f"CycloneDX {spec_version} is not supported",
            hint=f"choose one of {', '.join(SPEC_VERSIONS)}",
        )
    when = timestamp or (reproducible_timestamp() if reproducible else _now())
    document = CycloneDxWriter(bom, spec_version).document(
        "urn:uuid:" + str(uuid.UUID(int=0)), when
    )
    if reproducible:
        digest = hashlib.sha256(_dumps(document)).hexdigest()
        document["serialNumber"] = f"urn:uuid:{uuid.uuid5(SERIAL_NAMESPACE, digest)}"
    else:
        document["serialNumber"] = f"urn:uuid:{uuid.uuid4()}"
    check_document(document, spec_version)
    return _dumps(document)


def write_cyclonedx(
    bom: AiBom,
    path: str | os.PathLike[str],
    spec_version: str = DEFAULT_SPEC_VERSION,
    *,
    reproducible: bool = False,
) -> bytes:
    """Validate, then write the BOM to ``path`` atomically; returns the bytes written."""
    data = render_cyclonedx(bom, spec_version, reproducible=reproducible)
    write_bytes_atomic(path, data)
    return data


def reproducible_timestamp() -> str:
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not epoch:
        return EPOCH
    try:
        seconds = int(epoch)
    except ValueError:
        raise InputError(
            f"SOURCE_DATE_EPOCH={epoch!r} is not an integer number of seconds",
            hint="unset it, or set it to e.g. the last commit's time (git log -1 --format=%ct)",
        ) from None
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _dumps(document: Any) -> bytes:
    # json_text also escapes the C1 controls a file name may hold: `bom` prints to stdout.
    return (json_text(document) + "\n").encode("utf-8")
