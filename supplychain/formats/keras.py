"""Keras models: the v3 ``.keras`` zip and the Keras 2 HDF5 ``.h5``, read for their config only.

A v3 archive is a zip holding ``config.json`` (the model's architecture, which
Keras deserializes first) and its weights as ``model.weights.h5`` or
``model.weights.npz``. A Keras 2 (or Keras 3 legacy) HDF5 file keeps the same
architecture as JSON in the root group's ``model_config`` attribute. HDF5 is
read with h5py, an optional extra (``supplychain[keras]``): without it the
file cannot be judged, and callers must say so.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, BinaryIO

CONFIG_MEMBER = "config.json"
METADATA_MEMBER = "metadata.json"
#: Weights members Keras 3 writes beside config.json (saving_lib: H5IOStore / NpzIOStore).
WEIGHTS_SUFFIXES = (".weights.h5", ".weights.npz")
#: Root-group attributes of a Keras HDF5 file that hold JSON Keras deserializes.
HDF5_CONFIG_ATTRIBUTES = ("model_config", "training_config")
#: Largest config (JSON text) read; Keras configs are kilobytes, large ones a few megabytes.
MAX_CONFIG = 64 << 20


class KerasFormatError(ValueError):
    """The file is not a well-formed Keras model (message says why)."""


class Hdf5Unavailable(RuntimeError):
    """h5py is not installed, so HDF5 attributes cannot be read."""


def is_keras_zip(names: Iterable[str]) -> bool:
    """A v3 archive: ``config.json`` at the top beside ``metadata.json`` or a weights member."""
    members = set(names)
    return CONFIG_MEMBER in members and (
        METADATA_MEMBER in members or any(n.endswith(WEIGHTS_SUFFIXES) for n in members)
    )


def parse_config(raw: bytes, where: str) -> Any:
    """The JSON config in ``raw``; raises KerasFormatError (never RecursionError)."""
    from supplychain.formats.safetensors import nests_too_deep

    if len(raw) > MAX_CONFIG:
        raise KerasFormatError(f"{where} is larger than {MAX_CONFIG} bytes")
    if nests_too_deep(raw, max_depth=MAX_CONFIG_DEPTH):
        raise KerasFormatError(
            f"{where} nests deeper than {MAX_CONFIG_DEPTH} levels or its brackets do not match"
        )
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise KerasFormatError(f"{where} is not JSON ({exc})") from None


#: Functional models nest layers inside models inside layers; 64 levels is far beyond any real one.
MAX_CONFIG_DEPTH = 64


@dataclass(frozen=True)
class Hdf5Configs:
    """The Keras JSON documents of an HDF5 file (empty for plain HDF5 or a weights-only file)."""

    #: attribute name -> JSON text
    documents: tuple[tuple[str, bytes], ...]


def read_hdf5_configs(handle: BinaryIO) -> Hdf5Configs:
    """Read the root group's Keras attributes with h5py (attributes only, never datasets).

    Raises Hdf5Unavailable without h5py and KerasFormatError for a file h5py refuses.
    """
    try:
        import h5py
    except ImportError:
        raise Hdf5Unavailable("h5py is not installed") from None
    documents = []
    try:
        with h5py.File(handle, "r") as hdf5:
            for name in HDF5_CONFIG_ATTRIBUTES:
                if name not in hdf5.attrs:
                    continue
                size = hdf5.attrs.get_id(name).get_storage_size()
                if size > MAX_CONFIG:
                    raise KerasFormatError(f"attribute {name} is larger than {MAX_CONFIG} bytes")
                documents.append((name, _text(hdf5.attrs[name])))
    except KerasFormatError:
        raise
    except Exception as exc:  # h5py raises OSError, KeyError, ValueError... on hostile files
        raise KerasFormatError(f"h5py cannot read the file ({type(exc).__name__}: {exc})") from None
    return Hdf5Configs(tuple(documents))


def _text(value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    # numpy scalars/arrays of bytes (h5py returns these for fixed-length strings)
    item = getattr(value, "tobytes", None)
    return item() if callable(item) else str(value).encode()
