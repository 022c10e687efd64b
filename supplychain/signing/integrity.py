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
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from supplychain.errors import InputError, SupplychainError
from supplychain.hashing import Cancelled, hash_tree, serialization_for
from supplychain.hashing.algorithms import SHA256
from supplychain.hashing.manifest import FILES, SHARDS, Manifest, Resource
from supplychain.model.tree import (
    SINGLE_FILE_NAME,
    ModelTree,
    check_resource_name,
    component_key,
    walk_model,
)
from supplychain.output.names import quote_name

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
    # Names come from the model and the signature: quoted, they cannot forge lines.
    shown = [quote_name(name) for name in (names if limit is None else names[:limit])]
    if limit is None or len(names) <= limit:
        return ", ".join(shown)
    return f"{', '.join(shown)} and {len(names) - limit} more"


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
    prehashed: Prehash | None = None,
) -> IntegrityReport:
    """Hash ``model`` as ``signed`` was hashed and compare, file by file.

    ``prehashed`` (see :class:`Prehash`) supplies digests computed while the
    signature was being checked; they are used only if ``signed`` was made with
    the serialization they assumed, otherwise the model is hashed again.

    ``use_cache`` trusts the on-disk hash cache: whoever can write the cache
    can then choose digests, so only callers that own it should ask.
    Resource names are checked again here (``..``, absolute, backslash) even
    though :mod:`supplychain.signing.statement` already did, because this
    function also serves manifests from other sources.
    """
    started = time.perf_counter()
    expected_paths = _checked_paths(signed)
    taken = None
    if prehashed is not None and not (ignore_unsigned_files or use_cache):
        taken = prehashed.take(signed)
    if taken is not None:
        tree, actual, bytes_hashed = taken
        report = compare_manifests(signed, tree, actual, model=Path(model))
        return dataclasses.replace(
            report, bytes_hashed=bytes_hashed, seconds=time.perf_counter() - started
        )
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


class Prehash:
    """Hash a model in the background with OMS defaults, before its signature is even read.

    Verification is bounded by hashing, and reading the signature first (with
    the imports that takes) leaves the disk and the cores idle. Most signatures
    use the defaults (whole files, sha256, git paths ignored), so we start
    there; :meth:`take` hands the digests over only if the verified signature
    says that is how it was made (its ignore paths are applied afterwards, as
    they only remove files). Nothing here is trusted before the signature is.
    """

    def __init__(
        self,
        model: str | os.PathLike[str],
        *,
        signature: str | os.PathLike[str] | None = None,
        ignore: Iterable[str | os.PathLike[str]] = (),
        ignore_git_paths: bool = True,
        allow_symlinks: bool = False,
        workers: int | None = None,
        progress: bool | None = None,
    ) -> None:
        self._allow_symlinks = allow_symlinks
        self._result: tuple[ModelTree, Manifest, int] | None = None
        self._cancel = threading.Event()
        walk = {
            "signature": signature,
            "ignore": list(ignore),
            "ignore_git_paths": ignore_git_paths,
            "allow_symlinks": allow_symlinks,
        }
        self._thread = threading.Thread(
            target=self._run, args=(model, walk, workers, progress), name="prehash", daemon=True
        )
        self._thread.start()

    def _run(self, model: Any, walk: dict[str, Any], workers: int | None, progress: Any) -> None:
        try:
            tree = walk_model(model, **walk)
            manifest, read, _ = hash_tree(
                tree,
                serialization_for(tree, SHA256),
                workers=workers,
                progress=progress,
                cancel=self._cancel,
            )
        except (SupplychainError, Cancelled):
            return  # the regular path will walk again and report any problem properly
        self._result = (tree, manifest, read)

    def take(self, signed: Manifest) -> tuple[ModelTree, Manifest, int] | None:
        """(tree, manifest, bytes read) restricted to what ``signed`` covers, or None."""
        serialization = signed.serialization
        if (
            serialization.method != FILES
            or serialization.hash_type != SHA256
            or serialization.allow_symlinks != self._allow_symlinks
        ):
            self.cancel()  # not how this model was signed: stop reading for nothing
            return None
        self._thread.join()
        if self._result is None:
            return None
        tree, manifest, read = self._result
        covered = tree.excluding(serialization.ignore_paths)
        keep = {file.name for file in covered.files}
        resources = tuple(r for r in manifest.resources if r.name in keep)
        return covered, Manifest(covered.name, serialization, resources), read

    def cancel(self) -> None:
        """Stop reading the model (e.g. the signature turned out to be bad); returns at once."""
        self._cancel.set()


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
