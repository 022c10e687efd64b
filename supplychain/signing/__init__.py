"""Sign and verify models in the OpenSSF Model Signing (OMS) format.

Signatures are Sigstore bundles holding a DSSE envelope over an in-toto
statement whose predicate lists every file's digest. What we write,
``model_signing verify`` 1.1.1 accepts; everything model-signing 1.x wrote,
we verify. One signer/verifier pair per method (key, certificate, Sigstore
keyless); see :mod:`supplychain.signing.methods`.

>>> from supplychain.signing import KeySigner, KeyVerifier, sign, verify
>>> sign("my-model", KeySigner.from_file("release.key"), signature="model.sig")  # doctest: +SKIP
>>> verify("my-model", "model.sig", KeyVerifier.from_file("release.pub"))  # doctest: +SKIP
"""

from supplychain.signing.api import DEFAULT_SIGNATURE, SignResult, VerifyResult, sign, verify
from supplychain.signing.errors import (
    IntegrityError,
    KeyMaterialError,
    SignatureFormatError,
    SignatureVerificationError,
    SigningError,
)
from supplychain.signing.integrity import IntegrityReport, check_integrity
from supplychain.signing.methods import (
    CertificateSigner,
    CertificateVerifier,
    KeySigner,
    KeyVerifier,
    SignedBundle,
    Signer,
    SignerInfo,
    SigstoreSigner,
    SigstoreVerifier,
    VerifiedPayload,
    Verifier,
)

__all__ = [
    "DEFAULT_SIGNATURE",
    "CertificateSigner",
    "CertificateVerifier",
    "IntegrityError",
    "IntegrityReport",
    "KeyMaterialError",
    "KeySigner",
    "KeyVerifier",
    "SignResult",
    "SignatureFormatError",
    "SignatureVerificationError",
    "SignedBundle",
    "Signer",
    "SignerInfo",
    "SigningError",
    "SigstoreSigner",
    "SigstoreVerifier",
    "VerifiedPayload",
    "Verifier",
    "VerifyResult",
    "check_integrity",
    "sign",
    "verify",
]
