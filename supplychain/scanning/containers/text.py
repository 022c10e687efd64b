"""Text files that a loader interprets: chat templates (``*.jinja``) and YAML configs.

A server renders a standalone ``chat_template.jinja`` exactly as it renders
the ``chat_template`` of tokenizer_config.json, and Hydra instantiates what a
YAML config names; each gets its format's checks. (Text that a loader would
unpickle was already analysed by the byte-0 probe, ``containers/polyglot.py``.)
"""

from __future__ import annotations

from supplychain.formats.sniff import Format
from supplychain.scanning import templates
from supplychain.scanning.blob import Blob
from supplychain.scanning.containers.files import scan_json
from supplychain.scanning.containers.keras import scan_keras_json
from supplychain.scanning.containers.nemo import YAML_SUFFIXES, check_yaml_config
from supplychain.scanning.scanner import FileScan


def scan_text(scan: FileScan, blob: Blob, kind: Format, head: bytes) -> None:
    name = blob.name.lower()
    if name.endswith(templates.TEMPLATE_SUFFIXES):
        scan.refine(blob, Format.CHAT_TEMPLATE)
        _check_template(scan, blob)
    elif name.endswith(YAML_SUFFIXES):
        check_yaml_config(scan, blob)


def scan_json_or_template(scan: FileScan, blob: Blob, kind: Format, head: bytes) -> None:
    """Templates open with ``{{`` or ``{%``, so sniffing takes many of them for JSON."""
    if blob.name.lower().endswith(templates.TEMPLATE_SUFFIXES):
        scan.refine(blob, Format.CHAT_TEMPLATE)
        _check_template(scan, blob)
        return
    if b'"class_name"' in head:
        scan_keras_json(scan, blob)
    scan_json(scan, blob, kind, head)


def _check_template(scan: FileScan, blob: Blob) -> None:
    raw = blob.source().read(templates.MAX_TEMPLATE + 1)
    if len(raw) > templates.MAX_TEMPLATE:
        scan.could_not_scan(blob, f"chat template larger than {templates.MAX_TEMPLATE} bytes")
    text = raw[: templates.MAX_TEMPLATE].decode("utf-8", "replace")
    scan.extend(templates.check(text, blob.location, blob.name))
