"""The signer and verifier interfaces every signing method implements."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from supplychain.signing.bundle import CERTIFICATE, KEY, SIGSTORE, Bundle, Method
from supplychain.signing.errors import SignatureVerificationError

#: How to verify a signature made with each method (shown when the wrong one is used).
HOW_TO_VERIFY: dict[Method, str] = {
    KEY: "verify it with the signer's public key (--public-key KEY.pub)",
    CERTIFICATE: "verify it with the root certificate(s) you trust (--certificate-chain ROOT.pem)",
    SIGSTORE: "verify it with the expected identity (--identity ID --issuer URL)",
}


@dataclass(frozen=True)
class SignerInfo:
    """Who signed (or is signing), as far as the method can tell."""

    method: Method
    #: One line for people: "ECDSA P-256 key sha256:…", "CN=release, issued by …", "ci@… via …".
    summary: str
    #: Method-specific facts for JSON output (key hint, certificate fingerprint, log index…).
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "summary": self.summary, **dict(self.details)}


@dataclass(frozen=True)
class SignedBundle:
    bundle: Bundle
    signer: SignerInfo


@dataclass(frozen=True)
class VerifiedPayload:
    """The authenticated statement bytes, who signed them, and any compatibility notes."""

    payload: bytes
    signer: SignerInfo
    warnings: tuple[str, ...] = ()


class Signer(abc.ABC):
    """Signs an in-toto statement into an OMS bundle."""

    method: ClassVar[Method]

    @abc.abstractmethod
    def sign(self, statement: bytes) -> SignedBundle:
        """Sign ``statement`` (the exact payload bytes) and return the bundle."""


class Verifier(abc.ABC):
    """Authenticates a bundle and returns its payload.

    Verifiers hold only what the user trusts (a key, roots, an identity); all
    per-signature state lives in the call, so one verifier can check many
    models without anything leaking between them.
    """

    method: ClassVar[Method]

    def verify(self, bundle: Bundle) -> VerifiedPayload:
        if bundle.method != self.method:
            raise SignatureVerificationError(
                f"the signature was made with the {bundle.method} method, "
                f"but {self.method} verification was requested",
                hint=HOW_TO_VERIFY[bundle.method],
            )
        if len(bundle.envelope.signatures) > 1:
            # model-signing checks only the first signature; so do we, and say so.
            verified = self._verify(bundle)
            count = len(bundle.envelope.signatures)
            note = f"the bundle holds {count} signatures; only the first was checked"
            return VerifiedPayload(verified.payload, verified.signer, (*verified.warnings, note))
        return self._verify(bundle)

    @abc.abstractmethod
    def _verify(self, bundle: Bundle) -> VerifiedPayload:
        """Check the signature and trust; raise :class:`SignatureVerificationError` if not."""
