"""Sigstore keyless: an OIDC identity bound to an ephemeral key by Fulcio, logged in Rekor.

Everything cryptographic is sigstore-python's (``SigningContext.signer`` /
``sign_dsse`` and ``Verifier.verify_dsse`` with an ``Identity`` policy); this
module chooses the trust configuration, finds the identity token and turns
sigstore's failures into clear errors. sigstore is imported only here, and
only when a keyless signature is actually made or checked.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from supplychain.signing.bundle import SIGSTORE, Bundle, KeylessMaterial, parse_bundle
from supplychain.signing.errors import KeyMaterialError, SignatureVerificationError, SigningError
from supplychain.signing.methods.interface import (
    SignedBundle,
    Signer,
    SignerInfo,
    VerifiedPayload,
    Verifier,
)

if TYPE_CHECKING:
    from cryptography import x509
    from sigstore.models import ClientTrustConfig
    from sigstore.oidc import IdentityToken

DEFAULT_CLIENT_ID = "sigstore"


def load_trust_config(
    trust_config: str | os.PathLike[str] | None, *, staging: bool
) -> ClientTrustConfig:
    """A ClientTrustConfig from a file, or Sigstore's (staging) instance via TUF (network)."""
    from sigstore.errors import Error as SigstoreError
    from sigstore.models import ClientTrustConfig

    if trust_config is not None:
        from supplychain._internal import safeopen

        path = Path(trust_config)
        text = safeopen.read_text(path, safeopen.TRUST_CONFIG, error=KeyMaterialError)
        if safeopen.json_nesting(text) > safeopen.MAX_NESTING:
            raise KeyMaterialError(safeopen.nesting_problem("trust configuration"), path=path)
        try:
            return ClientTrustConfig.from_json(text)
        except Exception as exc:  # pydantic / protobuf validation errors vary
            raise KeyMaterialError(
                f"not a Sigstore ClientTrustConfig ({_first_line(exc)})",
                path=path,
                hint="expected JSON with mediaType "
                "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json, "
                "trustedRoot and signingConfig",
            ) from None
    try:
        return ClientTrustConfig.staging() if staging else ClientTrustConfig.production()
    except (SigstoreError, OSError) as exc:
        instance = "staging" if staging else "production"
        raise KeyMaterialError(
            f"cannot fetch Sigstore's {instance} trust root (TUF): {_first_line(exc)}",
            hint="check the network, or pass a pinned trust configuration with --trust-config",
        ) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


#: Fulcio's OIDC issuer extensions: v2 (DER UTF8String) and the deprecated v1 (raw text).
_ISSUER_V2 = "1.3.6.1.4.1.57264.1.8"
_ISSUER_V1 = "1.3.6.1.4.1.57264.1.1"


def keyless_info(material: KeylessMaterial) -> SignerInfo:
    """Who a Fulcio certificate names: the SAN verifiers must pass as --identity, and the issuer.

    For GitHub Actions the SAN is the workflow URI, not the token's ``sub``
    claim, so it is read from the certificate rather than from the token.
    """
    from cryptography import x509

    identity, issuer = certificate_identity(x509.load_der_x509_certificate(material.certificate))
    return SignerInfo(
        SIGSTORE,
        f"{identity or 'unknown identity'} (OIDC issuer {issuer or 'unknown'})",
        {"identity": identity, "issuer": issuer, "tlog_entries": material.tlog_entries},
    )


def certificate_identity(certificate: x509.Certificate) -> tuple[str, str]:
    """(SAN identity, OIDC issuer) of a Fulcio certificate; empty strings when absent."""
    from cryptography import x509

    identity = ""
    with contextlib.suppress(x509.ExtensionNotFound):
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        found = names.get_values_for_type(x509.RFC822Name) or names.get_values_for_type(
            x509.UniformResourceIdentifier
        )
        identity = found[0] if found else ""
    issuer = ""
    for oid in (_ISSUER_V2, _ISSUER_V1):
        try:
            value = certificate.extensions.get_extension_for_oid(x509.ObjectIdentifier(oid)).value
        except x509.ExtensionNotFound:
            continue
        raw = value.value if isinstance(value, x509.UnrecognizedExtension) else b""
        if oid == _ISSUER_V2 and raw[:1] == b"\x0c" and len(raw) > 1:
            # DER UTF8String: tag, length (short form, or 0x80+n then n bytes), text.
            raw = raw[2:] if raw[1] < 0x80 else raw[2 + (raw[1] & 0x7F) :]
        issuer = raw.decode("utf-8", "replace")
        break
    return identity, issuer


