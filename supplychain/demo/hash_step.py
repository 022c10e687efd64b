"""Demo step: hash the example model the way OpenSSF Model Signing does."""

from __future__ import annotations

from supplychain.demo import DemoContext, StepReport
from supplychain.hashing import hash_model
from supplychain.output import human_bytes


def hash_example(context: DemoContext) -> StepReport:
    result = hash_model(context.model, progress=False)
    context.facts["root_digest"] = result.root_digest_hex
    lines = [f"{r.hex[:16]}…  {r.name}" for r in result.manifest.resources]
    lines.append(
        f"root digest sha256:{result.root_digest_hex} "
        f"({len(result.tree)} files, {human_bytes(result.tree.total_size)})"
    )
    return StepReport("Hash every file (OMS manifest)", tuple(lines))
