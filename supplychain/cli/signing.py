"""``supplychain sign``, ``supplychain verify`` and ``supplychain keygen`` (OMS signatures)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from supplychain.cli._shared import (
    hashing_options,
    info,
    json_option,
    model_argument,
    state,
    walk_options,
)
from supplychain.errors import ExitCode, InputError, VerificationError
from supplychain.output import dump_json, human_bytes

if TYPE_CHECKING:
    from supplychain.signing import Signer, Verifier

_path = click.Path(dir_okay=False, path_type=Path)


def _passphrase(env_name: str | None) -> Callable[[], bytes]:
    """Where an encrypted key's passphrase comes from: the named variable, else a prompt."""

    def from_env() -> bytes:
        assert env_name is not None
        value = os.environ.get(env_name)
        if value is None:
            raise InputError(
                f"environment variable {env_name} is not set",
                hint="--passphrase-env takes the NAME of a variable holding the passphrase",
            )
        return value.encode("utf-8")

    def from_prompt() -> bytes:
        try:
            value: str = click.prompt("Passphrase for the private key", hide_input=True, err=True)
        except click.Abort:
            raise InputError(
                "the private key is encrypted and no passphrase was entered",
                hint="type it at the prompt, or use --passphrase-env NAME",
            ) from None
        return value.encode("utf-8")

    return from_env if env_name else from_prompt


def _signer(options: dict[str, Any]) -> Signer:
    key, certificate, keyless = options["key"], options["certificate"], options["use_sigstore"]
    chosen = [
        name
        for name, on in (
            ("--key", key and not certificate),
            ("--certificate", certificate),
            ("--sigstore", keyless),
        )
        if on
    ]
    if len(chosen) != 1:
        raise click.UsageError(
            "choose one signing method: --key KEY.pem, --certificate LEAF.pem --key KEY.pem, "
            "or --sigstore" + (f" (got {' and '.join(chosen)})" if chosen else "")
        )
    passphrase = _passphrase(options["passphrase_env"])
    if certificate:
        if not key:
            raise click.UsageError(
                "--certificate needs the certificate's private key: --key KEY.pem"
            )
        from supplychain.signing import CertificateSigner

        return CertificateSigner.from_files(key, certificate, options["chain"], passphrase)
    if options["chain"]:
        raise click.UsageError("--chain only applies to --certificate signing")
    if key:
        from supplychain.signing import KeySigner

        return KeySigner.from_file(key, passphrase)
    from supplychain.signing import SigstoreSigner

    return SigstoreSigner(
        identity_token=options["identity_token"],
        use_ambient_credentials=True,
        interactive=not options["no_interactive"],
        staging=options["staging"],
        trust_config=options["trust_config"],
        oidc_issuer=options["oidc_issuer"],
        client_id=options["client_id"],
        force_oob=options["oauth_force_oob"],
    )


