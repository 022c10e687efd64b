"""Strict CycloneDX validation (the official schemas bundled with cyclonedx-python-lib) plus the
reference checks the schema cannot express.

The validator is the library's strict JSON validator rebuilt from the same
bundled schema files, registry and format checker, with one change:
``uniqueItems`` is decided by hashing a canonical form of each item instead
of comparing every pair. jsonschema's pairwise comparison is quadratic, which
makes a 2,000-file BOM take seconds to validate; the verdict is the same
(tests compare both on valid and invalid documents). ``$ref`` is resolved once
per reference instead of once per value, which halves the time again.

Validation is linear but costs tens of microseconds per JSON value, so a BOM
read from disk (``bom show``, ``bom diff``, ``check``) is refused above
:data:`MAX_VALUES` values or :data:`MAX_TEXT` characters: a hostile BOM
cannot hold a gate for minutes. BOMs we write ourselves are not capped.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterator
from typing import Any

from supplychain.errors import ExitCode, InputError, SupplychainError

#: Versions we write. Reading validates any JSON version the library has a schema for (1.2+).
SPEC_VERSIONS = ("1.6", "1.7")


#: JSON values (objects, arrays, strings, numbers...) strictly validated at most: about
#: 4 s of CPU on a busy core in the costliest shape. Our 5 MB BOM (16,000 files) holds 211,000.
MAX_VALUES = 300_000
#: Characters of keys and strings validated at most (a 5 MB BOM holds about 4 million).
MAX_TEXT = 32 << 20


class BomValidationError(SupplychainError):
    """A BOM breaks the CycloneDX schema or its own references; nothing was written."""

    exit_code = ExitCode.FAILED


class BomTooLargeError(InputError):
    """A BOM is larger than supplychain validates (see :data:`MAX_VALUES`, :data:`MAX_TEXT`)."""


def check_budget(document: Any, *, path: str | os.PathLike[str] | None = None) -> None:
    """Raise :class:`BomTooLargeError` if validating ``document`` would cost too much.

    One iterative pass that stops as soon as a cap is passed, so the check
    itself is bounded (and safe on deeply nested documents).
    """
    values = text = 0
    pending = [document]
    while pending:
        node = pending.pop()
        values += 1
        if isinstance(node, dict):
            pending.extend(node.values())
            text += sum(len(key) for key in node)
        elif isinstance(node, list):
            pending.extend(node)
        elif isinstance(node, str):
            text += len(node)
        if values > MAX_VALUES or text > MAX_TEXT:
            raise BomTooLargeError(
                f"the BOM is too large to validate (more than {MAX_VALUES:,} JSON values or "
                f"{MAX_TEXT >> 20} MiB of text)",
                path=path,
                hint="a BOM this size is not one supplychain wrote for a model; "
                "check where it came from, or split the model's BOM",
            )


def check_document(document: Any, spec_version: str) -> None:
    """Raise :class:`BomValidationError` unless ``document`` is a strictly valid, consistent BOM."""
    problems = schema_problems(document, spec_version, limit=5, bounded=False)
    if not problems:
        problems = reference_problems(document)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise BomValidationError(
            f"the generated BOM is not valid CycloneDX {spec_version}: {problems[0]}{more}",
            hint="nothing was written; this is a bug in supplychain or a value the schema "
            "refuses (see the field named above)",
        )


def schema_problems(
    document: Any,
    spec_version: str,
    *,
    limit: int = 20,
    bounded: bool = True,
    path: str | os.PathLike[str] | None = None,
) -> list[str]:
    """Strict-schema violations as ``/json/pointer: message`` strings (at most ``limit``).

    ``bounded`` (the default, for BOMs read from anywhere) refuses documents
    over the size caps with :class:`BomTooLargeError` naming ``path``.
    """
    if bounded:
        check_budget(document, path=path)
    problems = []
    for error in _validator(spec_version).iter_errors(document):
        pointer = "/" + "/".join(str(p) for p in error.absolute_path)
        problems.append(f"{pointer}: {error.message[:300]}")
        if len(problems) >= limit:
            break
    return problems


def reference_problems(document: Any) -> list[str]:
    """bom-refs must be unique and every ``ref``/``dependsOn``/``affects`` must resolve."""
    defined: dict[str, int] = {}
    used: list[tuple[str, str]] = []
    for pointer, key, value in _walk(document, ""):
        if key == "bom-ref" and isinstance(value, str):
            defined[value] = defined.get(value, 0) + 1
        elif key in ("ref", "attributedTo", "process") and isinstance(value, str):
            used.append((pointer, value))
        elif key == "dependsOn" and isinstance(value, list):
            used += [(pointer, v) for v in value if isinstance(v, str)]
    problems = [
        f"bom-ref {ref!r} is defined {n} times" for ref, n in sorted(defined.items()) if n > 1
    ]
    problems += [
        f"{pointer}: {ref!r} names no bom-ref in this BOM"
        for pointer, ref in used
        if ref not in defined and not ref.startswith("urn:cdx:")
    ]
    return problems


def _walk(node: Any, pointer: str) -> Iterator[tuple[str, str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{pointer}/{key}"
            yield here, key, value
            yield from _walk(value, here)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{pointer}/{index}")


def _canonical(value: Any) -> Any:
    """A hashable form equal for JSON-equal values (1 == 1.0; true != 1, as jsonschema decides)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return (type(value).__name__, value)
    if isinstance(value, (int, float)):
        return ("number", value)
    if isinstance(value, list):
        return ("array", tuple(_canonical(v) for v in value))
    if isinstance(value, dict):
        return ("object", frozenset((k, _canonical(v)) for k, v in value.items()))
    return ("other", repr(value))


