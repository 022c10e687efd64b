"""Hugging Face cache snapshots: recognise them, walk them safely, check their blobs offline.

A snapshot (``models--org--name/snapshots/<revision>/``) holds symbolic links
into the repository's ``blobs/`` directory. Links are followed only when they
stay inside that ``blobs/`` directory. Each blob is named by its content's
digest: the SHA-256 for Git LFS files, the Git blob SHA-1 for the others, so
a corrupt or swapped download is detectable without the network.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from supplychain.model.tree import ModelTree, walk_model

_REPO_DIR = re.compile(r"^(models|datasets|spaces)--(.+)$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SHA1 = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class HfSnapshot:
    """Where a snapshot lives in the cache and what it is."""

    path: Path
    repo_dir: Path
    repo_type: str
    repo_id: str
    revision: str

    @property
    def blobs(self) -> Path:
        return self.repo_dir / "blobs"


@dataclass(frozen=True)
class BlobCheck:
    """One file of a snapshot and what its blob name promises about its content."""

    name: str
    blob: str
    #: "sha256" (Git LFS) or "git-sha1" (a regular Git blob); None when the name is neither.
    kind: str | None
    ok: bool | None
    actual: str | None = None

    @property
    def problem(self) -> str | None:
        if self.ok is False:
            return (
                f"{self.name}: blob {self.blob} holds content whose {self.kind} is {self.actual}; "
                "the download is corrupt or was replaced"
            )
        return None


def detect_snapshot(path: str | os.PathLike[str]) -> HfSnapshot | None:
    """The snapshot ``path`` is (``.../models--org--name/snapshots/<rev>``), if it is one."""
    resolved = Path(os.path.abspath(path))
    if resolved.parent.name != "snapshots":
        return None
    repo_dir = resolved.parent.parent
    match = _REPO_DIR.match(repo_dir.name)
    if not match or not (repo_dir / "blobs").is_dir():
        return None
    repo_type = match.group(1)[:-1]
    return HfSnapshot(
        resolved, repo_dir, repo_type, match.group(2).replace("--", "/"), resolved.name
    )


def walk_snapshot(snapshot: HfSnapshot, **options: object) -> ModelTree:
    """Walk a snapshot, following links only into its own ``blobs/``."""
    return walk_model(
        snapshot.path,
        allow_symlinks=True,
        symlink_boundary=snapshot.blobs,
        **options,  # type: ignore[arg-type]
    )


def check_blobs(
    tree: ModelTree, sha256_by_name: Mapping[str, bytes] | None = None
) -> list[BlobCheck]:
    """Compare every linked file's content with the digest its blob is named by.

    ``sha256_by_name`` reuses SHA-256 digests already computed (e.g. by the
    hashing engine), so LFS blobs are not read a second time.
    """
    checks = []
    known = sha256_by_name or {}
    for file in tree.files:
        if not file.via_symlink:
            continue
        blob = Path(os.path.realpath(file.path)).name
        if _SHA256.match(blob):
            digest = known.get(file.name)
            actual = digest.hex() if digest is not None else _sha256(file.path)
            checks.append(BlobCheck(file.name, blob, "sha256", actual == blob, actual))
        elif _SHA1.match(blob):
            actual = _git_blob_sha1(file.path)
            checks.append(BlobCheck(file.name, blob, "git-sha1", actual == blob, actual))
        else:
            checks.append(BlobCheck(file.name, blob, None, None))
    return checks


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(4 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _git_blob_sha1(path: Path) -> str:
    size = os.path.getsize(path)
    digest = hashlib.sha1(f"blob {size}\0".encode(), usedforsecurity=False)
    with open(path, "rb") as handle:
        while chunk := handle.read(4 << 20):
            digest.update(chunk)
    return digest.hexdigest()
