"""Compare a conversion with ``torch.load(weights_only=True)``, tensor for tensor.

Used only on files the tests wrote themselves. The loaded object is reached
at the conversion's selected key and flattened the way the converter names
tensors (keys and indexes joined with ``.``, optimizer state left out, the
stripped prefix removed); then every name must be in the output (directly or
as a tied alias) with the same dtype, shape and bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conversion import checkpoints
from tests.conversion.reading import read_safetensors


def torch_load(path: Path) -> tuple[Any, str | None]:
    """(what torch reads, None) or (None, why torch refuses)."""
    import warnings

    import torch

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True), None
    except Exception as exc:  # torch refuses with many exception types
        return None, f"{type(exc).__name__}: {str(exc)[:200]}"


def flatten(
    loaded: Any, selected: tuple[str, ...], stripped: str, *, explicit: bool
) -> dict[str, Any]:
    import torch

    node = loaded
    for key in selected:
        node = node[int(key)] if isinstance(node, (list, tuple)) else _item(node, key)
    found: dict[str, Any] = {}

    def visit(value: Any, parts: tuple[str, ...], depth: int) -> None:
        if isinstance(value, torch.Tensor):
            found[".".join(parts)] = value
        elif isinstance(value, dict):
            if set(value) == {"state", "param_groups"} and (depth or not explicit):
                return
            for key, item in value.items():
                if isinstance(key, str) or (isinstance(key, int) and not isinstance(key, bool)):
                    visit(item, (*parts, str(key)), depth + 1)
        elif isinstance(value, (list, tuple)):
            for index, item in enumerate(value):
                visit(item, (*parts, str(index)), depth + 1)

    visit(node, (), 0)
    if stripped:
        found = {name.removeprefix(stripped): tensor for name, tensor in found.items()}
    return found


def _item(mapping: Any, key: str) -> Any:
    if key in mapping:
        return mapping[key]
    return mapping[int(key)]


def assert_equal(output: Path, reference: dict[str, Any]) -> None:
    """The safetensors file holds exactly ``reference`` (name, dtype, shape, bytes)."""
    import torch

    metadata, ours = read_safetensors(output)
    aliases = {k: v for k, v in metadata.items() if k != "format"}
    assert set(ours) | set(aliases) == set(reference), (sorted(ours), sorted(reference))
    for name, tensor in reference.items():
        got = ours[aliases.get(name, name)]
        want = checkpoints.expected(torch, tensor)
        assert (got["dtype"], got["shape"], got["blake3"]) == (
            want["dtype"],
            want["shape"],
            want["blake3"],
        ), name
