"""Demo step: write the example model (card, config, tokenizer, safetensors weights)."""

from __future__ import annotations

import shutil
from pathlib import Path

from supplychain.demo import DemoContext, StepReport
from supplychain.errors import InputError

EXAMPLE = Path(__file__).with_name("example")


def write_example(context: DemoContext) -> StepReport:
    import numpy as np
    from safetensors.numpy import save_file

    if context.model.exists() and any(context.model.iterdir()):
        raise InputError(
            "the demo directory is not empty",
            path=context.model,
            hint="give an empty or new directory, or omit it to use a temporary one",
        )
    context.model.mkdir(parents=True, exist_ok=True)
    for source in sorted(EXAMPLE.iterdir()):
        if source.is_file():
            shutil.copyfile(source, context.model / source.name)
    rng = np.random.default_rng(20261122)
    weights = {
        "embeddings.weight": rng.standard_normal((32, 16), dtype=np.float32),
        "classifier.weight": rng.standard_normal((2, 16), dtype=np.float32),
        "classifier.bias": np.zeros(2, dtype=np.float32),
    }
    save_file(weights, str(context.model / "model.safetensors"), metadata={"format": "pt"})
    names = sorted(p.name for p in context.model.iterdir())
    return StepReport(
        "Prepare an example model",
        (f"wrote {context.model}", f"files: {', '.join(names)}"),
    )
