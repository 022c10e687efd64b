"""Typed policy: the validated content of a policy file, with paths resolved."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Use = Literal["commercial", "research"]


@dataclass(frozen=True)
class SignerSpec:
    """One acceptable signer: exactly one of the three kinds is set."""

    public_key: Path | None = None
    certificate_roots: tuple[Path, ...] = ()
    sigstore_identity: str | None = None
    sigstore_issuer: str | None = None
    sigstore_staging: bool = False
    sigstore_trust_config: Path | None = None

    @property
    def kind(self) -> Literal["public-key", "certificate", "sigstore"]:
        if self.public_key is not None:
            return "public-key"
        if self.certificate_roots:
            return "certificate"
        return "sigstore"

    def describe(self) -> str:
        if self.public_key is not None:
            return f"public key {self.public_key.name}"
        if self.certificate_roots:
            return "certificate chain to " + ", ".join(p.name for p in self.certificate_roots)
        return f"Sigstore identity {self.sigstore_identity} (issuer {self.sigstore_issuer})"


@dataclass(frozen=True)
class SignaturePolicy:
    signers: tuple[SignerSpec, ...]
    required: bool = True
    #: Relative to the model directory; None = the standard place (MODEL/model.sig, FILE.sig).
    file: str | None = None
    ignore_unsigned_files: bool = False


@dataclass(frozen=True)
class ScanPolicy:
    required: bool = True
    fail_on: str = "high"
    allowlist: Path | None = None


@dataclass(frozen=True)
class FormatPolicy:
    allow_pickle: bool = True
    deny: tuple[str, ...] = ()
    allow: tuple[str, ...] = ()
    #: False refuses files no reader identifies (binary content of unknown format).
    allow_unknown: bool = True


@dataclass(frozen=True)
class LicensePolicy:
    required: bool = True
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    allow_classes: tuple[str, ...] = ()
    openness: tuple[str, ...] = ()
    fail_on_conflict: bool = True


@dataclass(frozen=True)
class BomPolicy:
    required: bool = True
    #: Relative to the model directory; None = MODEL/bom.cdx.json, else MODEL.cdx.json beside it.
    file: str | None = None
    verify_hashes: bool = True


@dataclass(frozen=True)
class RemoteCodePolicy:
    allowed: bool = False


@dataclass(frozen=True)
class HfCachePolicy:
    verify_blobs: bool = True


@dataclass(frozen=True)
class Policy:
    """A loaded policy. ``None`` sections are not checked."""

    source: Path | None = None
    name: str | None = None
    use: Use | None = None
    signature: SignaturePolicy | None = None
    scan: ScanPolicy | None = None
    formats: FormatPolicy | None = None
    licenses: LicensePolicy | None = None
    bom: BomPolicy | None = None
    remote_code: RemoteCodePolicy | None = None
    hf_cache: HfCachePolicy = field(default_factory=HfCachePolicy)
