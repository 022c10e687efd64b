"""Sign and verify models in the OpenSSF Model Signing (OMS) format.

Signatures are Sigstore bundles holding a DSSE envelope over an in-toto
statement whose predicate lists every file's digest. What we write,
``model_signing verify`` 1.1.1 accepts; everything model-signing 1.x wrote,
we verify. One signer/verifier pair per method (key, certificate, Sigstore
keyless); see :mod:`supplychain.signing.methods`.

>>> from supplychain.signing import KeySigner, KeyVerifier, sign, verify
>>> sign("my-model", KeySigner.from_file("release.key"), signature="model.sig")  # doctest: +SKIP
>>> verify("my-model", "model.sig", KeyVerifier.from_file("release.pub"))  # doctest: +SKIP

Names are imported on first use, so verifying with a key never loads the
X.509 or Sigstore machinery (start-up time is part of verification time).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: public name -> module that defines it
_PUBLIC: dict[str, str] = {
    "DEFAULT_SIGNATURE": "supplychain.signing.paths",
    "default_signature_path": "supplychain.signing.paths",
    "SignResult": "supplychain.signing.api",
    "VerifyResult": "supplychain.signing.api",
    "sign": "supplychain.signing.api",
    "verify": "supplychain.signing.api",
    "IntegrityError": "supplychain.signing.errors",
    "KeyMaterialError": "supplychain.signing.errors",
    "SignatureFormatError": "supplychain.signing.errors",
    "SignatureVerificationError": "supplychain.signing.errors",
    "SigningError": "supplychain.signing.errors",
    "IntegrityReport": "supplychain.signing.integrity",
    "check_integrity": "supplychain.signing.integrity",
    "SignedBundle": "supplychain.signing.methods.interface",
    "Signer": "supplychain.signing.methods.interface",
    "SignerInfo": "supplychain.signing.methods.interface",
    "VerifiedPayload": "supplychain.signing.methods.interface",
    "Verifier": "supplychain.signing.methods.interface",
    "KeySigner": "supplychain.signing.methods.key",
    "KeyVerifier": "supplychain.signing.methods.key",
    "CertificateSigner": "supplychain.signing.methods.certificate",
    "CertificateVerifier": "supplychain.signing.methods.certificate",
    "SigstoreSigner": "supplychain.signing.methods.keyless",
    "SigstoreVerifier": "supplychain.signing.methods.keyless",
}

#: kept literal (not computed) so type checkers see the re-exports
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
    "default_signature_path",
    "sign",
    "verify",
]

if TYPE_CHECKING:  # what __getattr__ loads at run time
    from supplychain.signing.api import SignResult, VerifyResult, sign, verify
    from supplychain.signing.errors import (
        IntegrityError,
        KeyMaterialError,
        SignatureFormatError,
        SignatureVerificationError,
        SigningError,
    )
    from supplychain.signing.integrity import (
        IntegrityReport,
        check_integrity,
    )
    from supplychain.signing.methods.certificate import (
        CertificateSigner,
        CertificateVerifier,
    )
    from supplychain.signing.methods.interface import (
        SignedBundle,
        Signer,
        SignerInfo,
        VerifiedPayload,
        Verifier,
    )
    from supplychain.signing.methods.key import (
        KeySigner,
        KeyVerifier,
    )
    from supplychain.signing.methods.keyless import (
        SigstoreSigner,
        SigstoreVerifier,
    )


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'supplychain.signing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
