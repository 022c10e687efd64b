"""What the gate knows about a model, gathered once and shared by every check.

The model is walked once and read once (SHA-256 per file): the same digests
serve signature integrity (when the signature is files/sha256, the OMS
default), the AI-BOM hash comparison and Hugging Face blob names. The scan
reads only pickles and headers; BOM facts read the card and config.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from supplychain.errors import InputError
from supplychain.hashing import hash_tree, serialization_for
from supplychain.hashing.manifest import Manifest
from supplychain.model.hfcache import HfSnapshot, detect_snapshot, walk_snapshot
from supplychain.model.tree import ModelTree, walk_model

if TYPE_CHECKING:
    from supplychain.bom.model import AiBom
    from supplychain.scanning import FileResult
    from supplychain.scanning.policy import Policy as ScanPolicy

InputKind = Literal["directory", "hf-snapshot", "file"]
PathLike = str | os.PathLike[str]
#: The AI-BOM's name inside a model directory (covered by the model's signature).
BOM_NAME = "bom.cdx.json"


@dataclass(frozen=True)
class ModelInput:
    """Where the model is and what kind of input it is."""

    path: Path
    kind: InputKind
    #: Where sidecar files (signature, BOM) are looked up by default.
    directory: Path
    snapshot: HfSnapshot | None = None

    @classmethod
    def resolve(cls, model: str | os.PathLike[str]) -> ModelInput:
        path = Path(model)
        if not path.exists() and not path.is_symlink():
            raise InputError("no such file or directory", path=path, hint="check the model path")
        snapshot = detect_snapshot(path)
        if snapshot is not None:
            return cls(path, "hf-snapshot", path, snapshot)
        if path.is_dir():
            return cls(path, "directory", path)
        return cls(path, "file", path.parent)

    def signature_path(self, relative: str | None, override: PathLike | None) -> Path:
        """The explicit path, else ``relative`` to the model directory, else the standard place."""
        from supplychain.signing.paths import default_signature_path

        if override is not None:
            return Path(override)
        if relative is not None:
            return self.directory / relative
        return default_signature_path(self.path)

    def bom_path(self, relative: str | None, override: PathLike | None) -> Path:
        """The explicit path, else ``relative`` to the model directory, else where BOMs go:
        ``MODEL/bom.cdx.json`` (signed with the model) or ``MODEL.cdx.json`` beside it."""
        if override is not None:
            return Path(override)
        if relative is not None:
            return self.directory / relative
        beside = self.path.with_name(self.path.name + ".cdx.json")
        if self.kind == "file":
            return beside
        inside = self.path / BOM_NAME
        return inside if inside.is_file() or not beside.is_file() else beside


def walk(model: ModelInput, *, exclude: tuple[Path, ...] = ()) -> ModelTree:
    """The model's files; sidecars inside the model are not part of it. Raises ModelTreeError."""
    inside = [p for p in exclude if _is_inside(p, model.path)]
    ignore = [os.path.abspath(p) for p in inside]
    if model.snapshot is not None:
        return walk_snapshot(model.snapshot, ignore=ignore)
    return walk_model(model.path, ignore=ignore)


def _is_inside(path: Path, directory: Path) -> bool:
    if not directory.is_dir():
        return False
    try:
        Path(os.path.abspath(path)).relative_to(os.path.abspath(directory))
    except ValueError:
        return False
    return True


class Evidence:
    """The walked tree, its SHA-256 manifest, and lazily the scan and the BOM facts."""

    def __init__(
        self,
        model: ModelInput,
        tree: ModelTree,
        *,
        excluded: tuple[Path, ...] = (),
        scan_policy: ScanPolicy | None = None,
        progress: bool | None = None,
        workers: int | None = None,
    ) -> None:
        self.model = model
        self.tree = tree
        #: Sidecar files (the signature) left out of the walk.
        self.excluded = excluded
        self._scan_policy = scan_policy
        self._progress = progress
        self._workers = workers

    @functools.cached_property
    def sha256(self) -> Manifest:
        manifest, _, _ = hash_tree(
            self.tree,
            serialization_for(self.tree, "sha256"),
            progress=self._progress,
            workers=self._workers,
        )
        return manifest

    @property
    def digests(self) -> dict[str, bytes]:
        return {r.name: r.digest for r in self.sha256.resources}

    @functools.cached_property
    def scan(self) -> list[FileResult]:
        from supplychain.scanning import scan_tree

        return scan_tree(self.tree, policy=self._scan_policy, label=self.tree.name)

    @functools.cached_property
    def bom(self) -> AiBom:
        """The facts an AI-BOM of this model would state (licences, openness, code, formats)."""
        from supplychain.bom import build_bom

        return build_bom(self.model.path, tree=self.tree, sha256=self.sha256, progress=False)
