"""Certificate method: a key plus an X.509 chain, verified against roots the user trusts.

Stricter than model-signing 1.1.1, which validates the chain as of the leaf's
``notBefore`` and so accepts expired certificates: we validate every
certificate at the verification time (now, unless the caller gives one), and
require the leaf to be usable for code signing: a KeyUsage extension, if
present, must allow digitalSignature and an ExtendedKeyUsage, if present, must
include codeSigning, and at least one of the two must be there.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Iterable, Sequence
from typing import TypeVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from supplychain.signing.bundle import CERTIFICATE, Bundle, CertificateChainMaterial, encode_bundle
from supplychain.signing.dsse import verify_payload
from supplychain.signing.errors import (
    KeyMaterialError,
    SignatureFormatError,
    SignatureVerificationError,
)
from supplychain.signing.keys import Passphrase, check_supported, load_private_key, read_key_file
from supplychain.signing.methods.interface import (
    SignedBundle,
    Signer,
    SignerInfo,
    VerifiedPayload,
    Verifier,
)
from supplychain.signing.methods.key import signed_envelope

_Extension = TypeVar("_Extension", bound=x509.ExtensionType)


def load_certificates(paths: Iterable[str | os.PathLike[str]], what: str) -> list[x509.Certificate]:
    """Every certificate in the given PEM files, in order."""
    certificates: list[x509.Certificate] = []
    for path in paths:
        data = read_key_file(path, what)
        try:
            found = x509.load_pem_x509_certificates(data)
        except ValueError:
            raise KeyMaterialError(
                f"no PEM certificate in the {what} file",
                path=os.fspath(path),
                hint="certificates are expected as -----BEGIN CERTIFICATE----- blocks",
            ) from None
        certificates.extend(found)
    return certificates


def signing_certificate_problems(certificate: x509.Certificate, at: datetime.datetime) -> list[str]:
    """Why ``certificate`` may not sign models at time ``at`` (empty when it may)."""
    problems = []
    if at < certificate.not_valid_before_utc:
        problems.append(
            f"it is not valid before {certificate.not_valid_before_utc:%Y-%m-%d %H:%M:%S} UTC"
        )
    if at > certificate.not_valid_after_utc:
        problems.append(f"it expired on {certificate.not_valid_after_utc:%Y-%m-%d %H:%M:%S} UTC")
    usage = _extension(certificate, x509.KeyUsage)
    extended = _extension(certificate, x509.ExtendedKeyUsage)
    if usage is None and extended is None:
        problems.append(
            "it declares no KeyUsage or ExtendedKeyUsage, so it is not meant for signing"
        )
    if usage is not None and not usage.digital_signature:
        problems.append("its KeyUsage does not allow digitalSignature")
    if extended is not None and not (
        ExtendedKeyUsageOID.CODE_SIGNING in extended
        or ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in extended
    ):
        problems.append("its ExtendedKeyUsage does not include codeSigning")
    return problems


def _extension(certificate: x509.Certificate, kind: type[_Extension]) -> _Extension | None:
    try:
        return certificate.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def describe_certificate(certificate: x509.Certificate) -> SignerInfo:
    fingerprint = certificate.fingerprint(hashes.SHA256()).hex()
    subject = certificate.subject.rfc4514_string() or "(empty subject)"
    return SignerInfo(
        CERTIFICATE,
        f"{subject}, issued by {certificate.issuer.rfc4514_string()}",
        {
            "subject": subject,
            "issuer": certificate.issuer.rfc4514_string(),
            "serial": format(certificate.serial_number, "x"),
            "sha256_fingerprint": fingerprint,
            "not_valid_before": certificate.not_valid_before_utc.isoformat(),
            "not_valid_after": certificate.not_valid_after_utc.isoformat(),
        },
    )


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


class CertificateSigner(Signer):
    """Signs with a private key whose certificate (and chain) go into the bundle."""

    method = CERTIFICATE

    def __init__(
        self,
        private_key: ec.EllipticCurvePrivateKey,
        certificate: x509.Certificate,
        chain: Sequence[x509.Certificate] = (),
    ) -> None:
        check_supported(private_key, what="private key")
        if certificate.public_key() != private_key.public_key():
            raise KeyMaterialError(
                "the signing certificate does not certify this private key",
                hint="pass the certificate issued for this key (--certificate) and its key (--key)",
            )
        problems = signing_certificate_problems(certificate, _now())
        if problems:
            # A signature that our own verifier (and the OMS spec) rejects is no use.
            raise KeyMaterialError(
                "the signing certificate cannot sign models: " + "; ".join(problems),
                hint="use a current certificate with digitalSignature key usage or the "
                "codeSigning extended key usage",
            )
        self._key = private_key
        self._certificates = (certificate, *chain)

    @classmethod
    def from_files(
        cls,
        private_key: str | os.PathLike[str],
        certificate: str | os.PathLike[str],
        chain: Iterable[str | os.PathLike[str]] = (),
        passphrase: Passphrase = None,
    ) -> CertificateSigner:
        leaf = load_certificates([certificate], "signing certificate")
        return cls(
            load_private_key(private_key, passphrase),
            leaf[0],
            load_certificates(chain, "certificate chain"),
        )

    def sign(self, statement: bytes) -> SignedBundle:
        from cryptography.hazmat.primitives.serialization import Encoding

        material = CertificateChainMaterial(
            tuple(c.public_bytes(Encoding.DER) for c in self._certificates)
        )
        bundle = encode_bundle(material, signed_envelope(self._key, statement))
        return SignedBundle(bundle, describe_certificate(self._certificates[0]))


class CertificateVerifier(Verifier):
    """Verifies certificate-method signatures against trusted root certificates."""

    method = CERTIFICATE

    def __init__(
        self, trust_anchors: Sequence[x509.Certificate], *, at: datetime.datetime | None = None
    ) -> None:
        if not trust_anchors:
            raise KeyMaterialError(
                "no trusted certificate given",
                hint="pass the root certificate(s) you trust with --certificate-chain ROOT.pem",
            )
        self._anchors = tuple(trust_anchors)
        self._at = at

    @classmethod
    def from_files(
        cls, paths: Iterable[str | os.PathLike[str]], *, at: datetime.datetime | None = None
    ) -> CertificateVerifier:
        return cls(load_certificates(paths, "certificate chain"), at=at)

    def _verify(self, bundle: Bundle) -> VerifiedPayload:
        material = bundle.material
        assert isinstance(material, CertificateChainMaterial)
        try:
            chain = [x509.load_der_x509_certificate(der) for der in material.certificates]
        except ValueError as exc:
            raise SignatureFormatError(
                f"not a valid OMS signature: a certificate is unreadable ({exc})"
            ) from None
        leaf = chain[0]
        at = self._at or _now()
        problems = signing_certificate_problems(leaf, at)
        if problems:
            raise SignatureVerificationError(
                "the signing certificate is not acceptable: " + "; ".join(problems),
                hint="model-signing 1.1.1 accepts such certificates; supplychain does not, "
                "because the certificate no longer vouches for the key",
            )
        self._check_chain(leaf, chain[1:], at)
        public_key = leaf.public_key()
        if not isinstance(public_key, ec.EllipticCurvePublicKey):
            raise SignatureVerificationError("the signing certificate does not hold an ECDSA key")
        check_supported(public_key, what="certificate's key")
        envelope = bundle.envelope
        try:
            legacy = verify_payload(
                public_key,
                envelope.signatures[0].sig,
                envelope.payload,
                legacy_hash=hashes.SHA256(),  # model-signing 0.2 always used SHA-256 here
            )
        except InvalidSignature:
            raise SignatureVerificationError(
                "the signature does not verify with the signing certificate's key",
                hint="the signature file was altered",
            ) from None
        warnings = (
            ("the signature uses model-signing 0.2's DSSE encoding; re-sign it",) if legacy else ()
        )
        return VerifiedPayload(envelope.payload, describe_certificate(leaf), warnings)

    def _check_chain(
        self, leaf: x509.Certificate, intermediates: list[x509.Certificate], at: datetime.datetime
    ) -> None:
        from cryptography.x509.verification import (
            ExtensionPolicy,
            PolicyBuilder,
            Store,
            VerificationError,
        )

        # CAs must be real CAs (RFC 5280 / CABF profile); the leaf's usage is
        # checked above with clearer messages than a policy callback would give.
        verifier = (
            PolicyBuilder()
            .store(Store(list(self._anchors)))
            .time(at)
            .extension_policies(
                ca_policy=ExtensionPolicy.webpki_defaults_ca(),
                ee_policy=ExtensionPolicy.permit_all(),
            )
            .build_client_verifier()
        )
        try:
            verifier.verify(leaf, intermediates)
        except VerificationError as exc:
            raise SignatureVerificationError(
                f"the signing certificate does not chain to a trusted root ({exc})",
                hint="pass the root certificate that issued the signer's chain with "
                "--certificate-chain; certificates inside the bundle are never trusted alone",
            ) from None
