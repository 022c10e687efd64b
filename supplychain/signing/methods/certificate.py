"""Certificate method: a key plus an X.509 chain, verified against roots the user trusts.

Stricter than model-signing 1.1.1, which validates the chain as of the leaf's
``notBefore`` and so accepts expired certificates: we validate every
certificate at the verification time (now, unless the caller gives one), and
require the leaf to be usable for code signing: a KeyUsage extension, if
present, must allow digitalSignature and an ExtendedKeyUsage, if present, must
include codeSigning, and at least one of the two must be there.

The signing certificate must also be an end entity, not an authority (RFC 5280
§4.2.1.9; model-signing 1.1.1's OpenSSL store check accepts both): a
certificate that may issue certificates (basicConstraints CA:TRUE with the
keyCertSign usage, or with no KeyUsage to restrict it), a trusted root, or a
certificate sharing its key with another certificate of the chain is refused.
Keeping CA keys off model signatures means a leaked signing key never mints
identities and a CA key is never used outside issuing. A certificate marked
CA:TRUE whose KeyUsage forbids certificate signing cannot act as a CA in path
validation; model-signing's own test PKI and the OMS spec's certificate test
vector sign with one, so verification accepts it with a warning, while
signing refuses to make new signatures with it.
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


def authority_problem(certificate: x509.Certificate) -> str | None:
    """Why ``certificate`` is a certificate authority rather than a signer (None when it is not)."""
    constraints = _extension(certificate, x509.BasicConstraints)
    if constraints is None or not constraints.ca:
        return None
    usage = _extension(certificate, x509.KeyUsage)
    if usage is not None and not usage.key_cert_sign:
        return None  # marked CA, but its KeyUsage forbids issuing: see marked_authority
    return "it is a CA certificate (basicConstraints CA:TRUE, allowed to sign certificates)"


def marked_authority(certificate: x509.Certificate) -> bool:
    """Whether ``certificate`` says CA:TRUE although its KeyUsage forbids issuing certificates."""
    constraints = _extension(certificate, x509.BasicConstraints)
    return constraints is not None and constraints.ca and authority_problem(certificate) is None


def shared_key_problem(
    leaf: x509.Certificate, others: Iterable[x509.Certificate], role: str
) -> str | None:
    """Why ``leaf`` may not sign when its key also belongs to one of ``others`` (a CA)."""
    spki = _public_key_der(leaf)
    for other in others:
        if _public_key_der(other) == spki:
            subject = other.subject.rfc4514_string() or "(empty subject)"
            return f"its key is the key of {role} {subject}"
    return None


def _public_key_der(certificate: x509.Certificate) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return certificate.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


_END_ENTITY_HINT = (
    "sign with an end-entity certificate (basicConstraints CA:FALSE) issued by your CA, "
    "never with the CA's own certificate"
)


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


def _signer_authority_problems(
    certificate: x509.Certificate, chain: Sequence[x509.Certificate]
) -> list[str]:
    # Stricter than verification: even a CA:TRUE certificate that cannot issue
    # is refused, so every signature we make verifies without a warning.
    found = [authority_problem(certificate), shared_key_problem(certificate, chain, "chain CA")]
    if marked_authority(certificate):
        found.append("it is marked CA:TRUE (basicConstraints)")
    return [problem for problem in found if problem is not None]


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
        problems += _signer_authority_problems(certificate, chain)
        if problems:
            # A signature that our own verifier (and the OMS spec) rejects is no use.
            raise KeyMaterialError(
                "the signing certificate cannot sign models: " + "; ".join(problems),
                hint="use a current end-entity certificate (not a CA) with digitalSignature "
                "key usage or the codeSigning extended key usage",
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


_MARKED_AUTHORITY_WARNING = (
    "the signing certificate is marked CA:TRUE, though its KeyUsage forbids issuing "
    "certificates; re-issue it as an end-entity certificate (CA:FALSE)"
)


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
        self._check_end_entity(leaf, chain[1:])
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
        warnings = [_MARKED_AUTHORITY_WARNING] if marked_authority(leaf) else []
        if legacy:
            warnings.append("the signature uses model-signing 0.2's DSSE encoding; re-sign it")
        return VerifiedPayload(envelope.payload, describe_certificate(leaf), tuple(warnings))

    def _check_end_entity(
        self, leaf: x509.Certificate, intermediates: list[x509.Certificate]
    ) -> None:
        found = (
            authority_problem(leaf),
            shared_key_problem(leaf, self._anchors, "the trusted root"),
            shared_key_problem(leaf, intermediates, "the chain certificate"),
        )
        problems = [problem for problem in found if problem is not None]
        if problems:
            raise SignatureVerificationError(
                "the signing certificate is a certificate authority, not a signer: "
                + "; ".join(problems),
                hint="model-signing 1.1.1 accepts CA certificates as signers; supplychain does "
                "not. " + _END_ENTITY_HINT,
            )

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
