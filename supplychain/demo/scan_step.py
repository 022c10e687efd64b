"""Demo step: scan the example model, plus a malicious pickle the step writes next to it."""

from __future__ import annotations

import io
import pickletools

from supplychain.demo import DemoContext, StepReport
from supplychain.scanning import Severity, scan
from supplychain.scanning.report import file_verdict

#: The planted file's name (outside the model, so later steps see the model unchanged).
PLANTED = "planted-pytorch_model.bin"


def _malicious_pickle(marker: str) -> bytes:
    """A pickle that would create ``marker`` if anything loaded it (harmless, but real)."""
    # GLOBAL builtins open / (marker, 'w') / REDUCE: calling open() creates the file.
    payload = (
        b"\x80\x02cbuiltins\nopen\nq\x00X"
        + len(marker).to_bytes(4, "little")
        + marker.encode()
        + b"X\x01\x00\x00\x00w\x86R."
    )
    pickletools.dis(payload, out=io.StringIO())  # a well-formed pickle (only disassembled)
    return payload


def scan_example(context: DemoContext) -> StepReport:
    marker = context.workdir / "PAYLOAD-RAN"
    planted = context.workdir / PLANTED
    planted.write_bytes(_malicious_pickle(str(marker)))
    model_report = scan(context.model)
    planted_report = scan(planted)
    lines = [f"{r.name}: {r.format}, {file_verdict(r)}" for r in model_report.files]
    result = planted_report.files[0]
    lines.append(f"{PLANTED}: {result.format}, {file_verdict(result)}")
    for finding in result.findings:
        lines.append(f"  {finding.severity.value}: {finding.message}")
    flagged = result.max_severity is not None and result.max_severity.rank >= Severity.HIGH.rank
    lines.append(
        "payload never ran (no marker file)"
        if not marker.exists()
        else "PAYLOAD RAN: marker file exists"
    )
    ok = model_report.exit_code == 0 and flagged and not marker.exists()
    context.facts["scan_exit_code"] = model_report.exit_code
    return StepReport(
        "Scan for code that runs on load (and catch a planted pickle)", tuple(lines), ok
    )
