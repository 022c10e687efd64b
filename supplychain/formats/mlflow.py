"""MLflow ``MLmodel`` files: the YAML that tells ``mlflow.pyfunc.load_model`` how to load a model.

Identified by structure: a top-level ``flavors:`` mapping next to MLflow's own
keys. Each flavor names what loading runs: ``python_function`` imports its
``loader_module``, and pickle-based flavors unpickle a file of the model
directory (``python_model`` for custom pyfunc models, ``pickled_model`` for
scikit-learn, ...), with cloudpickle or pickle.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

#: ``flavors:`` at column 0, and a key only MLflow writes.
_FLAVORS = re.compile(rb"(?m)^flavors:[ \t]*\r?$")
_MLFLOW_KEY = re.compile(rb"(?m)^(mlflow_version|model_uuid|utc_time_created):|^\s+loader_module:")
#: MLmodel files are a few hundred bytes; a larger one is not read.
MAX_SIZE = 1 << 20
#: Flavor keys that name a pickle file the flavor unpickles.
PICKLE_KEYS = ("python_model", "pickled_model", "model_path", "data")
#: Loader modules that ship with MLflow (the package ``mlflow.``).
TRUSTED_LOADER_PREFIX = "mlflow."


@dataclass(frozen=True)
class Flavor:
    name: str
    loader_module: str | None
    #: Files of the model directory the flavor unpickles, and with what.
    pickles: tuple[str, ...]
    serializer: str | None


def looks_like_mlmodel(head: bytes) -> bool:
    return bool(_FLAVORS.search(head)) and bool(_MLFLOW_KEY.search(head))


def flavors(document: Any) -> tuple[Flavor, ...] | None:
    """The flavors of a parsed MLmodel, or None when it has no ``flavors`` mapping."""
    if not isinstance(document, dict) or not isinstance(document.get("flavors"), dict):
        return None
    found = []
    for name, spec in document["flavors"].items():
        spec = spec if isinstance(spec, dict) else {}
        loader = spec.get("loader_module")
        pickles = tuple(str(spec[k]) for k in PICKLE_KEYS if isinstance(spec.get(k), str))
        serializer = spec.get("serialization_format") or spec.get("pickle_module_name")
        found.append(
            Flavor(
                str(name),
                str(loader) if loader is not None else None,
                pickles if _unpickles(str(name), spec) else (),
                str(serializer) if serializer is not None else None,
            )
        )
    return tuple(found)


def _unpickles(name: str, spec: dict[str, Any]) -> bool:
    # custom pyfunc models are cloudpickled; sklearn-style flavors say their format
    if "python_model" in spec:
        return True
    return "serialization_format" in spec or "pickle_module_name" in spec
