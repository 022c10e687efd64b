"""The in-toto Statement carrying the OMS predicate, to and from a typed :class:`Manifest`.

We write the OMS v1.0 predicate with sorted keys and compact separators (the
same model and key always give the same payload). We read every predicate
model-signing 1.x wrote: v1.0 in any key order, float or int ``shard_size``,
``<hash>-sharded-<size>`` or plain shard algorithms, ``"."`` or the basename for
a single file, and the legacy ``Digests/v0.1`` predicate (one subject per file).
Resource names from a signature are untrusted paths: they are checked here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from supplychain._internal import safeopen
from supplychain.errors import ModelTreeError
from supplychain.hashing.algorithms import DIGEST_SIZES, SHA256
from supplychain.hashing.manifest import FILES, SHARDS, Manifest, Resource, Serialization
from supplychain.model.tree import SINGLE_FILE_NAME, check_resource_name
from supplychain.signing.errors import SignatureFormatError

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://model_signing/signature/v1.0"
#: model-signing 0.2's predicate: one subject per file, no serialization, no root digest.
LEGACY_PREDICATE_TYPE = "https://model_signing/Digests/v0.1"

_HEX = re.compile(r"^[0-9a-fA-F]+$")


@dataclass(frozen=True)
class SignedStatement:
    """What a signature says about a model."""

    manifest: Manifest
    #: ``subject[0].name``: the model's directory or file name at signing (informational).
    subject_name: str
    #: True for the legacy v0.1 predicate (accepted for verification only).
    legacy: bool = False


def encode_statement(manifest: Manifest) -> bytes:
    """The statement bytes we sign: compact JSON with sorted keys, UTF-8, no newline."""
    statement = {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": manifest.model_name, "digest": {"sha256": manifest.root_digest_hex}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "serialization": manifest.serialization.to_json(),
            "resources": [resource.to_json() for resource in manifest.resources],
        },
    }
    text = json.dumps(statement, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def parse_statement(payload: bytes) -> SignedStatement:
    """Parse and check the signed statement; raises :class:`SignatureFormatError`."""
    if safeopen.json_nesting(payload) > safeopen.MAX_NESTING:
        raise _bad(safeopen.nesting_problem("signed payload"))
    try:
        document = json.loads(payload)
    except (UnicodeDecodeError, ValueError) as exc:
        raise _bad(f"the signed payload is not JSON ({exc})") from None
    statement = _mapping(document, "the statement")
    statement_type = statement.get("_type")
    if statement_type != STATEMENT_TYPE:
        raise _bad(f"_type is {statement_type!r}, expected {STATEMENT_TYPE!r}")
    predicate_type = statement.get("predicateType")
    subjects = statement.get("subject")
    if not isinstance(subjects, list) or not subjects:
        raise _bad("subject must be a non-empty list")
    if predicate_type == LEGACY_PREDICATE_TYPE:
        return _parse_legacy(subjects)
    if predicate_type != PREDICATE_TYPE:
        raise _bad(
            f"predicateType is {predicate_type!r}, not an OMS model signature",
            hint=f"OMS signatures use predicateType {PREDICATE_TYPE}",
        )
    if len(subjects) != 1:
        raise _bad(f"an OMS statement has exactly one subject, this one has {len(subjects)}")
    subject = _mapping(subjects[0], "subject[0]")
    subject_name = subject.get("name", "")
    if not isinstance(subject_name, str):
        raise _bad("subject[0].name must be a string")
    root_hex = _mapping(subject.get("digest"), "subject[0].digest").get("sha256")
    root = _digest(root_hex, SHA256, "subject[0].digest.sha256")

    predicate = _mapping(statement.get("predicate"), "predicate")
    serialization = _parse_serialization(predicate.get("serialization"))
    raw_resources = predicate.get("resources")
    if not isinstance(raw_resources, list):
        raise _bad("predicate.resources must be a list")
    resources = tuple(
        _parse_resource(raw, index, serialization) for index, raw in enumerate(raw_resources)
    )
    _check_resource_set(resources, serialization)
    manifest = Manifest(subject_name, serialization, resources)
    if manifest.root_digest != root:
        raise _bad(
            f"the manifest is inconsistent: its resources hash to {manifest.root_digest_hex}, "
            f"but the subject digest is {root.hex()}"
        )
    return SignedStatement(manifest, subject_name)


def _parse_serialization(raw: Any) -> Serialization:
    data = _mapping(raw, "predicate.serialization")
    try:
        serialization = Serialization.from_json(data)
    except ValueError as exc:
        raise _bad(str(exc)) from None
    for entry in serialization.ignore_paths:
        try:
            check_resource_name(entry)
        except ModelTreeError as exc:
            raise _bad(f"serialization.ignore_paths: {exc.problem}") from None
    return serialization


def _parse_resource(raw: Any, index: int, serialization: Serialization) -> Resource:
    where = f"predicate.resources[{index}]"
    entry = _mapping(raw, where)
    name, algorithm = entry.get("name"), entry.get("algorithm")
    if not isinstance(name, str):
        raise _bad(f"{where}.name is missing or not a string")
    if not isinstance(algorithm, str):
        raise _bad(f"{where}.algorithm is missing or not a string")
    # The spec writes the plain hash name for shards, model-signing the sharded one.
    if algorithm not in (serialization.resource_algorithm, serialization.hash_type):
        raise _bad(
            f"{where} ({name!r}) uses algorithm {algorithm!r}, but the serialization says "
            f"{serialization.resource_algorithm!r}"
        )
    _check_name(name, serialization, where)
    digest = _digest(entry.get("digest"), serialization.hash_type, f"{where}.digest")
    return Resource(name, serialization.resource_algorithm, digest)


def _check_name(name: str, serialization: Serialization, where: str) -> None:
    path = name
    if serialization.method == SHARDS:
        parts = name.rsplit(":", 2)
        # ASCII digits only: str.isdigit also accepts '²', which int() rejects
        if len(parts) != 3 or not _is_offset(parts[1]) or not _is_offset(parts[2]):
            raise _bad(f"{where}: shard name {name!r} is not 'path:start:end'")
        path, start, end = parts[0], int(parts[1]), int(parts[2])
        if start >= end:
            raise _bad(f"{where}: shard {name!r} is empty or reversed")
    try:
        check_resource_name(path)
    except ModelTreeError as exc:
        raise _bad(f"{where}: {exc.problem}", hint=exc.hint) from None


def _is_offset(text: str) -> bool:
    return 0 < len(text) <= 20 and text.isascii() and text.isdigit()


def _check_resource_set(resources: tuple[Resource, ...], serialization: Serialization) -> None:
    if not resources:
        raise _bad(
            "the signature covers no files (an empty model)",
            hint="an empty model proves nothing; OMS requires verifiers to reject it",
        )
    seen: set[str] = set()
    for resource in resources:
        if resource.name in seen:
            raise _bad(f"resource {resource.name!r} is listed more than once")
        seen.add(resource.name)
    paths = {resource.path for resource in resources}
    if SINGLE_FILE_NAME in paths and len(paths) > 1:
        raise _bad("'.' names a single-file model and cannot appear beside other files")
    if serialization.method == FILES:
        return
    # Shards of one file must tile it from 0 without gaps or overlaps.
    by_path: dict[str, list[tuple[int, int]]] = {}
    for resource in resources:
        _, first, last = resource.name.rsplit(":", 2)
        by_path.setdefault(resource.path, []).append((int(first), int(last)))
    for path, ranges in by_path.items():
        position = 0
        for start, end in sorted(ranges):
            if start != position:
                raise _bad(f"the shards of {path!r} do not cover it contiguously from byte 0")
            position = end


def _parse_legacy(subjects: list[Any]) -> SignedStatement:
    serialization = Serialization("files", SHA256)
    resources = []
    for index, raw in enumerate(subjects):
        where = f"subject[{index}]"
        subject = _mapping(raw, where)
        name = subject.get("name")
        if not isinstance(name, str):
            raise _bad(f"{where}.name is missing or not a string")
        _check_name(name, serialization, where)
        digest = _digest(
            _mapping(subject.get("digest"), f"{where}.digest").get(SHA256), SHA256, where
        )
        resources.append(Resource(name, SHA256, digest))
    _check_resource_set(tuple(resources), serialization)
    return SignedStatement(Manifest("", serialization, tuple(resources)), "", legacy=True)


def _digest(value: Any, algorithm: str, where: str) -> bytes:
    size = DIGEST_SIZES[algorithm]
    if not isinstance(value, str) or len(value) != 2 * size or not _HEX.match(value):
        raise _bad(f"{where} is not a {algorithm} digest ({2 * size} hex digits)")
    return bytes.fromhex(value)


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise _bad(f"{where} is missing or not a JSON object")
    return value


def _bad(problem: str, *, hint: str | None = None) -> SignatureFormatError:
    return SignatureFormatError(
        f"the signed statement is not a valid OMS manifest: {problem}", hint=hint
    )
