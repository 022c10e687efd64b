"""The provenance file (YAML or JSON): what a model's files cannot say, declared by its producer.

Validated against ``schemas/provenance.schema.json`` and parsed once into typed
records; nothing downstream sees the raw document.
"""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from supplychain._internal.safeopen import (
    CONVERSION_RECORD,
    PROVENANCE,
    decode_utf8,
    parse_json,
    read_bytes,
    read_json,
)
from supplychain._internal.schemas import load_schema
from supplychain._internal.yamlsafe import YAMLError, load_yaml
from supplychain.bom.model import Energy, Training
from supplychain.errors import InputError, ModelTreeError
from supplychain.licenses import LicenseDeclaration, resolve
from supplychain.model.tree import check_resource_name

SCHEMA_NAME = "provenance.schema.json"
SOURCE = "provenance file"


class ProvenanceError(InputError):
    """The provenance file is unreadable or does not follow its schema."""


@dataclass(frozen=True)
class DeclaredBaseModel:
    repo_id: str
    relation: str | None = None
    revision: str | None = None
    license: LicenseDeclaration | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class DeclaredDataset:
    name: str
    version: str | None = None
    url: str | None = None
    license: LicenseDeclaration | None = None
    roles: tuple[str, ...] = ()
    collected_from: str | None = None
    collected_to: str | None = None
    hashes: tuple[tuple[str, str], ...] = ()
    classification: str | None = None
    sensitive_data: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()
    custodians: tuple[str, ...] = ()
    stewards: tuple[str, ...] = ()
    description: str | None = None


@dataclass(frozen=True)
class DeclaredConversion:
    source_name: str
    source_sha256: str
    output_name: str
    output_sha256: str
    tool_name: str
    tool_version: str
    timestamp: str | None = None
    command: str | None = None


@dataclass(frozen=True)
class Provenance:
    """A parsed, schema-valid provenance file."""

    path: Path
    sha256: str
    model_name: str | None = None
    model_version: str | None = None
    repository_url: str | None = None
    model_licenses: tuple[LicenseDeclaration, ...] = ()
    gated: bool | None = None
    base_models: tuple[DeclaredBaseModel, ...] = ()
    datasets: tuple[DeclaredDataset, ...] = ()
    training: Training | None = None
    conversions: tuple[DeclaredConversion, ...] = ()


def load_provenance(path: str | os.PathLike[str]) -> Provenance:
    """Read, validate and parse the provenance file at ``path``."""
    file = Path(path)
    raw = read_bytes(file, PROVENANCE, error=ProvenanceError)
    document = _parse(raw, file)
    _validate(document, file)
    return _typed(document, file, hashlib.sha256(raw).hexdigest())


def _parse(raw: bytes, file: Path) -> Any:
    text = decode_utf8(raw, file, "provenance file", ProvenanceError)
    if file.suffix.lower() == ".json":
        return parse_json(text, path=file, what="provenance file", error=ProvenanceError)
    try:
        return load_yaml(text)
    except YAMLError as exc:
        raise ProvenanceError(
            f"the provenance file is not valid YAML: {str(exc).splitlines()[0]}", path=file
        ) from None


@functools.lru_cache(maxsize=1)
def _validator() -> Any:
    from supplychain._internal.jsonschemas import validator

    return validator(load_schema(SCHEMA_NAME))