@click.command(
    "sign",
    epilog="""\b
Examples:
  supplychain keygen release                              (writes release.key, release.pub)
  supplychain sign ./my-model --key release.key           (writes ./my-model/model.sig)
  supplychain sign ./my-model --key release.key --passphrase-env KEY_PASSPHRASE
  supplychain sign ./my-model --certificate leaf.pem --chain intermediate.pem --key leaf.key
  supplychain sign ./my-model --sigstore                  (CI OIDC, or a browser login)
  supplychain sign ./my-model --sigstore --identity-token "$TOKEN" -s my-model.sig

\b
Signatures are OpenSSF Model Signing (OMS) bundles; with the default hashing
(whole files, sha256) `model_signing verify` 1.1.1 accepts them. The
signature file is never part of what it signs; .git, .gitattributes, .github
and .gitignore are skipped unless --no-ignore-git-paths.

Exit codes: 0 signed, 2 usage or input error (bad key, empty model, no identity,
signing service unreachable); nothing is written unless signing succeeded.""",
)
@model_argument
@click.option(
    "-s",
    "--signature",
    type=_path,
    default=None,
    help="Where to write the signature [default: MODEL/model.sig, or FILE.sig for a file].",
)
@click.option("--key", type=_path, help="ECDSA private key (PEM; P-256, P-384 or P-521).")
@click.option("--certificate", type=_path, help="Signing certificate for --key (PEM).")
@click.option(
    "--chain",
    multiple=True,
    type=_path,
    metavar="CERT.pem",
    help="Intermediate certificate(s) to include in the bundle. Repeatable.",
)
@click.option("--sigstore", "use_sigstore", is_flag=True, help="Sign keylessly with Sigstore.")
@click.option(
    "--identity-token",
    envvar="SIGSTORE_ID_TOKEN",
    show_envvar=True,
    metavar="TOKEN",
    help="OIDC identity token for --sigstore (else CI credentials, else a browser login).",
)
@click.option(
    "--no-interactive",
    is_flag=True,
    help="With --sigstore: fail instead of starting a browser login.",
)
@click.option(
    "--oauth-force-oob",
    is_flag=True,
    help="With --sigstore: print the login URL instead of opening a browser.",
)
@click.option("--oidc-issuer", metavar="URL", help="With --sigstore: OIDC provider for the login.")
@click.option("--client-id", default="sigstore", show_default=True, help="OIDC client id.")
@click.option("--staging", is_flag=True, help="Use Sigstore's staging instance (testing only).")
@click.option(
    "--trust-config",
    type=_path,
    metavar="FILE",
    help="Sigstore ClientTrustConfig JSON (private Sigstore deployments).",
)
@click.option(
    "--passphrase-env",
    metavar="NAME",
    help="Read an encrypted key's passphrase from environment variable NAME "
    "(default: prompt when needed).",
)
@hashing_options
@json_option
def sign_command(model: str, signature: Path | None, as_json: bool, **options: Any) -> None:
    """Sign MODEL (a directory or a single file) in the OpenSSF Model Signing format."""
    from supplychain.signing import sign

    signer = _signer(options)
    hashing = {
        k: options[k]
        for k in (
            "algorithm",
            "shard_size",
            "ignore",
            "ignore_git_paths",
            "allow_symlinks",
            "use_cache",
        )
    }
    result = sign(model, signer, signature=signature, progress=state().progress, **hashing)
    if as_json:
        dump_json(result.to_json())
        return
    serialization = result.manifest.serialization
    from supplychain.output.names import escape_text, quote_name

    click.echo(f"signed {quote_name(result.model)} -> {quote_name(result.signature)}")
    click.echo(f"  signer: {escape_text(result.signer.summary)}")
    click.echo(
        f"  {len(result.manifest.resources)} resources, {human_bytes(result.bytes_total)}, "
        f"root digest sha256:{result.manifest.root_digest_hex}"
    )
    if serialization.method != "files" or serialization.hash_type != "sha256":
        info(
            "note: model_signing verify 1.1.1 (CLI) only checks whole-file sha256 signatures; "
            "verify this one with supplychain"
        )
    info(f"done in {result.seconds:.2f} s")


def _verifier(options: dict[str, Any]) -> Verifier:
    public_key, roots = options["public_key"], options["certificate_chain"]
    identity, issuer = options["identity"], options["issuer"]
    chosen = [
        name
        for name, on in (
            ("--public-key", public_key),
            ("--certificate-chain", roots),
            ("--identity/--issuer", identity or issuer),
        )
        if on
    ]
    if len(chosen) != 1:
        raise click.UsageError(
            "say what to trust, once: --public-key KEY.pub, --certificate-chain ROOT.pem, "
            "or --identity ID --issuer URL" + (f" (got {' and '.join(chosen)})" if chosen else "")
        )
    if public_key:
        from supplychain.signing import KeyVerifier

        return KeyVerifier.from_file(public_key)
    if roots:
        from supplychain.signing import CertificateVerifier

        return CertificateVerifier.from_files(roots)
    if not (identity and issuer):
        raise click.UsageError("keyless verification needs both --identity and --issuer")
    from supplychain.signing import SigstoreVerifier

    return SigstoreVerifier(
        identity=identity,
        issuer=issuer,
        staging=options["staging"],
        trust_config=options["trust_config"],
    )


