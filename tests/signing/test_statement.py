"""The in-toto statement and OMS predicate: what we write, and everything model-signing wrote."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from supplychain.hashing.manifest import Manifest, Resource, Serialization
from supplychain.signing.errors import SignatureFormatError
from supplychain.signing.statement import (
    LEGACY_PREDICATE_TYPE,
    PREDICATE_TYPE,
    STATEMENT_TYPE,
    encode_statement,
    parse_statement,
)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def statement(
    resources: list[dict[str, Any]],
    serialization: dict[str, Any] | None = None,
    root: str | None = None,
    **overrides: Any,
) -> bytes:
    if root is None:
        root = hashlib.sha256(b"".join(bytes.fromhex(r["digest"]) for r in resources)).hexdigest()
    document: dict[str, Any] = {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": "model", "digest": {"sha256": root}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "serialization": serialization
            or {"method": "files", "hash_type": "sha256", "allow_symlinks": False},
            "resources": resources,
        },
    }
    document.update(overrides)
    return json.dumps(document, indent=2).encode()


def resource(name: str, content: bytes = b"x", algorithm: str = "sha256") -> dict[str, Any]:
    return {"name": name, "algorithm": algorithm, "digest": digest(content)}


def test_encode_is_sorted_compact_and_keeps_component_order() -> None:
    resources = (
        Resource("tok/a", "sha256", hashlib.sha256(b"a").digest()),
        Resource("tok.json", "sha256", hashlib.sha256(b"j").digest()),
    )
    manifest = Manifest("m", Serialization(ignore_paths=(".git", "model.sig")), resources)
    payload = encode_statement(manifest)
    assert b"\n" not in payload and b": " not in payload
    document = json.loads(payload)
    assert list(document) == ["_type", "predicate", "predicateType", "subject"]
    assert document["subject"] == [{"name": "m", "digest": {"sha256": manifest.root_digest_hex}}]
    assert [r["name"] for r in document["predicate"]["resources"]] == ["tok/a", "tok.json"]
    assert document["predicate"]["serialization"] == {
        "method": "files",
        "hash_type": "sha256",
        "allow_symlinks": False,
        "ignore_paths": [".git", "model.sig"],
    }
    parsed = parse_statement(payload)
    assert parsed.manifest == manifest and not parsed.legacy


def test_model_signing_style_payload_with_any_key_order() -> None:
    payload = json.dumps(
        {
            "predicate": {
                "resources": [
                    {"digest": digest(b"1"), "name": "b", "algorithm": "sha256"},
                    {"algorithm": "sha256", "name": "a", "digest": digest(b"2")},
                ],
                "serialization": {
                    "ignore_paths": ["model.sig", ".git"],
                    "allow_symlinks": False,
                    "hash_type": "sha256",
                    "method": "files",
                },
            },
            "subject": [
                {
                    "digest": {
                        "sha256": hashlib.sha256(
                            bytes.fromhex(digest(b"1")) + bytes.fromhex(digest(b"2"))
                        ).hexdigest()
                    },
                    "name": "m",
                }
            ],
            "predicateType": PREDICATE_TYPE,
            "_type": STATEMENT_TYPE,
        }
    ).encode()
    parsed = parse_statement(payload)
    # Listed order is kept: the root digest is over the listed order.
    assert [r.name for r in parsed.manifest.resources] == ["b", "a"]
    assert parsed.manifest.serialization.ignore_paths == (".git", "model.sig")


@pytest.mark.parametrize("shard_size", [1000, 1000.0])
@pytest.mark.parametrize("algorithm", ["sha256-sharded-1000", "sha256"])
def test_shards_with_float_or_int_size_and_either_algorithm_spelling(
    shard_size: float, algorithm: str
) -> None:
    resources = [
        resource("big:0:1000", b"1", algorithm),
        resource("big:1000:1500", b"2", algorithm),
        resource("small:0:10", b"3", algorithm),
    ]
    serialization = {
        "method": "shards",
        "hash_type": "sha256",
        "shard_size": shard_size,
        "allow_symlinks": False,
    }
    manifest = parse_statement(statement(resources, serialization)).manifest
    assert manifest.serialization.shard_size == 1000
    assert {r.algorithm for r in manifest.resources} == {"sha256-sharded-1000"}
    assert [r.path for r in manifest.resources] == ["big", "big", "small"]


@pytest.mark.parametrize(("hash_type", "size"), [("blake2b", 64), ("blake3", 32)])
def test_other_hash_types(hash_type: str, size: int) -> None:
    entry = {"name": "f", "algorithm": hash_type, "digest": "ab" * size}
    serialization = {"method": "files", "hash_type": hash_type, "allow_symlinks": False}
    assert (
        parse_statement(statement([entry], serialization)).manifest.serialization.hash_type
        == hash_type
    )
    entry["digest"] = "ab" * 32 if size == 64 else "ab" * 64
    with pytest.raises(SignatureFormatError, match=f"not a {hash_type} digest"):
        parse_statement(statement([entry], serialization))


def test_single_file_dot_name() -> None:
    assert parse_statement(statement([resource(".")])).manifest.resources[0].name == "."
    with pytest.raises(SignatureFormatError, match=r"'\.' names a single-file model"):
        parse_statement(statement([resource("."), resource("other")]))


def test_legacy_digests_predicate() -> None:
    payload = json.dumps(
        {
            "_type": STATEMENT_TYPE,
            "predicateType": LEGACY_PREDICATE_TYPE,
            "subject": [
                {
                    "name": "signme-1",
                    "digest": {"sha256": digest(b"1")},
                    "annotations": {"actual_hash_algorithm": "file-sha256"},
                },
                {"name": "signme-2", "digest": {"sha256": digest(b"2")}},
            ],
            "predicate": {"unused": "Unused predicate"},
        }
    ).encode()
    parsed = parse_statement(payload)
    assert parsed.legacy
    assert [r.name for r in parsed.manifest.resources] == ["signme-1", "signme-2"]


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("../outside", "'..' component"),
        ("a/../../etc/passwd", "'..' component"),
        ("/etc/passwd", "absolute path"),
        ("a\\b", "backslash"),
        ("a//b", "empty or '.' component"),
        ("", "empty"),
    ],
)
def test_unsafe_resource_names_are_rejected(name: str, why: str) -> None:
    with pytest.raises(SignatureFormatError, match=why):
        parse_statement(statement([resource(name)]))


def test_unsafe_shard_path_is_rejected() -> None:
    serialization = {
        "method": "shards",
        "hash_type": "sha256",
        "shard_size": 10,
        "allow_symlinks": False,
    }
    with pytest.raises(SignatureFormatError, match=r"'\.\.' component"):
        parse_statement(
            statement([resource("../x:0:10", algorithm="sha256-sharded-10")], serialization)
        )


def test_duplicate_names_are_rejected() -> None:
    with pytest.raises(SignatureFormatError, match="listed more than once"):
        parse_statement(statement([resource("a", b"1"), resource("a", b"2")]))


def test_empty_model_is_rejected() -> None:
    with pytest.raises(SignatureFormatError, match="covers no files"):
        parse_statement(statement([]))


def test_unsafe_ignore_paths_are_rejected() -> None:
    serialization = {
        "method": "files",
        "hash_type": "sha256",
        "allow_symlinks": False,
        "ignore_paths": ["../sibling"],
    }
    with pytest.raises(SignatureFormatError, match="ignore_paths"):
        parse_statement(statement([resource("a")], serialization))


def test_shards_must_tile_the_file() -> None:
    serialization = {
        "method": "shards",
        "hash_type": "sha256",
        "shard_size": 10,
        "allow_symlinks": False,
    }
    gap = [
        resource("f:0:10", b"1", "sha256-sharded-10"),
        resource("f:20:25", b"2", "sha256-sharded-10"),
    ]
    with pytest.raises(SignatureFormatError, match="contiguously"):
        parse_statement(statement(gap, serialization))
    with pytest.raises(SignatureFormatError, match="not 'path:start:end'"):
        parse_statement(statement([resource("f", algorithm="sha256-sharded-10")], serialization))
    for name in ("a:0:\u00b2", "a:\u0660:10", "a:0:" + "9" * 5000):  # '²', Arabic-Indic 0, huge
        with pytest.raises(SignatureFormatError, match="not 'path:start:end'"):
            parse_statement(
                statement([resource(name, algorithm="sha256-sharded-10")], serialization)
            )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"_type": "https://in-toto.io/Statement/v0.1"}, "_type"),
        (
            {"predicateType": "https://example.com/wrong-predicate/v1.0"},
            "not an OMS model signature",
        ),
        ({"subject": []}, "subject must be a non-empty list"),
    ],
)
def test_wrong_statement_envelope(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(SignatureFormatError, match=message):
        parse_statement(statement([resource("a")], **overrides))


def test_two_subjects_are_rejected() -> None:
    document = json.loads(statement([resource("a")]))
    document["subject"].append(document["subject"][0])
    with pytest.raises(SignatureFormatError, match="exactly one subject"):
        parse_statement(json.dumps(document).encode())


def test_inconsistent_root_digest() -> None:
    with pytest.raises(SignatureFormatError, match="inconsistent"):
        parse_statement(statement([resource("a")], root="00" * 32))


def test_algorithm_must_match_serialization() -> None:
    with pytest.raises(SignatureFormatError, match="uses algorithm 'blake3'"):
        parse_statement(statement([resource("a", algorithm="blake3")]))


def test_not_json() -> None:
    with pytest.raises(SignatureFormatError, match="not JSON"):
        parse_statement(b"\x00garbage")


def test_a_deeply_nested_payload_is_a_format_error_not_a_recursion() -> None:
    payload = b"[" * 1_000_000 + b"]" * 1_000_000
    with pytest.raises(SignatureFormatError, match="levels deep"):
        parse_statement(payload)
