"""Keras models (v3 ``.keras`` zips and HDF5 ``.h5``): the config vectors that run code on load.

Keras deserializes the architecture before it looks at any weights, so the
config alone decides what loading runs: Lambda bytecode, classes imported
from a ``module`` outside Keras (CVE-2025-1550), a TorchModuleWrapper that
torch.loads an embedded pickle (CVE-2025-49655), and Keras-internal
functions a config may call (``enable_unsafe_deserialization``,
CVE-2025-9906; ``get_file``, CVE-2025-8747). The reviewed lists live in
``data/keras.json``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from supplychain.formats import compression, keras
from supplychain.formats.sniff import Format
from supplychain.formats.ziparchive import ZipArchive, member_source
from supplychain.picklevm import Source
from supplychain.picklevm.source import SourceError
from supplychain.scanning.blob import Blob, TooLargeToSpool
from supplychain.scanning.containers._base import RULE_CONTAINER, RULE_KERAS_LAMBDA
from supplychain.scanning.containers._data import reviewed_table
from supplychain.scanning.results import Finding, Severity
from supplychain.scanning.scanner import FileScan

RULE_KERAS_MODULE = "keras.untrusted-module"
RULE_KERAS_FUNCTION = "keras.dangerous-function"
RULE_KERAS_TORCH = "keras.torch-module-wrapper"
#: Config nodes (dicts, lists, scalars) walked before the walk gives up (a cap, not a verdict).
MAX_NODES = 2_000_000
_TORCH_WRAPPER = "TorchModuleWrapper"
#: Keys whose string value Keras resolves to a function or class (never a layer's own "name").
_REFERENCE_KEYS = ("class_name", "registered_name", "config", "function")


@dataclass(frozen=True)
class ConfigIssue:
    """One code vector in a Keras config, at a JSON path."""

    rule: str
    severity: Severity
    path: str
    message: str
    #: base64 text of an embedded torch.save (TorchModuleWrapper), scanned as a file of its own.
    embedded: str | None = None


class ConfigTooLarge(ValueError):
    """The config has more nodes than the walk reads."""


def scan_keras_zip_config(
    scan: FileScan,
    blob: Blob,
    handle: object,
    archive: ZipArchive,
    label: str = "",
    budget: compression.DecompressionBudget | None = None,
) -> None:
    """Check ``config.json`` of a v3 archive (called by the zip reader for each reading of it;
    ``label`` names the reading, ``budget`` is the file's decompression budget)."""
    where = _join(blob.location, keras.CONFIG_MEMBER + label)
    member = archive.get(keras.CONFIG_MEMBER)
    if member is None or not member.readable or member.size > keras.MAX_CONFIG:
        scan.could_not_scan(blob, "the Keras config.json is unreadable or too large")
        return
    try:
        source = member_source(
            handle,  # type: ignore[arg-type]
            member,
            cap=keras.MAX_CONFIG,
            budget=budget,
        )
        raw = source.read(keras.MAX_CONFIG + 1)
    except SourceError as exc:
        scan.could_not_scan(blob, f"the Keras config.json cannot be read: {exc}")
        return
    _check_document(scan, blob, raw, where)


def scan_hdf5(scan: FileScan, blob: Blob, kind: Format, head: bytes) -> None:
    """HDF5: a Keras model keeps its architecture in root attributes; read them with h5py."""
    try:
        handle = blob.binary(scan.options.max_spool)
        configs = keras.read_hdf5_configs(handle)  # type: ignore[arg-type]
    except TooLargeToSpool as exc:
        scan.could_not_scan(blob, f"HDF5 file inside a compressed stream is too large ({exc})")
        return
    except keras.Hdf5Unavailable:
        scan.could_not_scan(
            blob,
            "HDF5 (Keras .h5) needs h5py to be inspected for Lambda layers and foreign "
            "modules: pip install 'supplychain[keras]'",
        )
        return
    except keras.KerasFormatError as exc:
        scan.add(Finding(RULE_CONTAINER, Severity.MEDIUM, f"invalid HDF5: {exc}", blob.location))
        scan.could_not_scan(blob, f"invalid HDF5: {exc}")
        return
    for attribute, raw in configs.documents:
        _check_document(scan, blob, raw, _join(blob.location, f"@{attribute}"))


def scan_keras_json(scan: FileScan, blob: Blob) -> None:
    """A JSON file shaped like a Keras config (top-level ``class_name`` and ``config``).

    ``load_model`` deserializes config.json before it looks for weights, so a
    zip holding only a config.json (or a config.json on its own) runs the
    same vectors as a complete archive.
    """
    raw = blob.source().read(keras.MAX_CONFIG + 1)
    try:
        config = keras.parse_config(raw, blob.name)
    except keras.KerasFormatError:
        return  # not JSON Keras could read either; the JSON reader reports what it must
    if isinstance(config, dict) and "class_name" in config and "config" in config:
        _report(scan, blob, config, blob.location or blob.name)


def _check_document(scan: FileScan, blob: Blob, raw: bytes, where: str) -> None:
    try:
        config = keras.parse_config(raw, where or blob.name)
    except keras.KerasFormatError as exc:
        scan.add(Finding(RULE_CONTAINER, Severity.MEDIUM, f"Keras config: {exc}", where))
        scan.could_not_scan(blob, f"Keras config unreadable: {exc}")
        return
    _report(scan, blob, config, where)


def report_config(scan: FileScan, blob: Blob, config: Any, where: str) -> None:
    """Findings for one parsed Keras config (also used for TF-Keras keras_metadata.pb)."""
    _report(scan, blob, config, where)


def _report(scan: FileScan, blob: Blob, config: Any, where: str) -> None:
    try:
        issues = config_issues(config)
    except ConfigTooLarge as exc:
        scan.could_not_scan(blob, f"Keras config not read to its end: {exc}")
        return
    for issue in issues:
        scan.add(Finding(issue.rule, issue.severity, f"{issue.message} (at {issue.path})", where))
        if issue.embedded is not None:
            _scan_embedded_module(scan, blob, issue, where)


def _scan_embedded_module(scan: FileScan, blob: Blob, issue: ConfigIssue, where: str) -> None:
    """The wrapper's ``module`` is base64 of a torch.save: scan it like any checkpoint."""
    try:
        data = base64.b64decode(issue.embedded or "", validate=True)
    except (binascii.Error, ValueError):
        scan.add(
            Finding(
                RULE_CONTAINER,
                Severity.MEDIUM,
                f"TorchModuleWrapper module at {issue.path} is not base64",
                where,
            )
        )
        return
    child = Blob(
        f"{where}:{issue.path}",
        "module.pt",
        len(data),
        lambda: Source.from_bytes(data),
        True,
        blob.depth + 1,
    )
    scan.scan_blob(child)


def config_issues(config: Any) -> list[ConfigIssue]:
    """Every code vector in a parsed Keras config (sorted by path); raises ConfigTooLarge."""
    table = reviewed_table("keras.json")
    issues: list[ConfigIssue] = []
    for path, node in _walk(config):
        if not isinstance(node, dict):
            continue
        issues.extend(_node_issues(table, path, node))
        for key in _REFERENCE_KEYS:
            value = node.get(key)
            if isinstance(value, str) and len(value) < 256:
                issues.extend(_function_issues(table, f"{path.rstrip('/')}/{key}", value))
    return sorted(issues, key=lambda i: (i.path, i.rule))


def _node_issues(table: Any, path: str, node: dict[str, Any]) -> Iterator[ConfigIssue]:
    class_name = node.get("class_name")
    if isinstance(class_name, str) and class_name in table["code_classes"]:
        entry = table["code_classes"][class_name]
        embedded = _embedded_module(node) if class_name == _TORCH_WRAPPER else None
        rule = RULE_KERAS_TORCH if class_name == _TORCH_WRAPPER else RULE_KERAS_LAMBDA
        yield ConfigIssue(
            rule, Severity(entry["severity"]), path, f"Keras {class_name}: {entry['why']}", embedded
        )
    module = node.get("module")
    if isinstance(module, str) and module and "class_name" in node:
        problem = _module_problem(table, module, class_name)
        if problem is not None:
            yield ConfigIssue(RULE_KERAS_MODULE, problem[0], path, problem[1])


def _module_problem(table: Any, module: str, class_name: object) -> tuple[Severity, str] | None:
    package = module.split(".", 1)[0]
    if package in table["trusted_packages"]:
        return None
    if module == table["builtin_function_module"] and class_name == "function":
        return None  # Keras resolves these names against its own activations and losses
    severity = Severity.CRITICAL if package in table["critical_packages"] else Severity.HIGH
    return severity, (
        f"Keras config imports {module}.{class_name}, outside Keras: loading imports and calls "
        "it (CVE-2025-1550); remove the reference or load only with vetted custom_objects"
    )


def _function_issues(table: Any, path: str, text: str) -> Iterator[ConfigIssue]:
    name = text.rsplit(".", 1)[-1].rsplit(">", 1)[-1]
    entry = table["dangerous_functions"].get(name)
    if entry is not None:
        yield ConfigIssue(
            RULE_KERAS_FUNCTION,
            Severity(entry["severity"]),
            path,
            f"Keras config names {text!r}: it {entry['why']}",
        )


def _embedded_module(node: dict[str, Any]) -> str | None:
    config = node.get("config")
    module = config.get("module") if isinstance(config, dict) else None
    return module if isinstance(module, str) else None


def _walk(config: Any) -> Iterator[tuple[str, Any]]:
    """(JSON path, node) for every node, iteratively and within MAX_NODES."""
    stack: list[tuple[str, Any]] = [("", config)]
    seen = 0
    while stack:
        path, node = stack.pop()
        seen += 1
        if seen > MAX_NODES:
            raise ConfigTooLarge(f"more than {MAX_NODES} JSON values")
        yield path or "/", node
        if isinstance(node, dict):
            stack.extend((f"{path}/{key}", value) for key, value in node.items())
        elif isinstance(node, list):
            stack.extend((f"{path}/{index}", value) for index, value in enumerate(node))


def _join(location: str, name: str) -> str:
    return f"{location}!{name}" if location and name else (location or name)
