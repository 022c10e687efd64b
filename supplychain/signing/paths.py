"""Where a model's signature lives by default (a light module: no cryptography imports)."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_SIGNATURE = "model.sig"


def default_signature_path(model: str | os.PathLike[str]) -> Path:
    """Where a model's signature lives unless told otherwise: it travels with the model.

    ``MODEL/model.sig`` for a directory (the OMS name; excluded from what it
    signs), ``FILE.sig`` beside a single-file model.
    """
    path = Path(model)
    if path.is_dir():
        return path / DEFAULT_SIGNATURE
    return path.with_name(path.name + ".sig")
