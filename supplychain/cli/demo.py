"""``supplychain demo``."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from supplychain.cli._shared import json_option
from supplychain.errors import ExitCode
from supplychain.output import dump_json


@click.command(
    "demo",
    epilog="""\b
Examples:
  supplychain demo                 run in a temporary directory (removed afterwards)
  supplychain demo ./demo-out      keep everything it writes in ./demo-out

Exit codes: 0 every step behaved as expected, 1 a step did not.""",
)
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@json_option
def demo_command(directory: Path | None, as_json: bool) -> int:
    """Run the toolkit's main job end to end on a tiny example model.

    Writes the example into DIRECTORY (or a temporary directory), then runs
    each capability on it and prints what every step found.
    """
    from supplychain import demo

    def run(workdir: Path) -> int:
        reports = []
        for number, report in enumerate(demo.run(workdir), start=1):
            reports.append(report)
            if not as_json:
                mark = (
                    click.style("ok", fg="green") if report.ok else click.style("FAILED", fg="red")
                )
                click.echo(f"[{number}] {report.title} ... {mark}")
                for line in report.lines:
                    click.echo(f"    {line}")
        ok = all(r.ok for r in reports)
        if as_json:
            dump_json(
                {
                    "ok": ok,
                    "directory": str(workdir),
                    "steps": [
                        {"title": r.title, "ok": r.ok, "lines": list(r.lines)} for r in reports
                    ],
                }
            )
        return ExitCode.OK if ok else ExitCode.FAILED

    if directory is not None:
        return run(directory)
    with tempfile.TemporaryDirectory(prefix="supplychain-demo-") as tmp:
        return run(Path(tmp))
