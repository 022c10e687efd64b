"""Signing methods: one signer and one verifier per way of establishing who signed.

- :mod:`.key`: an ECDSA key pair (the verifier holds the public key);
- :mod:`.certificate`: a key plus an X.509 certificate chain to a trusted root;
- :mod:`.keyless`: Sigstore keyless, an OIDC identity bound by Fulcio and logged in Rekor.
"""

from supplychain.signing.methods.certificate import CertificateSigner, CertificateVerifier
from supplychain.signing.methods.interface import (
    SignedBundle,
    Signer,
    SignerInfo,
    VerifiedPayload,
    Verifier,
)
from supplychain.signing.methods.key import KeySigner, KeyVerifier
from supplychain.signing.methods.keyless import SigstoreSigner, SigstoreVerifier

__all__ = [
    "CertificateSigner",
    "CertificateVerifier",
    "KeySigner",
    "KeyVerifier",
    "SignedBundle",
    "Signer",
    "SignerInfo",
    "SigstoreSigner",
    "SigstoreVerifier",
    "VerifiedPayload",
    "Verifier",
]
