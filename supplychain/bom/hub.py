"""Where a local model comes from: Hugging Face cache snapshots, git clones, plain directories.

Everything is read from local files; nothing here touches the network. Cache
snapshots themselves (walking them, checking blobs) are
:mod:`supplychain.model.hfcache`'s job; this module adds what a BOM needs on
top: the repository id and revision as an identity, a cache repository
directory given instead of a snapshot, git clones read without running git,
and the cards of base models and datasets that the same cache may hold.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from supplychain._internal.safeopen import GIT_METADATA, os_error, read_bytes
from supplychain.errors import InputError
from supplychain.model.hfcache import HfSnapshot, detect_snapshot

_HEX40 = re.compile(r"^[0-9a-f]{40}$")
_REVISION = re.compile(r"^[\w.\-]+$")


@dataclass(frozen=True)
class ModelLocation:
    """A model path resolved to what should be walked and what is known about its origin."""

    root: Path
    #: hf-cache, git, directory or file.
    kind: str
    hub_repo: str | None = None
    revision: str | None = None
    repository_url: str | None = None
    #: The cache snapshot the model is (walked with links into its blobs allowed).
    snapshot: HfSnapshot | None = None
    #: The Hub cache directory holding ``models--*`` and ``datasets--*`` (for lineage lookups).
    hub_cache: Path | None = None


def locate(model: str | os.PathLike[str]) -> ModelLocation:
    """Classify ``model``: a cache snapshot (or cache repo dir), a git clone, or a plain path."""
    path = Path(model)
    try:
        os.stat(path)
    except FileNotFoundError:
        raise InputError("no such file or directory", path=path) from None
    except OSError as exc:  # ENAMETOOLONG, ELOOP, EACCES...
        raise os_error(exc, path, "model") from None
    if path.is_file():
        return ModelLocation(path, "file")
    resolved = Path(os.path.abspath(path))
    if _cache_repo_id(resolved.name)[0] and (resolved / "snapshots").is_dir():
        resolved = _snapshot_of(resolved)
    snapshot = detect_snapshot(resolved)
    if snapshot is not None:
        model_repo = snapshot.repo_type == "model"
        return ModelLocation(
            resolved,
            "hf-cache",
            hub_repo=snapshot.repo_id if model_repo else None,
            revision=snapshot.revision,
            repository_url=f"https://huggingface.co/{snapshot.repo_id}" if model_repo else None,
            snapshot=snapshot,
            hub_cache=snapshot.repo_dir.parent,
        )
    git = _git_info(resolved)
    if git is not None:
        revision, url = git
        return ModelLocation(
            resolved, "git", hub_repo=_hub_repo_from_url(url), revision=revision, repository_url=url
        )
    return ModelLocation(resolved, "directory")


def _cache_repo_id(dir_name: str) -> tuple[str | None, str]:
    """("models", "org/name") for ``models--org--name``; (None, "") otherwise."""
    kind, _, rest = dir_name.partition("--")
    if kind not in ("models", "datasets") or not rest:
        return None, ""
    return kind, rest.replace("--", "/")


def _snapshot_of(repo_dir: Path, revision: str | None = None) -> Path:
    wanted = revision or _read_ref(repo_dir, "main")
    if wanted is not None and (not _REVISION.match(wanted) or wanted in (".", "..")):
        # refs/main is data in a directory anyone may have written; never a path.
        raise InputError(f"revision {wanted!r} is not a revision name", path=repo_dir)
    if wanted is None:
        snapshots = sorted(p.name for p in (repo_dir / "snapshots").iterdir() if p.is_dir())
        if len(snapshots) != 1:
            raise InputError(
                "the cache repository has no refs/main and not exactly one snapshot",
                path=repo_dir,
                hint="pass the snapshot directory itself (snapshots/<revision>)",
            )
        wanted = snapshots[0]
    snapshot = repo_dir / "snapshots" / wanted
    if not snapshot.is_dir():
        raise InputError(f"snapshot {wanted} is not in the cache", path=repo_dir)
    return snapshot


def _read_ref(repo_dir: Path, ref: str) -> str | None:
    text = (_small_text(repo_dir / "refs" / ref) or "").strip()
    return text or None


def _small_text(path: Path) -> str | None:
    """A cache ref or git metadata file, or None when it is absent, special or unreadable.

    These files only add detail to a BOM; a FIFO or a link to a device in a
    downloaded tree must neither block nor exhaust memory.
    """
    try:
        data = read_bytes(path, GIT_METADATA)
    except InputError:
        return None
    return data.decode("utf-8", errors="replace")


def cached_repo(
    hub_cache: Path | None, kind: str, repo_id: str, revision: str | None = None
) -> Path | None:
    """The snapshot of ``repo_id`` in a Hub cache, or None when it is not cached."""
    if hub_cache is None or not repo_id:
        return None
    repo_dir = hub_cache / f"{kind}--{repo_id.replace('/', '--')}"
    if not (repo_dir / "snapshots").is_dir():
        return None
    try:
        return _snapshot_of(repo_dir, revision)
    except InputError:
        return None


def _git_info(root: Path) -> tuple[str | None, str | None] | None:
    """(HEAD commit, origin URL) of a git clone, read from .git without running git."""
    git = root / ".git"
    if git.is_file():  # a worktree or submodule: "gitdir: <path>"
        text = (_small_text(git) or "").strip()
        if not text.startswith("gitdir:"):
            return None
        git = (root / text.split(":", 1)[1].strip()).resolve()
    if not (git / "HEAD").is_file():
        return None
    return _head_commit(git), _origin_url(git)


def _head_commit(git: Path) -> str | None:
    head = (_small_text(git / "HEAD") or "").strip()
    if _HEX40.match(head):
        return head
    if not head.startswith("ref:"):
        return None
    ref = head.split(":", 1)[1].strip()
    common = _common_dir(git)
    for base in (git, common):
        ref_file = base / ref
        if ref_file.is_file():
            value = (_small_text(ref_file) or "").strip()
            return value if _HEX40.match(value) else None
    packed = common / "packed-refs"
    if packed.is_file():
        for line in (_small_text(packed) or "").splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1] == ref and _HEX40.match(parts[0]):
                return parts[0]
    return None


def _common_dir(git: Path) -> Path:
    common = git / "commondir"
    if common.is_file():
        return (git / (_small_text(common) or "").strip()).resolve()
    return git


def _origin_url(git: Path) -> str | None:
    config = _common_dir(git) / "config"
    if not config.is_file():
        return None
    section = None
    for line in (_small_text(config) or "").splitlines():
        stripped = line.strip()
        if stripped.startswith("["):
            section = stripped
        elif section == '[remote "origin"]' and stripped.startswith("url"):
            return _strip_credentials(stripped.split("=", 1)[1].strip())
    return None


def _strip_credentials(url: str) -> str:
    # A clone URL may embed a token (https://user:hf_xxx@huggingface.co/...); never copy it.
    return re.sub(r"^(\w+://)[^/@]+@", r"\1", url)


def _hub_repo_from_url(url: str | None) -> str | None:
    if not url:
        return None
    match = re.match(
        r"^https?://(?:www\.)?(?:huggingface\.co|hf\.co)/(?!datasets/|spaces/)"
        r"([\w.\-]+/[\w.\-]+?)(?:\.git)?/?$",
        url,
    )
    return match.group(1) if match else None
