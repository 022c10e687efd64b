"""NeMo ``.nemo`` archives and Hydra configs: the class paths a config asks to instantiate.

A ``.nemo`` file is a tar of ``model_config.yaml``, ``model_weights.ckpt`` (a
torch checkpoint) and tokenizer files. ``restore_from`` hands the config to
Hydra, which imports and calls every ``_target_`` (CVE-2025-23304), and NeMo
itself imports the top-level ``target``. :func:`instantiation_references`
lists those references from a YAML document, parsed with the project's safe
loader and walked within node bounds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from supplychain._internal.yamlsafe import YAMLError, load_yaml

CONFIG_MEMBER = "model_config.yaml"
#: Largest YAML config read (real NeMo configs are tens of kilobytes).
MAX_YAML = 16 << 20
#: YAML nodes visited per document (aliases are visited once).
MAX_NODES = 1_000_000
#: Keys whose string value names a callable to import: Hydra's ``_target_``,
#: NeMo's top-level ``target``, LightningCLI/jsonargparse's ``class_path``.
INSTANTIATION_KEYS = ("_target_", "target", "class_path")
#: ``target`` is also an ordinary word; only a dotted path there is a reference.
_DOTTED = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+\Z")


class NemoConfigError(ValueError):
    """The YAML cannot be read (message says why)."""


class NemoConfigLimit(ValueError):
    """The YAML has more nodes than the walk reads."""


@dataclass(frozen=True)
class Reference:
    """A callable a config asks to import, at a path in the document."""

    path: str
    key: str
    target: str


def is_nemo_tar(names: Iterable[str]) -> bool:
    """A NeMo archive: ``model_config.yaml`` at the top (NeMo writes ``./`` prefixes)."""
    return any(name.removeprefix("./") == CONFIG_MEMBER for name in names)


def parse_yaml(raw: bytes) -> Any:
    """One YAML document with safe types; raises NemoConfigError (never RecursionError)."""
    if len(raw) > MAX_YAML:
        raise NemoConfigError(f"larger than {MAX_YAML} bytes")
    try:
        return load_yaml(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise NemoConfigError(f"not UTF-8 ({exc.reason})") from None
    except YAMLError as exc:
        raise NemoConfigError(f"not YAML ({str(exc).splitlines()[0]})") from None
    except RecursionError:
        raise NemoConfigError("nests too deeply to read") from None


def instantiation_references(document: Any) -> list[Reference]:
    """Every instantiation reference in ``document``; raises NemoConfigLimit."""
    found = []
    for path, node in _mappings(document):
        for key in INSTANTIATION_KEYS:
            value = node.get(key)
            if not isinstance(value, str) or not value.strip():
                continue
            if key == "target" and not _DOTTED.match(value.strip()):
                continue
            found.append(Reference(f"{path.rstrip('/')}/{key}", key, value.strip()))
    return sorted(found, key=lambda r: r.path)


def _mappings(document: Any) -> Iterator[tuple[str, dict[Any, Any]]]:
    stack: list[tuple[str, Any]] = [("", document)]
    visited: set[int] = set()
    while stack:
        path, node = stack.pop()
        if not isinstance(node, (dict, list)) or id(node) in visited:
            continue
        visited.add(id(node))  # YAML aliases share one object: walk it once
        if len(visited) > MAX_NODES:
            raise NemoConfigLimit(f"more than {MAX_NODES} YAML collections")
        if isinstance(node, dict):
            yield path or "/", node
            stack.extend((f"{path}/{key}", value) for key, value in node.items())
        else:
            stack.extend((f"{path}/{index}", value) for index, value in enumerate(node))
