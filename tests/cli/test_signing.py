"""``supplychain sign``, ``verify`` and ``keygen``: output, files, exit codes."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tests.conftest import RunCli
from tests.signing.conftest import TRUST_CONFIG, Pki, identity_token, write_key_pair


@pytest.fixture
def model(tmp_path: Path) -> Path:
    root = tmp_path / "model"
    (root / "sub").mkdir(parents=True)
    (root / "weights.bin").write_bytes(b"w" * 1000)
    (root / "sub" / "config.json").write_text("{}")
    return root


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "keys").mkdir()
    pair = write_key_pair(tmp_path / "keys")
    return pair.private, pair.public


def test_help_documents_examples_and_exit_codes(run_cli: RunCli) -> None:
    for command, codes in (
        ("sign", "0 signed"),
        ("verify", "1 verification failed"),
        ("keygen", "0 written"),
    ):
        result = run_cli(command, "--help")
        assert result.exit_code == 0
        assert (
            "Examples:" in result.stdout
            and "Exit codes:" in result.stdout
            and codes in result.stdout
        )


def test_sign_and_verify(
    run_cli: RunCli, model: Path, keys: tuple[Path, Path], tmp_path: Path
) -> None:
    signature = tmp_path / "model.sig"
    result = run_cli("sign", model, "--key", keys[0], "-s", signature)
    assert result.exit_code == 0, result
    assert f"-> {signature}" in result.stdout and "ECDSA P-256" in result.stdout
    assert signature.read_bytes().startswith(b'{"dsseEnvelope"')
    result = run_cli("verify", model, "-s", signature, "--public-key", keys[1])
    assert result.exit_code == 0, result
    assert result.stdout.startswith(f"verified: {model} matches {signature}")
    assert "2 files checked" in result.stdout


def test_default_signature_path_is_inside_the_model(
    run_cli: RunCli,
    model: Path,
    keys: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert run_cli("sign", model, "--key", keys[0]).exit_code == 0
    assert (model / "model.sig").is_file() and not (tmp_path / "model.sig").exists()
    # verify finds it there too, and it is not an "extra" file.
    result = run_cli("verify", model, "--public-key", keys[1])
    assert result.exit_code == 0, result


def test_json_output(run_cli: RunCli, model: Path, keys: tuple[Path, Path], tmp_path: Path) -> None:
    signature = tmp_path / "m.sig"
    signed = json.loads(run_cli("sign", model, "--key", keys[0], "-s", signature, "--json").stdout)
    assert signed["signed"] is True and signed["resources"] == 2
    assert signed["signer"]["method"] == "key"
    verified = run_cli("verify", model, "-s", signature, "--public-key", keys[1], "--json")
    document = json.loads(verified.stdout)
    assert verified.exit_code == 0 and document["verified"] is True
    assert document["root_digest"] == signed["root_digest"]
    (model / "weights.bin").write_bytes(b"changed")
    failed = run_cli("verify", model, "-s", signature, "--public-key", keys[1], "--json")
    document = json.loads(failed.stdout)
    assert failed.exit_code == 1
    assert document["verified"] is False and document["integrity"]["modified"] == ["weights.bin"]
    assert document["signer"]["method"] == "key"


def test_tampering_fails_with_every_file_named(
    run_cli: RunCli, model: Path, keys: tuple[Path, Path], tmp_path: Path
) -> None:
    signature = tmp_path / "m.sig"
    run_cli("sign", model, "--key", keys[0], "-s", signature)
    (model / "weights.bin").write_bytes(b"w" * 999 + b"x")
    (model / "sub" / "config.json").unlink()
    (model / "payload.py").write_text("import os")
    result = run_cli("verify", model, "-s", signature, "--public-key", keys[1])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"FAILED: {model} does not match {signature}",
        "  modified: weights.bin",
        "  missing (signed, not on disk): sub/config.json",
        "  extra (on disk, not signed): payload.py",
        "  (the signature itself is authentic: "
        + result.stdout.split("authentic: ")[1].rstrip("\n"),
    ]
    result = run_cli(
        "verify", model, "-s", signature, "--public-key", keys[1], "--ignore-unsigned-files"
    )
    assert result.exit_code == 1 and "payload.py" not in result.stdout


def test_untrusted_or_broken_signatures_exit_1(
    run_cli: RunCli, model: Path, keys: tuple[Path, Path], tmp_path: Path
) -> None:
    signature = tmp_path / "m.sig"
    run_cli("sign", model, "--key", keys[0], "-s", signature)
    other = write_key_pair(tmp_path / "keys", "other")
    result = run_cli("verify", model, "-s", signature, "--public-key", other.public)
    assert result.exit_code == 1 and "different key" in result.stderr and "hint:" in result.stderr
    signature.write_bytes(signature.read_bytes()[:100])
    result = run_cli("verify", model, "-s", signature, "--public-key", keys[1])
    assert result.exit_code == 1 and "not a valid OMS signature" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "say what to trust"),
        (["--public-key", "k.pub", "--identity", "a@b"], "--public-key and --identity/--issuer"),
        (["--identity", "a@b"], "needs both --identity and --issuer"),
    ],
)
def test_verify_usage_errors_exit_2(
    run_cli: RunCli, model: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    (tmp_path / "s.sig").write_text("{}")
    result = run_cli("verify", model, "-s", tmp_path / "s.sig", *args)
    assert result.exit_code == 2 and message in result.stderr


def test_verify_input_errors_exit_2(
    run_cli: RunCli, model: Path, keys: tuple[Path, Path], tmp_path: Path
) -> None:
    result = run_cli("verify", model, "-s", tmp_path / "absent.sig", "--public-key", keys[1])
    assert result.exit_code == 2 and "signature file not found" in result.stderr
    result = run_cli(
        "verify", model, "-s", tmp_path / "absent.sig", "--public-key", tmp_path / "nope.pub"
    )
    assert result.exit_code == 2 and "public key not found" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "choose one signing method"),
        (["--key", "k.pem", "--sigstore"], "got --key and --sigstore"),
        (["--certificate", "c.pem"], "needs the certificate's private key"),
        (["--key", "k.pem", "--chain", "c.pem"], "--chain only applies"),
    ],
)
def test_sign_usage_errors_exit_2(
    run_cli: RunCli,
    model: Path,
    tmp_path: Path,
    args: list[str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    write_key_pair(tmp_path, "k")
    result = run_cli("sign", model, *args)
    assert result.exit_code == 2 and message in result.stderr
    assert not (tmp_path / "model.sig").exists()


def test_empty_model_is_refused(run_cli: RunCli, keys: tuple[Path, Path], tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = run_cli("sign", tmp_path / "empty", "--key", keys[0], "-s", tmp_path / "e.sig")
    assert result.exit_code == 2 and "nothing to sign" in result.stderr
    assert not (tmp_path / "e.sig").exists()


def test_encrypted_key_passphrase_from_env_or_prompt(
    run_cli: RunCli, model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pair = write_key_pair(tmp_path, "enc", passphrase=b"s3cret")
    signature = tmp_path / "m.sig"
    monkeypatch.setenv("MODEL_KEY_PASS", "s3cret")
    result = run_cli(
        "sign", model, "--key", pair.private, "-s", signature, "--passphrase-env", "MODEL_KEY_PASS"
    )
    assert result.exit_code == 0, result
    result = run_cli("sign", model, "--key", pair.private, "-s", signature, input="s3cret\n")
    assert result.exit_code == 0, result
    assert "Passphrase for the private key" in result.stderr
    result = run_cli("sign", model, "--key", pair.private, "-s", signature, input="wrong\n")
    assert result.exit_code == 2 and "wrong passphrase" in result.stderr
    result = run_cli(
        "sign", model, "--key", pair.private, "-s", signature, "--passphrase-env", "UNSET_VAR_X"
    )
    assert result.exit_code == 2 and "UNSET_VAR_X is not set" in result.stderr


def test_certificate_signing_and_verification(
    run_cli: RunCli,
    model: Path,
    pki: Pki,
    tmp_path: Path,
) -> None:
    leaf = pki.leaf()
    signature = tmp_path / "m.sig"
    chain = pki.intermediate.cert_path
    result = run_cli(
        "sign",
        model,
        "--certificate",
        leaf.cert_path,
        "--chain",
        chain,
        "--key",
        leaf.key_path,
        "-s",
        signature,
    )
    assert result.exit_code == 0, result
    result = run_cli("verify", model, "-s", signature, "--certificate-chain", pki.root.cert_path)
    assert result.exit_code == 0 and "CN=leaf" in result.stdout
    result = run_cli("verify", model, "-s", signature, "--public-key", leaf.cert_path)
    assert result.exit_code == 2  # a certificate is not a public key file


def test_keyless_signing_fails_cleanly_offline(
    run_cli: RunCli,
    model: Path,
    tmp_path: Path,
    unreachable_trust_config: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SIGSTORE_ID_TOKEN", identity_token())
    signature = tmp_path / "k.sig"
    result = run_cli(
        "sign",
        model,
        "--sigstore",
        "--trust-config",
        unreachable_trust_config,
        "--no-interactive",
        "-s",
        signature,
    )
    assert result.exit_code == 2
    assert "Sigstore signing failed: cannot reach http://127.0.0.1:" in result.stderr
    assert "Traceback" not in result.stderr
    assert not signature.exists()


def test_keyless_verification_offline(run_cli: RunCli, shared: Path) -> None:
    model = shared / "fixtures/oms/model-transparency/v1.1.0-sigstore"
    result = run_cli(
        "verify",
        model,
        "-s",
        model / "model.sig",
        "--identity",
        "stefanb@us.ibm.com",
        "--issuer",
        "https://sigstore.verify.ibm.com/oauth2",
        "--trust-config",
        TRUST_CONFIG,
    )
    assert result.exit_code == 0, result
    result = run_cli(
        "verify",
        model,
        "-s",
        model / "model.sig",
        "--identity",
        "mallory@example.com",
        "--issuer",
        "https://sigstore.verify.ibm.com/oauth2",
        "--trust-config",
        TRUST_CONFIG,
    )
    assert result.exit_code == 1 and "SANs do not match" in result.stderr


# --- keygen ----------------------------------------------------------------------------------


def test_keygen_writes_an_encrypted_private_key_0600(
    run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KEY_PASS", "correct horse")
    result = run_cli("keygen", "release", "--passphrase-env", "KEY_PASS", "--curve", "P-384")
    assert result.exit_code == 0, result
    private, public = tmp_path / "release.key", tmp_path / "release.pub"
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o600
    assert b"ENCRYPTED PRIVATE KEY" in private.read_bytes()
    assert public.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    again = run_cli("keygen", "release", "--no-passphrase")
    assert again.exit_code == 2 and "already exists" in again.stderr
    assert b"ENCRYPTED" in private.read_bytes()


def test_keygen_prompts_twice_and_refuses_empty(
    run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_cli("keygen", "a", "--json", input="pw\npw\n")
    assert result.exit_code == 0, result
    document = json.loads(result.stdout)
    assert document["encrypted"] is True and document["curve"] == "P-256"
    result = run_cli("keygen", "b", input="\n")
    assert result.exit_code == 2 and not (tmp_path / "b.key").exists()
    result = run_cli("keygen", "c", "--no-passphrase")
    assert result.exit_code == 0 and "UNENCRYPTED" in result.stdout
