"""Does a model on disk match a signed manifest? Exactly which files are missing, extra or modified.

The local model is hashed the way the signature says it was hashed (method,
algorithm, shard size), after re-applying the signature's ``ignore_paths``, the
git defaults, the caller's ignores and the signature file itself, as
model-signing does. Differences are reported per file: a file is *missing*
when it was signed but is absent, *extra* when it is present but was not
signed, and *modified* when its digest (or any of its shards) differs.

This module knows nothing about signatures or keys: the deployment gate uses
it to compare a model against any trusted manifest.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from supplychain.errors import InputError
from supplychain.hashing import hash_tree
from supplychain.hashing.manifest import SHARDS, Manifest, Resource
from supplychain.model.tree import (
    SINGLE_FILE_NAME,
    ModelTree,
    check_resource_name,
    component_key,
    walk_model,
)

#: How many names a one-line summary lists before saying "and N more".
SUMMARY_NAMES = 10


@dataclass(frozen=True)
class IntegrityReport:
    """The outcome of comparing a model with a signed manifest."""

    model: Path
    missing: tuple[str, ...]
    extra: tuple[str, ...]
    modified: tuple[str, ...]
    #: Files read from disk and compared.
    files_checked: int
    bytes_hashed: int
    #: True when only the signed files were looked at (--ignore-unsigned-files).
    ignored_unsigned: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not (self.missing or self.extra or self.modified)

    def problems(self, limit: int | None = SUMMARY_NAMES) -> list[str]:
        """One human phrase per kind of difference (empty when the model matches)."""
        out = []
        for label, names in (
            ("modified", self.modified),
            ("missing (signed, not on disk)", self.missing),
            ("extra (on disk, not signed)", self.extra),
        ):
            if names:
                out.append(f"{label}: {_listing(names, limit)}")
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "missing": list(self.missing),
            "extra": list(self.extra),
            "modified": list(self.modified),
            "files_checked": self.files_checked,
            "bytes_hashed": self.bytes_hashed,
            "ignored_unsigned_files": self.ignored_unsigned,
            "seconds": round(self.seconds, 6),
        }


def _listing(names: tuple[str, ...], limit: int | None) -> str:
    if limit is None or len(names) <= limit:
        return ", ".join(names)
    return f"{', '.join(names[:limit])} and {len(names) - limit} more"


def check_integrity(
    model: str | os.PathLike[str],
    signed: Manifest,
    *,
    signature: str | os.PathLike[str] | None = None,
    ignore: Iterable[str | os.PathLike[str]] = (),
    ignore_git_paths: bool = True,
    allow_symlinks: bool = False,
    ignore_unsigned_files: bool = False,
    use_cache: bool = False,
    workers: int | None = None,
    progress: bool | None = None,
) -> IntegrityReport:
    """Hash ``model`` as ``signed`` was hashed and compare, file by file.

    ``use_cache`` trusts the on-disk hash cache: whoever can write the cache
    can then choose digests, so only callers that own it should ask.
    Resource names are checked again here (``..``, absolute, backslash) even
    though :mod:`supplychain.signing.statement` already did, because this
    function also serves manifests from other sources.
    """
    started = time.perf_counter()
    expected_paths = _checked_paths(signed)
    tree = walk_model(
        model,
        ignore=[*signed.serialization.ignore_paths, *ignore],
        ignore_git_paths=ignore_git_paths,
        signature=signature,
        allow_symlinks=allow_symlinks,
        only=_wanted(expected_paths, Path(model)) if ignore_unsigned_files else None,
    )
    cache = None
    if use_cache:  # trusted only on request: whoever can write the cache chooses digests
        from supplychain.hashing.cache import HashCache

        cache = HashCache(tree.root)
    actual_manifest, bytes_hashed, _ = hash_tree(
        tree, signed.serialization, cache=cache, workers=workers, progress=progress
    )
    report = compare_manifests(signed, tree, actual_manifest, model=Path(model))
    return dataclasses.replace(
        report,
        bytes_hashed=bytes_hashed,
        ignored_unsigned=ignore_unsigned_files,
        seconds=time.perf_counter() - started,
    )


def compare_manifests(
    signed: Manifest, tree: ModelTree, actual_manifest: Manifest, *, model: Path | None = None
) -> IntegrityReport:
    """Compare a signed manifest with one computed the same way over ``tree``.

    For callers that already walked and hashed the model (the deployment
    gate hashes once for every check). ``actual_manifest`` must use the
    signed serialization and cover ``tree`` minus the signature's ignore paths.
    """
    _checked_paths(signed)
    expected = _by_file(_single_file_as_dot(signed.resources, tree))
    actual = _by_file(actual_manifest.resources)
    on_disk = {file.name for file in tree.files}
    # In shards mode an empty file has no resources, so it cannot have been signed.
    unsignable = (
        {file.name for file in tree.files if file.size == 0}
        if signed.serialization.method == SHARDS
        else set()
    )
    missing = expected.keys() - on_disk
    extra = on_disk - expected.keys() - unsignable
    modified = {
        name for name in expected.keys() & on_disk if expected[name] != actual.get(name, {})
    }
    return IntegrityReport(
        model=model or tree.root,
        missing=_sorted(missing),
        extra=_sorted(extra),
        modified=_sorted(modified),
        files_checked=len(tree),
        bytes_hashed=0,
    )


def _checked_paths(signed: Manifest) -> set[str]:
    """The files a manifest covers, refusing names and shapes that prove nothing or escape."""
    if not signed.resources:
        raise InputError(
            "the manifest lists no files; an empty manifest proves nothing",
            hint="check where the manifest came from",
        )
    names = [resource.name for resource in signed.resources]
    if len(set(names)) != len(names):
        twice = sorted({name for name in names if names.count(name) > 1})
        raise InputError(f"the manifest lists {', '.join(map(repr, twice))} more than once")
    return {check_resource_name(resource.path) for resource in signed.resources}


def _wanted(paths: set[str], model: Path) -> set[str]:
    # A single-file model may be signed under its basename (the OMS spelling).
    if len(paths) == 1 and os.path.isfile(model):
        return {SINGLE_FILE_NAME}
    return paths


def _single_file_as_dot(resources: tuple[Resource, ...], tree: ModelTree) -> tuple[Resource, ...]:
    """Read a single-file signature that names the file by its basename (OMS) as ``"."``."""
    if not tree.is_single_file:
        return resources
    paths = {resource.path for resource in resources}
    if paths != {tree.name}:
        return resources
    renamed = []
    for resource in resources:
        suffix = resource.name[len(resource.path) :]  # ":start:end" for shards
        renamed.append(Resource(SINGLE_FILE_NAME + suffix, resource.algorithm, resource.digest))
    return tuple(renamed)


def _by_file(resources: Iterable[Resource]) -> dict[str, dict[str, bytes]]:
    """file path -> {resource name: digest} (one entry per file, or per shard)."""
    files: dict[str, dict[str, bytes]] = {}
    for resource in resources:
        files.setdefault(resource.path, {})[resource.name] = resource.digest
    return files


def _sorted(names: set[str]) -> tuple[str, ...]:
    return tuple(sorted(names, key=component_key))
