"""Demo step: convert a torch pickle checkpoint to safetensors, and refuse a planted one.

The checkpoint (``checkpoint/pytorch_model.bin``, the example model's weights
as ``torch.save`` wrote them, made by ``tests/conversion/make_fixtures.py``)
stands for what a training run hands over. It is kept out of ``example/`` so
the published example model stays the same for the other steps.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from supplychain.conversion import UnsafeCheckpointError, convert
from supplychain.demo import DemoContext, StepReport
from supplychain.output import human_bytes

CHECKPOINT = Path(__file__).with_name("checkpoint") / "pytorch_model.bin"
PLANTED = "planted-checkpoint.bin"


def convert_example(context: DemoContext) -> StepReport:
    from supplychain.demo.scan_step import _malicious_pickle

    handed_over = context.workdir / "training-run" / CHECKPOINT.name
    handed_over.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(CHECKPOINT, handed_over)
    out_dir = context.workdir / "converted"
    report = convert(handed_over, out_dir / "model.safetensors", progress=False)
    (conversion,) = report.files
    record = out_dir / "conversion-record.json"
    record.write_text(json.dumps(report.record("supplychain convert"), indent=2) + "\n")
    context.facts["conversion_record"] = record
    lines = [
        f"training-run/{conversion.source_name} ({conversion.source_format}, sha256 "
        f"{conversion.source_sha256[:16]}…) -> converted/{conversion.output_name} "
        f"({human_bytes(conversion.output_size)}, sha256 {conversion.output_sha256[:16]}…)",
        f"{len(conversion.tensors)} tensors, {conversion.parameters:,} parameters, "
        "read as data: nothing imported or executed, no torch needed",
    ]
    lines += [
        f"tied weights: {name} -> {kept} (in __metadata__)"
        for name, kept in conversion.aliases.items()
    ]
    lines += [f"left out: {s.path}: {s.what} ({s.reason})" for s in conversion.skipped]
    lines.append(
        f"verified: {conversion.self_check.tensors} tensors read back with safetensors "
        f"{conversion.self_check.library_version} equal the source bytes"
    )
    lines.append(f"conversion record for the AI-BOM: {record.name}")

    marker = context.workdir / "CONVERT-PAYLOAD-RAN"
    planted = context.workdir / PLANTED
    planted.write_bytes(_malicious_pickle(str(marker)))
    refused = False
    try:
        convert(planted, context.workdir / "planted.safetensors", progress=False)
    except UnsafeCheckpointError as exc:
        refused = True
        lines.append(f"{PLANTED}: {exc.problem}")
    ran = marker.exists()
    lines.append("PAYLOAD RAN: marker file exists" if ran else "payload never ran (no marker file)")
    ok = conversion.self_check.tensors == len(conversion.tensors) and refused and not ran
    return StepReport(
        "Convert the pickle checkpoint to safetensors (and refuse a planted one)", tuple(lines), ok
    )
