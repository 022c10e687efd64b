"""``supplychain demo``: the toolkit's main job, end to end, on a tiny bundled model.

Each capability contributes one step; steps share a :class:`DemoContext` and
report what they found as a :class:`StepReport`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class DemoContext:
    """State passed from step to step."""

    workdir: Path
    #: The prepared model directory (what a release pipeline would publish).
    model: Path
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StepReport:
    title: str
    lines: tuple[str, ...]
    #: Whether the step behaved as the demo expects (a tamper check "passes" when it fails).
    ok: bool = True


Step = Callable[[DemoContext], StepReport]


def steps() -> list[Step]:
    """The demo's steps, in order (imported lazily so each step pays for its own imports)."""
    from supplychain.demo import (
        bom_step,
        convert_step,
        gate_step,
        hash_step,
        model,
        scan_step,
        sign_step,
    )

    return [
        model.write_example,
        scan_step.scan_example,
        convert_step.convert_example,
        hash_step.hash_example,
        sign_step.sign_and_tamper,
        bom_step.bom_example,
        gate_step.gate_example,
    ]


def run(workdir: Path) -> Iterator[StepReport]:
    """Run every step in ``workdir`` (which must be empty or absent), yielding reports."""
    context = DemoContext(workdir=workdir, model=workdir / "tiny-sentiment")
    for step in steps():
        yield step(context)
