"""Gate check: licences and openness allowed for the declared use, and no licence conflicts."""

from __future__ import annotations

from supplychain.gate.evidence import Evidence
from supplychain.gate.report import CheckResult, FailureClass, Status
from supplychain.licenses import Permission, ResolvedLicense
from supplychain.policy import LicensePolicy
from supplychain.policy.model import Use
from supplychain.severity import Severity

LICENSES = "licenses"

#: Licence findings that are conflicts (a severity of high or more makes them fail the gate).
CONFLICTS = frozenset({"license.relaxes-ancestor", "license.noncommercial-data"})


def check_licenses(policy: LicensePolicy, use: Use | None, evidence: Evidence) -> CheckResult:
    bom = evidence.bom
    declared = bom.licenses
    openness = bom.openness.openness.value
    facts = (
        "declared: "
        + (", ".join(f"{lic.label} ({lic.license_class.value})" for lic in declared) or "none"),
        f"openness: {openness}"
        + (f" ({'; '.join(bom.openness.evidence)})" if bom.openness.evidence else ""),
    )
    problems: list[str] = []
    if not declared:
        if policy.required:
            problems.append("no licence is declared (README front matter, LICENSE or provenance)")
    else:
        verdicts = [_unacceptable(lic, policy, use) for lic in declared]
        if all(verdicts):
            problems += [f"{lic.label}: {why}" for lic, why in zip(declared, verdicts, strict=True)]
    if policy.openness and openness not in policy.openness:
        problems.append(
            f"openness class {openness} is not allowed (allowed: {', '.join(policy.openness)})"
        )
    if policy.fail_on_conflict:
        for finding in bom.license_findings:
            if finding.rule not in CONFLICTS or finding.severity.rank < Severity.HIGH.rank:
                continue
            if finding.rule == "license.noncommercial-data" and use == "research":
                continue
            problems.append(f"conflict: {finding.message}")
    if problems:
        return CheckResult(
            LICENSES,
            Status.FAIL,
            f"licence terms do not allow this deployment ({use or 'unspecified'} use)",
            (*problems, *facts),
            remedy="choose a model whose licence allows this use, obtain a licence that does, "
            "or (after legal review) adjust the policy's licenses section",
            failure=FailureClass.LICENSE,
        )
    return CheckResult(
        LICENSES, Status.PASS, f"licence allowed for {use or 'unspecified'} use", facts
    )


def _unacceptable(lic: ResolvedLicense, policy: LicensePolicy, use: Use | None) -> str | None:
    """Why one declared licence is not acceptable, or None if it is (any one acceptable passes)."""
    names = {
        n.lower()
        for n in (lic.key, lic.identifier, lic.spdx_id or "", lic.declared.identifier or "")
        if n
    }
    if use == "commercial" and lic.commercial_use is Permission.NO:
        return "does not allow commercial use"
    if names & {d.lower() for d in policy.deny}:
        return "denied by the policy"
    if policy.allow and not names & {a.lower() for a in policy.allow}:
        return f"not in the allowed licences ({', '.join(policy.allow)})"
    if policy.allow_classes and lic.license_class.value not in policy.allow_classes:
        return f"class {lic.license_class.value} is not allowed ({', '.join(policy.allow_classes)})"
    return None
