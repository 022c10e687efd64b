"""Errors of signing and verification, each mapped to the documented exit codes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from supplychain.errors import ExitCode, InputError, SupplychainError, VerificationError

if TYPE_CHECKING:
    from supplychain.signing.integrity import IntegrityReport
    from supplychain.signing.methods.interface import SignerInfo


class KeyMaterialError(InputError):
    """A key or certificate file is missing, malformed, encrypted without a passphrase,
    or of a kind OMS does not support (exit 2)."""


class SigningError(SupplychainError):
    """Signing could not be completed: no identity, the signing service failed (exit 2)."""

    exit_code = ExitCode.USAGE


class SignatureFormatError(VerificationError):
    """The signature file is not a well-formed OMS bundle (exit 1: nothing was verified)."""


class SignatureVerificationError(VerificationError):
    """The signature does not verify against what the user trusts (exit 1)."""


class IntegrityError(VerificationError):
    """The signature is authentic but the model on disk differs from what was signed (exit 1).

    ``report`` lists exactly which files are missing, extra or modified.
    """

    def __init__(
        self, report: IntegrityReport, *, signer: SignerInfo | None = None, hint: str | None = None
    ) -> None:
        self.report = report
        #: Who signed: the signature itself was authentic.
        self.signer = signer
        super().__init__(
            "the model does not match its signature: " + "; ".join(report.problems()),
            path=report.model,
            hint=hint,
        )
