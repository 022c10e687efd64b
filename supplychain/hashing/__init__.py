"""Hash a model the way OpenSSF Model Signing does: per file or per shard, then a root digest."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from supplychain._internal.progress import byte_progress
from supplychain.errors import InputError
from supplychain.hashing.algorithms import ALGORITHMS, BLAKE3, canonical
from supplychain.hashing.engine import Cancelled, WorkItem, hash_items
from supplychain.hashing.manifest import (
    DEFAULT_SHARD_SIZE,
    FILES,
    SHARDS,
    Manifest,
    Resource,
    Serialization,
    shard_resource_name,
)
from supplychain.model.tree import ModelTree, walk_model

if TYPE_CHECKING:
    from supplychain.hashing.cache import HashCache

__all__ = [
    "ALGORITHMS",
    "DEFAULT_SHARD_SIZE",
    "Cancelled",
    "HashResult",
    "Manifest",
    "Resource",
    "Serialization",
    "hash_model",
    "hash_tree",
    "serialization_for",
]


@dataclass(frozen=True)
class HashResult:
    """A model's manifest plus what it took to compute it."""

    tree: ModelTree
    manifest: Manifest
    bytes_hashed: int
    cache_hits: int
    seconds: float

    @property
    def root_digest_hex(self) -> str:
        return self.manifest.root_digest_hex


def serialization_for(
    tree: ModelTree, algorithm: str = "sha256", shard_size: int | None = None
) -> Serialization:
    """The OMS serialization description for hashing ``tree`` this way."""
    algorithm = canonical(algorithm)
    if shard_size is not None:
        if algorithm == BLAKE3:
            raise InputError(
                "blake3 is not sharded: it already hashes each file on every core",
                hint="drop --shard-size, or use sha256/blake2b with shards",
            )
        if shard_size <= 0:
            raise InputError(f"shard size must be positive, got {shard_size}")
    return Serialization(
        method=SHARDS if shard_size is not None else FILES,
        hash_type=algorithm,
        allow_symlinks=tree.allow_symlinks,
        ignore_paths=tree.ignore_paths,
        shard_size=shard_size,
    )


def _plan(tree: ModelTree, serialization: Serialization) -> list[tuple[str, WorkItem]]:
    """(resource name, work item) pairs in manifest order."""
    plan: list[tuple[str, WorkItem]] = []
    for file in tree.files:
        if serialization.method == FILES:
            plan.append((file.name, WorkItem(file, 0, file.size)))
            continue
        assert serialization.shard_size is not None
        # Like model-signing: empty files have no shards and do not appear.
        for start in range(0, file.size, serialization.shard_size):
            end = min(start + serialization.shard_size, file.size)
            plan.append((shard_resource_name(file.name, start, end), WorkItem(file, start, end)))
    return plan


def _cache_spec(serialization: Serialization, item: WorkItem) -> str:
    if serialization.method == FILES:
        return serialization.hash_type
    return f"{serialization.hash_type}:{item.start}:{item.end}"


def hash_tree(
    tree: ModelTree,
    serialization: Serialization,
    *,
    cache: HashCache | None = None,
    workers: int | None = None,
    progress: bool | None = None,
    cancel: threading.Event | None = None,
) -> tuple[Manifest, int, int]:
    """Hash an already-walked tree: (manifest, bytes read, cache hits).

    Setting ``cancel`` stops the work at the next chunk with :class:`Cancelled`.
    """
    plan = _plan(tree, serialization)
    digests: list[bytes | None] = [None] * len(plan)
    todo: list[int] = []
    for index, (_, item) in enumerate(plan):
        cached = cache.get(item.file.identity, _cache_spec(serialization, item)) if cache else None
        if cached is not None:
            digests[index] = cached
        else:
            todo.append(index)
    items = [plan[i][1] for i in todo]
    total = sum(item.length for item in items)
    with byte_progress(total, f"hashing {tree.name}", enabled=progress) as advance:
        step = advance
        if cancel is not None:

            def step(n: int) -> None:
                if cancel.is_set():
                    raise Cancelled
                advance(n)

        fresh = hash_items(items, serialization.hash_type, workers=workers, advance=step)
    for index, digest in zip(todo, fresh, strict=True):
        digests[index] = digest
        if cache is not None:
            item = plan[index][1]
            cache.put(item.file.identity, _cache_spec(serialization, item), digest)
    algorithm = serialization.resource_algorithm
    resources = tuple(
        Resource(name, algorithm, digest)
        for (name, _), digest in zip(plan, digests, strict=True)
        if digest is not None
    )
    return Manifest(tree.name, serialization, resources), total, len(plan) - len(todo)


def hash_model(
    model: str | os.PathLike[str],
    *,
    algorithm: str = "sha256",
    shard_size: int | None = None,
    ignore: Iterable[str | os.PathLike[str]] = (),
    ignore_git_paths: bool = True,
    signature: str | os.PathLike[str] | None = None,
    allow_symlinks: bool = False,
    use_cache: bool = False,
    workers: int | None = None,
    progress: bool | None = None,
) -> HashResult:
    """Walk and hash ``model`` (a directory or a file) into an OMS manifest.

    ``use_cache`` reuses digests of files whose identity is unchanged since a
    previous run (see :mod:`supplychain.hashing.cache`).
    """
    started = time.perf_counter()
    tree = walk_model(
        model,
        ignore=ignore,
        ignore_git_paths=ignore_git_paths,
        signature=signature,
        allow_symlinks=allow_symlinks,
    )
    serialization = serialization_for(tree, algorithm, shard_size)
    cache = None
    if use_cache:
        from supplychain.hashing.cache import HashCache  # its atomic writes cost start-up

        cache = HashCache(tree.root)
    manifest, read, hits = hash_tree(
        tree, serialization, cache=cache, workers=workers, progress=progress
    )
    if cache is not None:
        cache.save()
    return HashResult(tree, manifest, read, hits, time.perf_counter() - started)