def _validate(document: Any, file: Path) -> None:
    errors = sorted(_validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    if not errors:
        return
    first = errors[0]
    pointer = "/" + "/".join(str(p) for p in first.absolute_path)
    more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
    raise ProvenanceError(
        f"{pointer}: {first.message}{more}",
        path=file,
        hint=f"the provenance file must follow schemas/{SCHEMA_NAME} (provenance_version: 1)",
    )


def license_declaration(value: Any, source: str = SOURCE) -> LicenseDeclaration | None:
    """A schema ``license`` value (string or {id, name, url}) as a declaration."""
    if value is None:
        return None
    if isinstance(value, str):
        return LicenseDeclaration(value, source=source)
    return LicenseDeclaration(
        value.get("id"), name=value.get("name"), url=value.get("url"), source=source
    )


def _typed(document: dict[str, Any], file: Path, sha256: str) -> Provenance:
    model = document.get("model") or {}
    return Provenance(
        path=file,
        sha256=sha256,
        model_name=model.get("name"),
        model_version=model.get("version"),
        repository_url=model.get("repository_url"),
        model_licenses=tuple(d for d in map(license_declaration, model.get("licenses") or ()) if d),
        gated=model.get("gated"),
        base_models=tuple(_base_model(b) for b in document.get("base_models") or ()),
        datasets=tuple(_dataset(d) for d in document.get("datasets") or ()),
        training=_training(document.get("training")),
        conversions=tuple(_conversion(c, file) for c in document.get("conversions") or ()),
    )


def _base_model(raw: dict[str, Any]) -> DeclaredBaseModel:
    return DeclaredBaseModel(
        repo_id=raw["repo_id"],
        relation=raw.get("relation"),
        revision=raw.get("revision"),
        license=license_declaration(raw.get("license")),
        sha256=(raw.get("sha256") or "").lower() or None,
    )


def _dataset(raw: dict[str, Any]) -> DeclaredDataset:
    collection = raw.get("collection") or {}
    governance = raw.get("governance") or {}
    return DeclaredDataset(
        name=raw["name"],
        version=raw.get("version"),
        url=raw.get("url"),
        license=license_declaration(raw.get("license")),
        roles=tuple(raw.get("roles") or ()),
        collected_from=collection.get("start"),
        collected_to=collection.get("end"),
        hashes=tuple((h["alg"], h["value"].lower()) for h in raw.get("hashes") or ()),
        classification=raw.get("classification"),
        sensitive_data=tuple(raw.get("sensitive_data") or ()),
        owners=tuple(governance.get("owners") or ()),
        custodians=tuple(governance.get("custodians") or ()),
        stewards=tuple(governance.get("stewards") or ()),
        description=raw.get("description"),
    )


def _training(raw: dict[str, Any] | None) -> Training | None:
    if not raw:
        return None
    code = raw.get("code") or {}
    code_license = license_declaration(code.get("license"))
    return Training(
        code_repository=code.get("repository"),
        code_commit=(code.get("commit") or "").lower() or None,
        code_licenses=(resolve(code_license),) if code_license else (),
        started=raw.get("started"),
        ended=raw.get("ended"),
        hyperparameters=tuple(
            (str(name), _scalar_text(value), _data_type(value))
            for name, value in (raw.get("hyperparameters") or {}).items()
        ),
        method=raw.get("method"),
        approach=raw.get("approach"),
        hardware=raw.get("hardware"),
        description=raw.get("description"),
        energy=tuple(
            Energy(
                activity=e["activity"],
                kwh=float(e["kwh"]),
                provider=e["provider"],
                energy_source=e.get("source", "unknown"),
                co2_tco2eq=float(e["co2_tco2eq"]) if "co2_tco2eq" in e else None,
            )
            for e in raw.get("energy") or ()
        ),
    )


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _data_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string"


def _conversion(raw: dict[str, Any], file: Path) -> DeclaredConversion:
    names = []
    for side in ("source", "output"):
        try:
            names.append(check_resource_name(raw[side]["name"]))
        except ModelTreeError as exc:
            raise ProvenanceError(f"conversions: {side} {exc.problem}", path=file) from None
    return DeclaredConversion(
        source_name=names[0],
        source_sha256=raw["source"]["sha256"].lower(),
        output_name=names[1],
        output_sha256=raw["output"]["sha256"].lower(),
        tool_name=raw["tool"]["name"],
        tool_version=raw["tool"]["version"],
        timestamp=raw.get("timestamp"),
        command=raw.get("command"),
    )


RECORD_SCHEMA = "conversion-record.schema.json"


def load_conversion_record(path: str | os.PathLike[str]) -> tuple[DeclaredConversion, ...]:
    """The conversions in a ``supplychain convert --record`` file (schema-validated)."""
    from supplychain._internal.jsonschemas import validator

    file = Path(path)
    document = read_json(file, CONVERSION_RECORD, error=ProvenanceError)
    errors = sorted(
        validator(load_schema(RECORD_SCHEMA)).iter_errors(document),
        key=lambda e: list(e.absolute_path),
    )
    if errors:
        where = "/" + "/".join(str(p) for p in errors[0].absolute_path)
        raise ProvenanceError(
            f"not a conversion record: {where}: {errors[0].message}",
            path=file,
            hint="pass the file `supplychain convert --record FILE` wrote",
        )
    return tuple(_conversion(entry, file) for entry in document["conversions"])