def is_pattern(text: str) -> bool:
    """Whether an expected identity or issuer uses shell-style wildcards."""
    return any(c in text for c in "*?[")


class _PatternPolicy:
    """A sigstore-python verification policy matching identity and issuer with wildcards.

    ``*`` matches any run of characters (including '/'), so a pattern such as
    ``https://github.com/org/repo/.github/workflows/release.yml@refs/tags/*``
    accepts every tag of one workflow and nothing else.
    """

    def __init__(self, identity: str, issuer: str) -> None:
        self._identity = identity
        self._issuer = issuer

    def verify(self, cert: x509.Certificate) -> None:
        from fnmatch import fnmatchcase

        from sigstore.errors import VerificationError

        identity, issuer = certificate_identity(cert)
        if not fnmatchcase(issuer, self._issuer):
            raise VerificationError(
                f"certificate OIDC issuer {issuer!r} does not match {self._issuer!r}"
            )
        if not fnmatchcase(identity, self._identity):
            raise VerificationError(
                f"certificate identity {identity!r} does not match {self._identity!r}"
            )


class SigstoreSigner(Signer):
    """Signs keylessly: Fulcio certifies the identity token's identity for an ephemeral key.

    The token comes from, in order: ``identity_token``; ambient CI credentials
    (GitHub Actions and other providers sigstore-python detects) when
    ``use_ambient_credentials``; the interactive OAuth flow when ``interactive``.
    """

    method = SIGSTORE

    def __init__(
        self,
        *,
        identity_token: str | None = None,
        use_ambient_credentials: bool = True,
        interactive: bool = True,
        staging: bool = False,
        trust_config: str | os.PathLike[str] | None = None,
        oidc_issuer: str | None = None,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = "",
        force_oob: bool = False,
    ) -> None:
        self._token = identity_token
        self._ambient = use_ambient_credentials
        self._interactive = interactive
        self._client_id = client_id
        self._client_secret = client_secret
        self._force_oob = force_oob
        self._oidc_issuer = oidc_issuer
        # Load the trust configuration now: a bad one fails before any hashing.
        self._trust = load_trust_config(trust_config, staging=staging)

    def sign(self, statement: bytes) -> SignedBundle:
        from sigstore.dsse import Statement
        from sigstore.sign import SigningContext

        token = self.identity_token()
        try:
            context = SigningContext.from_trust_config(self._trust)
            with context.signer(token) as signer:
                result = signer.sign_dsse(Statement(statement))
        except Exception as exc:
            if not _from_sigstore(exc):
                raise
            raise SigningError(
                f"Sigstore signing failed: {_describe_failure(exc)}",
                hint="check the network, the identity token and the Sigstore instance; "
                "no signature was written",
            ) from None
        bundle = parse_bundle(result.to_json().encode("utf-8"))
        assert isinstance(bundle.material, KeylessMaterial)
        return SignedBundle(bundle, keyless_info(bundle.material))

    def identity_token(self) -> IdentityToken:
        """The identity to sign as: explicit token, then ambient credentials, then interactive."""
        from sigstore.oidc import IdentityError, IdentityToken, Issuer, detect_credential

        try:
            if self._token:
                return IdentityToken(self._token, self._client_id)
            if self._ambient:
                ambient = detect_credential(self._client_id)
                if ambient:
                    return IdentityToken(ambient, self._client_id)
            if not self._interactive:
                raise SigningError(
                    "no identity token for keyless signing",
                    hint="pass --identity-token (or set SIGSTORE_ID_TOKEN), run in CI with "
                    "OIDC enabled (GitHub Actions: `permissions: id-token: write`), "
                    "or run interactively",
                )
            issuer_url = self._oidc_issuer or self._trust.signing_config.get_oidc_url()
            return Issuer(issuer_url).identity_token(
                client_id=self._client_id,
                client_secret=self._client_secret,
                force_oob=self._force_oob,
            )
        except IdentityError as exc:
            raise SigningError(
                f"the identity token is not usable: {_describe_failure(exc)}",
                hint="tokens must be unexpired OIDC ID tokens whose audience is 'sigstore'",
            ) from None
        except Exception as exc:
            if not _from_sigstore(exc):
                raise
            raise SigningError(
                f"cannot obtain an identity token: {_describe_failure(exc)}"
            ) from None


