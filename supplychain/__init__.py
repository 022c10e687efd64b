"""supplychain: model supply-chain security (hash, sign, scan, convert, AI-BOM, gate).

The public API is imported lazily so that ``import supplychain`` (and the CLI's
start-up) stays cheap; ``from supplychain import hash_model`` works as usual.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from supplychain._version import __version__

#: public name -> module that defines it
_PUBLIC: dict[str, str] = {
    "hash_model": "supplychain.hashing",
    "HashResult": "supplychain.hashing",
    "walk_model": "supplychain.model.tree",
    "ModelTree": "supplychain.model.tree",
    "SupplychainError": "supplychain.errors",
    "sign": "supplychain.signing",
    "verify": "supplychain.signing",
    "SignResult": "supplychain.signing",
    "VerifyResult": "supplychain.signing",
    "build_bom": "supplychain.bom",
    "write_cyclonedx": "supplychain.bom",
    "scan": "supplychain.scanning",
    "ScanReport": "supplychain.scanning",
    "FileResult": "supplychain.scanning",
    "Finding": "supplychain.scanning",
    "Severity": "supplychain.scanning",
    "convert": "supplychain.conversion",
    "ConversionReport": "supplychain.conversion",
    "check_model": "supplychain.gate",
    "ensure_deployable": "supplychain.gate",
    "GateReport": "supplychain.gate",
    "GateFailed": "supplychain.gate",
    "load_policy": "supplychain.policy",
}

__all__ = ["__version__", *sorted(_PUBLIC)]

if TYPE_CHECKING:  # names re-exported lazily through __getattr__
    from supplychain.bom import build_bom, write_cyclonedx  # noqa: F401
    from supplychain.conversion import ConversionReport, convert  # noqa: F401
    from supplychain.errors import SupplychainError  # noqa: F401
    from supplychain.gate import GateFailed, GateReport, check_model, ensure_deployable  # noqa: F401
    from supplychain.hashing import HashResult, hash_model  # noqa: F401
    from supplychain.model.tree import ModelTree, walk_model  # noqa: F401
    from supplychain.policy import load_policy  # noqa: F401
    from supplychain.scanning import (  # noqa: F401
        FileResult,
        Finding,
        ScanReport,
        Severity,
        scan,
    )
    from supplychain.signing import SignResult, VerifyResult, sign, verify  # noqa: F401


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'supplychain' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
