"""Typed OMS manifests: resources, the serialization description and the root digest."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from supplychain.hashing.algorithms import ALGORITHMS, canonical, sharded_name
from supplychain.model.tree import component_key

Method = Literal["files", "shards"]
FILES: Method = "files"
SHARDS: Method = "shards"

#: model-signing's default shard size (1 GB, decimal).
DEFAULT_SHARD_SIZE = 1_000_000_000


@dataclass(frozen=True)
class Serialization:
    """How a manifest was computed: OMS ``predicate.serialization``."""

    method: Method = FILES
    hash_type: str = "sha256"
    allow_symlinks: bool = False
    ignore_paths: tuple[str, ...] = ()
    shard_size: int | None = None

    def __post_init__(self) -> None:
        if self.hash_type not in ALGORITHMS:
            raise ValueError(f"unknown hash type {self.hash_type!r}")
        if (self.method == SHARDS) != (self.shard_size is not None):
            raise ValueError("shard_size is required for shards and only for shards")
        if self.shard_size is not None and self.shard_size <= 0:
            raise ValueError("shard_size must be positive")

    @property
    def resource_algorithm(self) -> str:
        """The ``algorithm`` string every resource of this serialization carries."""
        if self.method == SHARDS:
            assert self.shard_size is not None
            return sharded_name(self.hash_type, self.shard_size)
        return self.hash_type

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method, "hash_type": self.hash_type}
        if self.shard_size is not None:
            out["shard_size"] = self.shard_size
        out["allow_symlinks"] = self.allow_symlinks
        if self.ignore_paths:
            out["ignore_paths"] = list(self.ignore_paths)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Serialization:
        """Parse ``predicate.serialization`` as any model-signing 1.x wrote it.

        Raises ``ValueError`` with the offending field on malformed input.
        """
        method = data.get("method")
        if method not in (FILES, SHARDS):
            raise ValueError(f"serialization.method must be 'files' or 'shards', got {method!r}")
        hash_type = data.get("hash_type")
        if not isinstance(hash_type, str):
            raise ValueError("serialization.hash_type is missing")
        try:
            hash_type = canonical(hash_type)
        except Exception:
            raise ValueError(f"serialization.hash_type {hash_type!r} is not supported") from None
        shard_size = None
        if method == SHARDS:
            raw = data.get("shard_size")
            # model-signing writes it through a protobuf Struct, i.e. as a float.
            if (
                isinstance(raw, bool)
                or not isinstance(raw, int | float)
                or raw != int(raw)
                or raw <= 0
            ):
                raise ValueError(
                    f"serialization.shard_size must be a positive integer, got {raw!r}"
                )
            shard_size = int(raw)
        allow = data.get("allow_symlinks", False)
        if not isinstance(allow, bool):
            raise ValueError("serialization.allow_symlinks must be a boolean")
        ignore = data.get("ignore_paths", [])
        if not isinstance(ignore, list) or not all(isinstance(p, str) for p in ignore):
            raise ValueError("serialization.ignore_paths must be a list of strings")
        return cls(method, hash_type, allow, tuple(sorted(set(ignore))), shard_size)


@dataclass(frozen=True)
class Resource:
    """One manifest entry: a file (``name``) or a byte range (``name:start:end``)."""

    name: str
    algorithm: str
    digest: bytes

    @property
    def hex(self) -> str:
        return self.digest.hex()

    @property
    def path(self) -> str:
        """The file this resource covers (the name without a shard suffix)."""
        return split_shard_name(self.name)[0] if _is_shard_algorithm(self.algorithm) else self.name

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "algorithm": self.algorithm, "digest": self.hex}


def _is_shard_algorithm(algorithm: str) -> bool:
    return "-sharded-" in algorithm


def split_shard_name(name: str) -> tuple[str, int, int]:
    """Split ``path:start:end`` (the path itself may contain ':')."""
    path, start, end = name.rsplit(":", 2)
    return path, int(start), int(end)


def shard_resource_name(file_name: str, start: int, end: int) -> str:
    return f"{file_name}:{start}:{end}"


def resource_sort_key(resource: Resource) -> tuple[tuple[str, ...], int, int]:
    """model-signing's order: path components, then numeric shard offsets."""
    if _is_shard_algorithm(resource.algorithm):
        path, start, end = split_shard_name(resource.name)
        return component_key(path), start, end
    return component_key(resource.name), 0, 0


def root_digest(resources: Iterable[Resource]) -> bytes:
    """SHA-256 over the raw digests in the listed order (always SHA-256, per OMS)."""
    h = hashlib.sha256()
    for resource in resources:
        h.update(resource.digest)
    return h.digest()


@dataclass(frozen=True)
class Manifest:
    """A model's resources with their digests, in model-signing's order."""

    model_name: str
    serialization: Serialization
    resources: tuple[Resource, ...]

    @property
    def root_digest(self) -> bytes:
        return root_digest(self.resources)

    @property
    def root_digest_hex(self) -> str:
        return self.root_digest.hex()

    def by_name(self) -> dict[str, Resource]:
        return {r.name: r for r in self.resources}

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model_name,
            "serialization": self.serialization.to_json(),
            "resources": [r.to_json() for r in self.resources],
            "root_digest": f"sha256:{self.root_digest_hex}",
        }
