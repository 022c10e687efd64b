"""The public surface of supplychain.signing: complete, and loaded only as far as it is used."""

from __future__ import annotations

import subprocess
import sys

import supplychain.signing as signing


def test_every_public_name_resolves() -> None:
    assert sorted(signing.__all__) == sorted(signing._PUBLIC)
    for name in signing.__all__:
        assert getattr(signing, name) is not None


def test_key_verification_does_not_load_x509_or_sigstore() -> None:
    # Start-up is part of verification time (see benchmarks/bench_sign.py).
    probe = (
        "import sys\n"
        "from supplychain.signing import KeyVerifier, verify\n"
        "print(sorted(m for m in sys.modules if m.startswith(('sigstore', 'cryptography.x509',"
        " 'requests', 'pydantic', 'supplychain.signing.methods.certificate'))))\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert output.stdout.strip() == "[]"
