"""``sign`` and ``verify``: hash a model, sign its OMS manifest, and check a model against one."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from supplychain.errors import InputError
from supplychain.hashing import hash_tree, serialization_for
from supplychain.hashing.manifest import Manifest
from supplychain.model.tree import walk_model
from supplychain.signing.bundle import read_bundle
from supplychain.signing.errors import IntegrityError
from supplychain.signing.integrity import IntegrityReport, Prehash, check_integrity
from supplychain.signing.methods.interface import Signer, SignerInfo, Verifier
from supplychain.signing.paths import default_signature_path
from supplychain.signing.statement import encode_statement, parse_statement

#: model-signing's default: ``model.sig`` in the current directory.


PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class SignResult:
    """A signature that was written, and what it covers."""

    model: Path
    signature: Path
    signer: SignerInfo
    manifest: Manifest
    bytes_total: int
    bytes_hashed: int
    cache_hits: int
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {
            "signed": True,
            "model": str(self.model),
            "signature": str(self.signature),
            "signer": self.signer.to_json(),
            "root_digest": f"sha256:{self.manifest.root_digest_hex}",
            "serialization": self.manifest.serialization.to_json(),
            "resources": len(self.manifest.resources),
            "bytes": self.bytes_total,
            "bytes_hashed": self.bytes_hashed,
            "cache_hits": self.cache_hits,
            "seconds": round(self.seconds, 6),
        }


@dataclass(frozen=True)
class VerifyResult:
    """A model that matched an authentic signature."""

    model: Path
    signature: Path
    signer: SignerInfo
    #: The manifest as signed (names, digests, serialization).
    manifest: Manifest
    integrity: IntegrityReport
    #: Compatibility notes (older formats accepted), never failures.
    warnings: tuple[str, ...]
    seconds: float

    @property
    def verified(self) -> bool:
        return self.integrity.ok

    def to_json(self) -> dict[str, Any]:
        return {
            "verified": self.verified,
            "model": str(self.model),
            "signature": str(self.signature),
            "signer": self.signer.to_json(),
            "root_digest": f"sha256:{self.manifest.root_digest_hex}",
            "serialization": self.manifest.serialization.to_json(),
            "resources": len(self.manifest.resources),
            "integrity": self.integrity.to_json(),
            "warnings": list(self.warnings),
            "seconds": round(self.seconds, 6),
        }


def sign(
    model: PathLike,
    signer: Signer,
    *,
    signature: PathLike | None = None,
    algorithm: str = "sha256",
    shard_size: int | None = None,
    ignore: Iterable[PathLike] = (),
    ignore_git_paths: bool = True,
    allow_symlinks: bool = False,
    use_cache: bool = False,
    workers: int | None = None,
    progress: bool | None = None,
) -> SignResult:
    """Hash ``model`` and write its OMS signature to ``signature`` (atomically).

    ``signature`` defaults to :func:`default_signature_path` (``MODEL/model.sig``).

    The defaults (whole files, sha256, git paths ignored) produce signatures
    ``model_signing verify`` 1.1.1 accepts. The signature file is excluded from
    what it signs; an empty model (nothing left after ignores) is refused.

    >>> from supplychain.signing import KeySigner
    >>> sign("./my-model", KeySigner.from_file("release.key"))  # doctest: +SKIP
    """
    started = time.perf_counter()
    signature_path = Path(
        os.path.abspath(signature if signature is not None else default_signature_path(model))
    )
    tree = walk_model(
        model,
        ignore=ignore,
        ignore_git_paths=ignore_git_paths,
        signature=signature_path,
        allow_symlinks=allow_symlinks,
    )
    if tree.is_single_file and tree.root == signature_path:
        raise InputError(
            "the signature would overwrite the model file",
            path=signature_path,
            hint="choose another --signature path",
        )
    _check_writable(signature_path)
    if not tree.files:
        raise _nothing_to_sign(tree.root, "the model has no files once ignored paths are left out")
    serialization = serialization_for(tree, algorithm, shard_size)
    cache = None
    if use_cache:
        from supplychain.hashing.cache import HashCache

        cache = HashCache(tree.root)
    manifest, bytes_hashed, cache_hits = hash_tree(
        tree, serialization, cache=cache, workers=workers, progress=progress
    )
    if cache is not None:
        cache.save()
    if not manifest.resources:
        raise _nothing_to_sign(
            tree.root, "every file is empty, and shards do not cover empty files"
        )
    signed = signer.sign(encode_statement(manifest))
    from supplychain._internal.atomic import write_bytes_atomic

    write_bytes_atomic(signature_path, signed.bundle.encoded)
    return SignResult(
        model=Path(model),
        signature=signature_path,
        signer=signed.signer,
        manifest=manifest,
        bytes_total=tree.total_size,
        bytes_hashed=bytes_hashed,
        cache_hits=cache_hits,
        seconds=time.perf_counter() - started,
    )


def _nothing_to_sign(root: Path, why: str) -> InputError:
    """Stricter than model-signing 1.1.1, which signs empty models (OMS says reject them)."""
    return InputError(
        f"nothing to sign: {why}",
        path=root,
        hint="a signature over nothing proves nothing; check the model path and --ignore options",
    )


def _check_writable(signature: Path) -> None:
    """Fail before hashing (and before any keyless log entry) if the signature cannot be written."""
    if signature.is_dir():
        raise InputError("the signature path is a directory", path=signature)
    if not signature.parent.is_dir():
        raise InputError(
            "the signature's directory does not exist",
            path=signature,
            hint="create the directory first, or choose another --signature path",
        )
    if not os.access(signature.parent, os.W_OK | os.X_OK):
        raise InputError("cannot write the signature here: permission denied", path=signature)


def verify(
    model: PathLike,
    signature: PathLike,
    verifier: Verifier,
    *,
    ignore: Iterable[PathLike] = (),
    ignore_git_paths: bool = True,
    allow_symlinks: bool = False,
    ignore_unsigned_files: bool = False,
    use_cache: bool = False,
    workers: int | None = None,
    progress: bool | None = None,
    prehashed: Prehash | None = None,
) -> VerifyResult:
    """Check that ``signature`` is authentic and that ``model`` is exactly what it signed.

    Returns a :class:`VerifyResult` only when both hold. Otherwise raises a
    :class:`~supplychain.errors.VerificationError`: ``SignatureFormatError``
    (not an OMS bundle), ``SignatureVerificationError`` (not signed by whom
    you trust) or ``IntegrityError`` (authentic, but the model differs; its
    ``report`` names the files). Nothing is cached between calls, and the
    hash cache is ignored unless ``use_cache`` is set.
    """
    started = time.perf_counter()
    if not os.path.lexists(model):
        raise InputError("no such file or directory", path=model)
    if prehashed is None and not (ignore_unsigned_files or use_cache):
        # Start reading the model while the signature is checked.
        prehashed = Prehash(
            model,
            signature=signature,
            ignore=ignore,
            ignore_git_paths=ignore_git_paths,
            allow_symlinks=allow_symlinks,
            workers=workers,
            progress=progress,
        )
    try:
        bundle = read_bundle(signature)
        verified = verifier.verify(bundle)
        statement = parse_statement(verified.payload)
    except BaseException:
        if prehashed is not None:
            prehashed.cancel()  # do not keep reading the model behind the caller's back
        raise
    warnings = list(verified.warnings)
    if statement.legacy:
        warnings.append(
            "the signature uses model-signing 0.2's predicate (no serialization or ignored "
            "paths recorded); re-sign it"
        )
    report = check_integrity(
        model,
        statement.manifest,
        signature=signature,
        ignore=ignore,
        ignore_git_paths=ignore_git_paths,
        allow_symlinks=allow_symlinks,
        ignore_unsigned_files=ignore_unsigned_files,
        use_cache=use_cache,
        workers=workers,
        progress=progress,
        prehashed=prehashed,
    )
    if not report.ok:
        raise IntegrityError(report, signer=verified.signer)
    return VerifyResult(
        model=Path(model),
        signature=Path(signature),
        signer=verified.signer,
        manifest=statement.manifest,
        integrity=report,
        warnings=tuple(warnings),
        seconds=time.perf_counter() - started,
    )
