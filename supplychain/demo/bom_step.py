"""Demo step: write a CycloneDX AI-BOM of the example model and show a reviewer's summary of it."""

from __future__ import annotations

from supplychain.demo import DemoContext, StepReport


def bom_example(context: DemoContext) -> StepReport:
    from supplychain.bom import build_bom, inspect_bom, write_cyclonedx

    bom = build_bom(context.model, progress=False)
    path = context.workdir / f"{context.model.name}.cdx.json"
    write_cyclonedx(bom, path, "1.6")
    summary = inspect_bom(path)
    context.facts["bom"] = path
    view = summary.bom
    lines = [f"wrote {path} (CycloneDX {view.spec_version}, strictly validated)"]
    lines.append(
        f"{view.display_name}: {len(view.files)} files, {view.parameter_count or 0:,} parameters, "
        f"root sha256 {(view.root_digest or '')[7:23]}…"
    )
    for lic in view.licenses:
        lines.append(f"licence {lic.label} ({lic.license_class}), openness {view.openness}")
    for ancestor in view.ancestors:
        lines.append(f"lineage: {ancestor.relation or 'derived from'} {ancestor.name}")
    for dataset in view.datasets:
        licences = ", ".join(lic.label for lic in dataset.licenses) or "no licence declared"
        lines.append(f"dataset ({'/'.join(dataset.roles)}): {dataset.name}, {licences}")
    for finding in view.findings:
        lines.append(f"finding {finding.severity}: {finding.rule_id} {', '.join(finding.affects)}")
    lines.append(
        "completeness: "
        + ", ".join(f"{axis.name} {axis.passed}/{axis.applicable}" for axis in summary.axes)
    )
    return StepReport("Write an AI-BOM (CycloneDX ML-BOM)", tuple(lines), ok=summary.valid)
