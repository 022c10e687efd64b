"""Demo step: sign the example model with a fresh key, verify it, then catch a one-byte change."""

from __future__ import annotations

import shutil

from supplychain.demo import DemoContext, StepReport
from supplychain.signing import IntegrityError, KeySigner, KeyVerifier, sign, verify
from supplychain.signing.keys import generate_private_key, public_key_pem

#: The file whose byte the demo flips (the weights: what an attacker would touch).
TAMPERED_FILE = "model.safetensors"


def sign_and_tamper(context: DemoContext) -> StepReport:
    key = generate_private_key("P-256")
    public_key_path = context.workdir / "demo-signing.pub"
    public_key_path.write_bytes(public_key_pem(key.public_key()))
    signature = context.workdir / "model.sig"
    signed = sign(context.model, KeySigner(key), signature=signature, progress=False)
    context.facts["signature"] = signature
    context.facts["public_key"] = public_key_path

    verifier = KeyVerifier.from_file(public_key_path)
    verified = verify(context.model, signature, verifier, progress=False)
    lines = [
        f"signed {len(signed.manifest.resources)} files with a fresh {signed.signer.summary}",
        f"wrote {signature.name} (OMS bundle; `model_signing verify key` accepts it)",
        f"verify: OK ({verified.integrity.files_checked} files match)",
    ]

    tampered = context.workdir / f"{context.model.name}-tampered"
    shutil.copytree(context.model, tampered)
    target = tampered / TAMPERED_FILE
    data = bytearray(target.read_bytes())
    offset = len(data) // 2
    data[offset] ^= 0x01
    target.write_bytes(bytes(data))
    lines.append(f"flipped one bit of byte {offset} in a copy of {TAMPERED_FILE}")
    try:
        verify(tampered, signature, verifier, progress=False)
    except IntegrityError as exc:
        caught = TAMPERED_FILE in exc.report.modified
        lines.append(f"verify: FAILED as expected, {'; '.join(exc.report.problems())}")
        return StepReport("Sign with OMS, verify, detect tampering", tuple(lines), ok=caught)
    lines.append("verify: passed on a tampered model (this must never happen)")
    return StepReport("Sign with OMS, verify, detect tampering", tuple(lines), ok=False)
