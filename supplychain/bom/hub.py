"""Where a local model comes from: Hugging Face cache snapshots, git clones, plain directories.

Everything is read from local files; nothing here touches the network. A Hub
cache keeps ``models--org--name/snapshots/<revision>/`` with symbolic links into
``blobs/``, whose names are the sha256 of LFS files (git blob sha1 otherwise),
so a cached copy can be checked offline. The same cache may also hold the base
models and datasets a card names, whose own cards then say which licence they have.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from supplychain.errors import InputError

_HEX40 = re.compile(r"^[0-9a-f]{40}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
#: Non-LFS files are small text files; bigger ones are not worth a second read.
GIT_BLOB_CHECK_LIMIT = 16 << 20


@dataclass(frozen=True)
class ModelLocation:
    """A model path resolved to what should be walked and what is known about its origin."""

    root: Path
    #: hf-cache, git, directory or file.
    kind: str
    hub_repo: str | None = None
    revision: str | None = None
    repository_url: str | None = None
    #: Symbolic links may point anywhere inside this directory (the cache repo).
    symlink_boundary: Path | None = None
    #: The Hub cache directory holding ``models--*`` and ``datasets--*`` (for lineage lookups).
    hub_cache: Path | None = None


def locate(model: str | os.PathLike[str]) -> ModelLocation:
    """Classify ``model``: a cache snapshot (or cache repo dir), a git clone, or a plain path."""
    path = Path(model)
    if not path.exists():
        raise InputError("no such file or directory", path=path)
    if path.is_file():
        return ModelLocation(path, "file")
    resolved = Path(os.path.abspath(path))
    repo_dir = _cache_repo_dir(resolved)
    if repo_dir is not None and resolved == repo_dir:
        resolved = _snapshot_of(repo_dir)
    if repo_dir is not None:
        kind, repo_id = _cache_repo_id(repo_dir.name)
        if kind == "models":
            return ModelLocation(
                resolved,
                "hf-cache",
                hub_repo=repo_id,
                revision=resolved.name,
                symlink_boundary=repo_dir,
                hub_cache=repo_dir.parent,
                repository_url=f"https://huggingface.co/{repo_id}",
            )
    git = _git_info(resolved)
    if git is not None:
        revision, url = git
        return ModelLocation(
            resolved, "git", hub_repo=_hub_repo_from_url(url), revision=revision, repository_url=url
        )
    return ModelLocation(resolved, "directory")


def _cache_repo_dir(path: Path) -> Path | None:
    """``.../models--org--name`` for a snapshot path inside it (or for the dir itself)."""
    if _cache_repo_id(path.name)[0] and (path / "snapshots").is_dir():
        return path
    parent = path.parent
    if parent.name == "snapshots" and _cache_repo_id(parent.parent.name)[0]:
        return parent.parent
    return None


def _cache_repo_id(dir_name: str) -> tuple[str | None, str]:
    """("models", "org/name") for ``models--org--name``; (None, "") otherwise."""
    kind, _, rest = dir_name.partition("--")
    if kind not in ("models", "datasets") or not rest:
        return None, ""
    return kind, rest.replace("--", "/")


def _snapshot_of(repo_dir: Path, revision: str | None = None) -> Path:
    wanted = revision or _read_ref(repo_dir, "main")
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
    try:
        text = (repo_dir / "refs" / ref).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return text or None


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


def verify_blob(link: Path, sha256_hex: str, size: int) -> tuple[str | None, bool | None]:
    """(blob name, matches) for a cache symlink: sha256 names are compared, git sha1 recomputed."""
    try:
        blob = Path(os.readlink(link)).name
    except OSError:
        return None, None
    if _HEX64.match(blob):
        return blob, blob == sha256_hex
    if _HEX40.match(blob) and size <= GIT_BLOB_CHECK_LIMIT:
        return blob, blob == _git_blob_sha1(link, size)
    return blob, None


def _git_blob_sha1(path: Path, size: int) -> str:
    digest = hashlib.sha1(f"blob {size}\0".encode(), usedforsecurity=False)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _git_info(root: Path) -> tuple[str | None, str | None] | None:
    """(HEAD commit, origin URL) of a git clone, read from .git without running git."""
    git = root / ".git"
    if git.is_file():  # a worktree or submodule: "gitdir: <path>"
        text = git.read_text(encoding="utf-8", errors="replace").strip()
        if not text.startswith("gitdir:"):
            return None
        git = (root / text.split(":", 1)[1].strip()).resolve()
    if not (git / "HEAD").is_file():
        return None
    return _head_commit(git), _origin_url(git)


def _head_commit(git: Path) -> str | None:
    head = (git / "HEAD").read_text(encoding="utf-8", errors="replace").strip()
    if _HEX40.match(head):
        return head
    if not head.startswith("ref:"):
        return None
    ref = head.split(":", 1)[1].strip()
    common = _common_dir(git)
    for base in (git, common):
        ref_file = base / ref
        if ref_file.is_file():
            value = ref_file.read_text(encoding="utf-8", errors="replace").strip()
            return value if _HEX40.match(value) else None
    packed = common / "packed-refs"
    if packed.is_file():
        for line in packed.read_text(encoding="utf-8", errors="replace").splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1] == ref and _HEX40.match(parts[0]):
                return parts[0]
    return None


def _common_dir(git: Path) -> Path:
    common = git / "commondir"
    if common.is_file():
        return (git / common.read_text(encoding="utf-8").strip()).resolve()
    return git


def _origin_url(git: Path) -> str | None:
    config = _common_dir(git) / "config"
    if not config.is_file():
        return None
    section = None
    for line in config.read_text(encoding="utf-8", errors="replace").splitlines():
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