@click.command(
    "verify",
    epilog="""\b
Examples:
  supplychain verify ./my-model --public-key release.pub   (reads ./my-model/model.sig)
  supplychain verify ./my-model -s model.sig --certificate-chain root-ca.pem
  supplychain verify ./my-model -s model.sig \\
      --identity https://github.com/ORG/REPO/.github/workflows/release.yml@refs/tags/v1.0 \\
      --issuer https://token.actions.githubusercontent.com
  supplychain verify ./my-model -s model.sig --public-key release.pub --json

\b
Accepts every signature model-signing 1.x writes (key, certificate and Sigstore
keyless; older formats included). Checks that the signature is authentic and
that every signed file is present and unchanged and no unsigned file was added,
naming each file that differs. Ignored paths recorded in the signature apply.

Exit codes: 0 verified, 1 verification failed (bad or untrusted signature, or a
file missing, extra or modified; the reason is printed), 2 usage or input error.""",
)
@model_argument
@click.option(
    "-s",
    "--signature",
    type=_path,
    default=None,
    help="The signature to check [default: MODEL/model.sig, or FILE.sig for a file].",
)
@click.option("--public-key", type=_path, help="Trust signatures made with this key (PEM).")
@click.option(
    "--certificate-chain",
    multiple=True,
    type=_path,
    metavar="ROOT.pem",
    help="Trust certificates chaining to these roots. Repeatable.",
)
@click.option(
    "--identity",
    help="Keyless: the signer identity (email or workflow URI); exact, or with * and ? wildcards.",
)
@click.option(
    "--issuer", metavar="URL", help="Keyless: the identity's OIDC issuer; exact, or with wildcards."
)
@click.option("--staging", is_flag=True, help="Keyless: use Sigstore's staging trust root.")
@click.option(
    "--trust-config",
    type=_path,
    metavar="FILE",
    help="Keyless: a ClientTrustConfig JSON (private Sigstore, or offline verification).",
)
@click.option(
    "--ignore-unsigned-files",
    is_flag=True,
    help="Check only the files the signature lists; others on disk are not reported.",
)
@click.option(
    "--trust-cache",
    "use_cache",
    is_flag=True,
    help="Reuse digests from the hash cache (faster; only if nobody else can write it).",
)
@walk_options
@json_option
def verify_command(model: str, signature: Path | None, as_json: bool, **options: Any) -> int:
    """Verify MODEL against an OMS SIGNATURE: authentic, and exactly what was signed."""
    from supplychain.signing.integrity import Prehash
    from supplychain.signing.paths import default_signature_path

    if signature is None:
        signature = default_signature_path(model)
    prehash = None
    if not (options["ignore_unsigned_files"] or options["use_cache"]) and os.path.lexists(model):
        # Start reading the model now; the signing code below takes a while to import.
        prehash = Prehash(
            model,
            signature=signature,
            ignore=options["ignore"],
            ignore_git_paths=options["ignore_git_paths"],
            allow_symlinks=options["allow_symlinks"],
            progress=state().progress,
        )
    from supplychain.signing import IntegrityError, verify

    try:
        try:
            verifier = _verifier(options)
        except BaseException:
            if prehash is not None:
                prehash.cancel()
            raise
        result = verify(
            model,
            signature,
            verifier,
            ignore=options["ignore"],
            ignore_git_paths=options["ignore_git_paths"],
            allow_symlinks=options["allow_symlinks"],
            ignore_unsigned_files=options["ignore_unsigned_files"],
            use_cache=options["use_cache"],
            progress=state().progress,
            prehashed=prehash,
        )
    except VerificationError as exc:
        report = exc.report if isinstance(exc, IntegrityError) else None
        if as_json:
            dump_json(
                {
                    "verified": False,
                    "model": model,
                    "signature": str(signature),
                    "reason": exc.problem,
                    "hint": exc.hint,
                    "signer": exc.signer.to_json()
                    if isinstance(exc, IntegrityError) and exc.signer
                    else None,
                    "integrity": report.to_json() if report else None,
                }
            )
            return ExitCode.FAILED
        if report is None:
            raise
        from supplychain.output.names import escape_text, quote_name

        click.echo(f"FAILED: {quote_name(model)} does not match {quote_name(signature)}")
        for line in report.problems(limit=None):
            click.echo(f"  {escape_text(line)}")
        if isinstance(exc, IntegrityError) and exc.signer:
            click.echo(f"  (the signature itself is authentic: {escape_text(exc.signer.summary)})")
        return ExitCode.FAILED
    if as_json:
        dump_json(result.to_json())
        return ExitCode.OK
    from supplychain.output.names import escape_text, quote_name

    click.echo(f"verified: {quote_name(model)} matches {quote_name(signature)}")
    click.echo(f"  signer: {escape_text(result.signer.summary)}")
    click.echo(
        f"  {result.integrity.files_checked} files checked, "
        f"root digest sha256:{result.manifest.root_digest_hex}"
    )
    for warning in result.warnings:
        click.secho(f"warning: {escape_text(warning)}", err=True, fg="yellow")
    info(f"done in {result.seconds:.2f} s")
    return ExitCode.OK


