"""The deployment gate: may this model run here? Signature, integrity, safety, formats,
licences, AI-BOM and remote code, checked against one policy, before anything loads it.

Serving code calls :func:`ensure_deployable` before loading weights::

    from supplychain.gate import ensure_deployable, GateFailed

    try:
        ensure_deployable("/models/llama", "deploy-policy.yaml")
    except GateFailed as refused:
        log.error(refused.diagnostics())     # every failed check, with what to do
        raise
"""

from __future__ import annotations

import os

from supplychain.errors import VerificationError
from supplychain.gate.report import CheckResult, FailureClass, GateReport, Status
from supplychain.gate.run import ORDER, check_model
from supplychain.policy import Policy, load_policy

__all__ = [
    "ORDER",
    "CheckResult",
    "FailureClass",
    "GateFailed",
    "GateReport",
    "Status",
    "check_model",
    "ensure_deployable",
]


class GateFailed(VerificationError):
    """The model may not be deployed; ``report`` holds every check's verdict."""

    def __init__(self, report: GateReport) -> None:
        self.report = report
        self.exit_code = report.exit_code  # type: ignore[assignment]
        failures = report.failures
        lines = [
            f"{r.check}: {r.summary}" + (f" (to fix: {r.remedy})" if r.remedy else "")
            for r in failures
        ]
        super().__init__(
            f"model refused by policy {report.policy}: " + "; ".join(lines),
            path=report.model,
        )


def ensure_deployable(
    model: str | os.PathLike[str],
    policy: Policy | str | os.PathLike[str],
    **options: object,
) -> GateReport:
    """Return the report if ``model`` passes ``policy``; raise :class:`GateFailed` otherwise.

    Nothing of the model is loaded or executed. ``options`` are those of
    :func:`check_model` (``signature``, ``bom``, ``progress``, ``workers``).
    """
    loaded = policy if isinstance(policy, Policy) else load_policy(policy)
    report = check_model(model, loaded, **options)  # type: ignore[arg-type]
    if not report.passed:
        raise GateFailed(report)
    return report