def _from_sigstore(exc: BaseException) -> bool:
    """Whether sigstore-python (or its OIDC and HTTP helpers) raised this.

    Its Fulcio and Rekor clients raise plain ``Exception`` subclasses, and
    configuration problems surface as ``ValueError``.
    """
    import requests

    module = type(exc).__module__
    return (
        isinstance(exc, requests.RequestException | ValueError)
        or module == "id"
        or module.startswith(("id.", "sigstore.", "sigstore_models."))
    )


def _describe_failure(exc: BaseException) -> str:
    """sigstore's own diagnostics, or a short account of a network failure."""
    import requests

    if isinstance(exc, requests.RequestException) and exc.request is not None:
        reason = re.search(r"\[Errno -?\d+\] ([^'\")]+)", str(exc))
        detail = reason.group(1).strip() if reason else type(exc).__name__
        url = exc.request.url
        return f"cannot reach {url.decode() if isinstance(url, bytes) else url} ({detail})"
    diagnostics: Any = getattr(exc, "diagnostics", None)
    if callable(diagnostics):
        with contextlib.suppress(Exception):  # best effort; fall back to the message
            return " ".join(str(diagnostics()).split())
    detail = _first_line(exc)
    cause = exc.__cause__ or exc.__context__
    if cause is not None and detail == type(exc).__name__:
        detail = f"{detail}: {_first_line(cause)}"
    return detail


class SigstoreVerifier(Verifier):
    """Verifies keyless signatures: Fulcio chain, Rekor proof, SCT and the expected identity."""

    method = SIGSTORE

    def __init__(
        self,
        *,
        identity: str,
        issuer: str,
        staging: bool = False,
        trust_config: str | os.PathLike[str] | None = None,
    ) -> None:
        if not identity or not issuer:
            raise KeyMaterialError(
                "keyless verification needs both the expected identity and its OIDC issuer",
                hint="e.g. --identity "
                "https://github.com/ORG/REPO/.github/workflows/release.yml@refs/tags/v1 "
                "--issuer https://token.actions.githubusercontent.com",
            )
        self._identity = identity
        self._issuer = issuer
        self._trust = load_trust_config(trust_config, staging=staging)

    def _verify(self, bundle: Bundle) -> VerifiedPayload:
        from sigstore.errors import Error as SigstoreError
        from sigstore.models import Bundle as SigstoreBundle
        from sigstore.verify import Verifier as SigstoreVerifierImpl
        from sigstore.verify.policy import Identity

        assert isinstance(bundle.material, KeylessMaterial)
        try:
            parsed = SigstoreBundle.from_json(bundle.encoded)
        except Exception as exc:
            raise SignatureVerificationError(
                f"sigstore-python cannot read this bundle: {_describe_failure(exc)}"
            ) from None
        try:
            verifier = SigstoreVerifierImpl(trusted_root=self._trust.trusted_root)
            policy: Any = (
                _PatternPolicy(self._identity, self._issuer)
                if is_pattern(self._identity) or is_pattern(self._issuer)
                else Identity(identity=self._identity, issuer=self._issuer)
            )
            payload_type, payload = verifier.verify_dsse(parsed, policy)
        except SigstoreError as exc:
            raise SignatureVerificationError(
                f"the keyless signature does not verify: {_describe_failure(exc)}",
                hint="check --identity and --issuer (exact values, or * and ? wildcards) "
                "and the trust root",
            ) from None
        if payload_type != bundle.envelope.payload_type:
            raise SignatureVerificationError(f"unexpected DSSE payload type {payload_type!r}")
        # Report who actually signed (the certificate), which a pattern does not pin down.
        signer = keyless_info(bundle.material)
        info = SignerInfo(
            SIGSTORE,
            signer.summary,
            {
                **signer.details,
                "expected_identity": self._identity,
                "expected_issuer": self._issuer,
            },
        )
        return VerifiedPayload(payload, info)
