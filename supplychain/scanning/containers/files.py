"""Single-format files: numpy arrays, safetensors, JSON chat templates, GGUF, the rest."""

from __future__ import annotations

import json
import struct

from supplychain.formats import gguf, joblib, numpy, safetensors
from supplychain.formats.sniff import Format
from supplychain.picklevm import Source, SourceError
from supplychain.scanning import templates
from supplychain.scanning.blob import Blob
from supplychain.scanning.containers._base import (
    RULE_CONTAINER,
    RULE_OBJECT_ARRAY,
    RULE_SAFETENSORS,
    Handler,
)
from supplychain.scanning.containers.archives import scan_compressed
from supplychain.scanning.containers.streams import scan_pickle_stream
from supplychain.scanning.results import Finding, Severity
from supplychain.scanning.scanner import FileScan


def scan_npy(scan: FileScan, blob: Blob, kind: Format, head: bytes) -> None:
    try:
        header = numpy.parse_npy_header(_npy_header_bytes(blob, head))
    except numpy.NpyHeaderTooLarge as exc:
        scan.could_not_scan(blob, exc.problem)
        return
    except SourceError as exc:
        scan.could_not_scan(blob, f"reading the .npy header: {exc}")
        return
    except numpy.NumpyFormatError as exc:
        scan.add(
            Finding(RULE_CONTAINER, Severity.MEDIUM, f"invalid .npy: {exc.problem}", blob.location)
        )
        return
    if not header.has_object:
        return
    scan.add(
        Finding(
            RULE_OBJECT_ARRAY,
            Severity.MEDIUM,
            "object array: its elements are a pickle (np.load needs allow_pickle=True)",
            blob.location,
            header.data_offset,
        )
    )

    def at() -> Source:
        source = blob.source()
        source.skip(header.data_offset)
        return source

    scan_pickle_stream(scan, blob, at, blob.location)


def _npy_header_bytes(blob: Blob, head: bytes) -> bytes:
    """All of the header: numpy with allow_pickle=True reads one of any length."""
    _, start, length = numpy.header_span(head)
    if start + length <= len(head):
        return head
    return blob.source().read(start + length)


def scan_safetensors(scan: FileScan, blob: Blob, kind: Format, head: bytes) -> None:
    source = blob.source()
    prefix = source.read(8)
    (length,) = struct.unpack("<Q", prefix)
    raw = source.read(min(length, safetensors.MAX_HEADER_SIZE))
    from pathlib import Path

    try:
        safetensors.parse_header(raw, blob.size or 0, Path(blob.location or blob.name))
    except safetensors.SafetensorsError as exc:
        scan.add(Finding(RULE_SAFETENSORS, Severity.MEDIUM, exc.problem, blob.location))


def unsupported(reason: str) -> Handler:
    def handler(scan: FileScan, blob: Blob, kind: Format, head: bytes) -> None:
        scan.could_not_scan(blob, reason)

    return handler


MAX_JSON = 64 << 20


def scan_json(scan: FileScan, blob: Blob, kind: Format, head: bytes) -> None:
    """JSON runs nothing, except a chat template a server renders (tokenizer_config.json)."""
    if b"chat_template" not in head and not blob.name.endswith("tokenizer_config.json"):
        if blob.size is None or blob.size > len(head):
            if b"chat_template" not in blob.source().read(MAX_JSON):
                return
        else:
            return
    try:
        config = json.loads(blob.source().read(MAX_JSON))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return
    for name, template in templates.chat_templates(config):
        scan.extend(templates.check(template, blob.location, name))


def scan_gguf(scan: FileScan, blob: Blob, kind: Format, head: bytes) -> None:
    """GGUF runs no Python, but its chat templates are rendered by the server."""
    try:
        metadata = gguf.read_metadata(blob.source())
    except gguf.GgufFormatError as exc:
        scan.add(
            Finding(RULE_CONTAINER, Severity.MEDIUM, f"invalid GGUF: {exc.problem}", blob.location)
        )
        scan.could_not_scan(blob, f"GGUF metadata unreadable: {exc.problem}")
        return
    for key, value in metadata.values.items():
        if key.startswith("tokenizer.chat_template") and isinstance(value, str):
            scan.extend(templates.check(value, blob.location, key))


def nothing_to_run(scan: FileScan, blob: Blob, kind: Format, head: bytes) -> None:
    """Formats whose loaders never run Python code."""


def unknown(scan: FileScan, blob: Blob, kind: Format, head: bytes) -> None:
    """No reader claims it (a pickle from byte 0 was ruled out before, see ``polyglot``)."""
    if joblib.zfile_payload_offset(head) is not None:
        scan_compressed(scan, blob, Format.UNKNOWN, head)