def _unique_items(validator: Any, unique: Any, instance: Any, schema: Any) -> Iterator[Any]:
    from jsonschema.exceptions import ValidationError

    if not unique or not validator.is_type(instance, "array"):
        return
    seen: set[Any] = set()
    for item in instance:
        key = _canonical(item)
        if key in seen:
            yield ValidationError(f"{instance!r} has non-unique elements"[:300])
            return
        seen.add(key)


def _cached_ref(cache: dict[tuple[str, str], Any]) -> Any:
    """``$ref`` resolved once per (base URI, reference) instead of once per instance.

    Draft 7 has no dynamic scopes, so a reference from a given base always
    resolves to the same subschema; jsonschema's own keyword looks it up
    again for every value it validates (a third of the time on large BOMs).
    """

    def ref(validator: Any, ref: str, instance: Any, schema: Any) -> Iterator[Any]:
        resolver = validator._resolver
        key = (resolver._base_uri, ref)
        resolved = cache.get(key)
        if resolved is None:
            resolved = cache[key] = resolver.lookup(ref)
        yield from validator.descend(instance, resolved.contents, resolver=resolved.resolver)

    return ref


def can_validate(spec_version: str) -> bool:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.schema._res import BOM_JSON_STRICT

    try:
        return BOM_JSON_STRICT.get(SchemaVersion.from_version(spec_version)) is not None
    except ValueError:
        return False


@functools.lru_cache(maxsize=8)
def _validator(spec_version: str) -> Any:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.schema._res import BOM_JSON_STRICT, CRYPTOGRAPHY_DEFS, JSF, SPDX_JSON

    from supplychain._internal.jsonschemas import format_checker, jsonschema

    jsonschema()  # imported without its slow rfc3987-syntax grammars
    from jsonschema.validators import Draft7Validator, extend
    from referencing import Registry
    from referencing.jsonschema import DRAFT7

    schema_file = BOM_JSON_STRICT[SchemaVersion.from_version(spec_version)]
    assert schema_file is not None

    def resource(path: str) -> Any:
        with open(path, encoding="utf-8") as handle:
            return DRAFT7.create_resource(json.load(handle))

    prefix = "http://cyclonedx.org/schema/"
    registry: Registry[Any] = Registry().with_resources(
        [
            (f"{prefix}spdx.SNAPSHOT.schema.json", resource(SPDX_JSON)),
            (f"{prefix}cryptography-defs.SNAPSHOT.schema.json", resource(CRYPTOGRAPHY_DEFS)),
            (f"{prefix}jsf-0.82.SNAPSHOT.schema.json", resource(JSF)),
        ]
    )
    with open(schema_file, encoding="utf-8") as handle:
        schema = json.load(handle)
    fast = extend(Draft7Validator, {"uniqueItems": _unique_items, "$ref": _cached_ref({})})
    return fast(schema, registry=registry, format_checker=format_checker("draft7"))
