"""MLflow ``MLmodel``: what ``mlflow.pyfunc.load_model`` imports and unpickles.

A ``loader_module`` outside MLflow is imported on load (code the model ships
or expects installed): high. Pickle files a flavor loads are named (info):
each is scanned as its own file, and this says which loader reads it.
"""

from __future__ import annotations

import yaml

from supplychain._internal.yamlsafe import load_yaml
from supplychain.formats import mlflow
from supplychain.formats.sniff import Format
from supplychain.scanning.blob import Blob
from supplychain.scanning.containers._base import RULE_CONTAINER
from supplychain.scanning.results import Finding, Severity
from supplychain.scanning.scanner import FileScan

RULE_MLFLOW_LOADER = "mlflow.loader-module"
RULE_MLFLOW_PICKLE = "mlflow.pickle-flavor"


def scan_mlmodel(scan: FileScan, blob: Blob, kind: Format, head: bytes) -> None:
    raw = blob.source().read(mlflow.MAX_SIZE + 1)
    if len(raw) > mlflow.MAX_SIZE:
        scan.could_not_scan(blob, f"MLmodel larger than {mlflow.MAX_SIZE} bytes")
        return
    try:
        found = mlflow.flavors(load_yaml(raw.decode("utf-8", "replace")))
    except (yaml.YAMLError, RecursionError) as exc:
        found = None
        problem = f"MLmodel is not readable YAML: {str(exc).splitlines()[0]}"
    else:
        problem = "MLmodel has no flavors mapping"
    if found is None:
        scan.add(Finding(RULE_CONTAINER, Severity.MEDIUM, problem, blob.location))
        scan.could_not_scan(blob, problem)
        return
    for flavor in found:
        _report(scan, blob, flavor)


def _report(scan: FileScan, blob: Blob, flavor: mlflow.Flavor) -> None:
    loader = flavor.loader_module
    if loader is not None and not loader.startswith(mlflow.TRUSTED_LOADER_PREFIX):
        scan.add(
            Finding(
                RULE_MLFLOW_LOADER,
                Severity.HIGH,
                f"MLflow flavor {flavor.name!r} imports loader_module {loader!r} when the "
                "model loads (code outside MLflow); review that module or load only in a sandbox",
                blob.location,
            )
        )
    for name in flavor.pickles:
        scan.add(
            Finding(
                RULE_MLFLOW_PICKLE,
                Severity.INFO,
                f"MLflow flavor {flavor.name!r} unpickles {name!r}"
                f" ({flavor.serializer or 'cloudpickle'}); that file is scanned on its own",
                blob.location,
            )
        )
