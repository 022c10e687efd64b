"""Demo step: the deployment gate allows the prepared model, then refuses a tampered copy
and a copy carrying a pickle checkpoint, saying why and what to do."""

from __future__ import annotations

import shutil
from pathlib import Path

from supplychain.demo import DemoContext, StepReport
from supplychain.gate import check_model
from supplychain.gate.report import GateReport
from supplychain.policy import load_policy

#: A clean (benign) pickle checkpoint: the policy refuses pickles however clean they are.
CHECKPOINT = Path(__file__).with_name("checkpoint") / "pytorch_model.bin"

POLICY = """\
# The demo's deployment policy (see `supplychain policy init --from strict`).
version: 1
name: demo
use: commercial
signature:
  signers:
    - public_key: {public_key}
scan:
  fail_on: high
formats:
  allow_pickle: false
licenses:
  allow_classes: [permissive]
  openness: [open-source-ai, open-weights]
bom:
  verify_hashes: true
remote_code:
  allowed: false
"""


def gate_example(context: DemoContext) -> StepReport:
    policy_path = context.workdir / "deploy-policy.yaml"
    # A policy names its files relative to itself: write the key's path as the policy sees it.
    public_key = Path(context.facts["public_key"]).resolve()
    policy_path.write_text(POLICY.format(public_key=public_key))
    policy = load_policy(policy_path)
    sidecars = {"signature": context.facts["signature"], "bom": context.facts["bom"]}

    allowed = check_model(context.model, policy, progress=False, **sidecars)
    lines = [f"policy {policy_path.name}: {_verdict(allowed)}"]
    lines += [f"  {c.check}: {c.status.value}" for c in allowed.checks]

    tampered = context.workdir / f"{context.model.name}-tampered"
    refused_tamper = check_model(tampered, policy, progress=False, **sidecars)
    lines.append(f"tampered copy: {_verdict(refused_tamper)}")
    lines += _reasons(refused_tamper)

    with_pickle = context.workdir / f"{context.model.name}-with-pickle"
    shutil.copytree(context.model, with_pickle)
    shutil.copyfile(CHECKPOINT, with_pickle / "pytorch_model.bin")
    refused_pickle = check_model(with_pickle, policy, progress=False, **sidecars)
    lines.append(f"copy with a pickle checkpoint: {_verdict(refused_pickle)}")
    lines += _reasons(refused_pickle)

    ok = allowed.passed and not refused_tamper.passed and not refused_pickle.passed
    return StepReport("Gate the deployment on a policy (supplychain check)", tuple(lines), ok=ok)


def _verdict(report: GateReport) -> str:
    if report.passed:
        return "ALLOWED (exit 0)"
    return f"REFUSED (exit {report.exit_code})"


def _reasons(report: GateReport) -> list[str]:
    lines = []
    for failure in report.failures:
        detail = f" ({'; '.join(failure.evidence[:2])})" if failure.evidence else ""
        lines.append(f"  {failure.check}: {failure.summary}{detail}")
    return lines