@click.command(
    "keygen",
    epilog="""\b
Examples:
  supplychain keygen release                   (prompts for a passphrase twice)
  supplychain keygen release --passphrase-env KEY_PASSPHRASE --curve P-384
  supplychain keygen ci-test --no-passphrase   (unencrypted: tests only)

Writes NAME.key (PKCS#8 PEM, mode 0600, encrypted unless --no-passphrase) and
NAME.pub (PEM public key, to give to verifiers). Existing files are kept unless --force.

Exit codes: 0 written, 2 usage or input error.""",
)
@click.argument("name", default="signing", metavar="[NAME]")
@click.option(
    "--curve",
    type=click.Choice(["P-256", "P-384", "P-521"], case_sensitive=False),
    default="P-256",
    show_default=True,
    help="Elliptic curve (all three are OMS curves).",
)
@click.option("--no-passphrase", is_flag=True, help="Write the private key unencrypted.")
@click.option(
    "--passphrase-env",
    metavar="NAME",
    help="Take the passphrase from environment variable NAME instead of a prompt.",
)
@click.option("--force", is_flag=True, help="Overwrite existing key files.")
@json_option
def keygen_command(
    name: str,
    curve: str,
    no_passphrase: bool,
    passphrase_env: str | None,
    force: bool,
    as_json: bool,
) -> None:
    """Create an ECDSA key pair for `sign --key` and `verify --public-key`."""
    from supplychain._internal.atomic import write_bytes_atomic
    from supplychain.signing.keys import (
        generate_private_key,
        private_key_pem,
        public_key_hint,
        public_key_pem,
    )

    private_path, public_path = Path(f"{name}.key"), Path(f"{name}.pub")
    for path in (private_path, public_path):
        if path.exists() and not force:
            raise InputError(
                "already exists", path=path, hint="choose another NAME, or pass --force"
            )
    if no_passphrase and passphrase_env:
        raise click.UsageError("--no-passphrase and --passphrase-env contradict each other")
    passphrase = None if no_passphrase else _new_passphrase(passphrase_env)
    key = generate_private_key(curve)
    write_bytes_atomic(private_path, private_key_pem(key, passphrase), mode=0o600)
    write_bytes_atomic(public_path, public_key_pem(key.public_key()), mode=0o644)
    hint = public_key_hint(key.public_key())
    if as_json:
        dump_json(
            {
                "private_key": str(private_path),
                "public_key": str(public_path),
                "curve": curve.upper(),
                "encrypted": passphrase is not None,
                "public_key_sha256": hint,
            }
        )
        return
    click.echo(f"wrote {private_path} ({'encrypted' if passphrase else 'UNENCRYPTED'}, mode 0600)")
    click.echo(f"wrote {public_path} (ECDSA {curve.upper()}, sha256:{hint})")


def _new_passphrase(env_name: str | None) -> bytes:
    if env_name:
        value = os.environ.get(env_name)
        if not value:
            raise InputError(f"environment variable {env_name} is not set or empty")
        return value.encode("utf-8")
    try:
        value = click.prompt(
            "Passphrase for the new key", hide_input=True, confirmation_prompt=True, err=True
        )
    except click.Abort:
        raise InputError(
            "no passphrase entered", hint="use --no-passphrase for an unencrypted key"
        ) from None
    if not value:
        raise InputError("empty passphrase", hint="use --no-passphrase for an unencrypted key")
    return str(value).encode("utf-8")
