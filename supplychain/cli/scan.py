"""``supplychain scan``."""

from __future__ import annotations

import click

from supplychain.cli._shared import info, json_option, state

_SEVERITIES = ["info", "medium", "high", "critical"]


@click.command(
    "scan",
    epilog="""\b
Examples:
  supplychain scan ./llama-3-8b                 every file of a model directory
  supplychain scan pytorch_model.bin optimizer.pt
  supplychain scan ./model --json > scan.json
  supplychain scan ./model --sarif -o scan.sarif   (upload to GitHub code scanning)
  supplychain scan ./model --fail-on critical --allowlist my-classes.json

\b
Severities: critical (known gadget, or a callable that cannot be resolved),
high (any global not on the safe list), medium (library objects that run
their own code: not a pure weights file), info (pure data).

\b
Exit codes: 0 nothing at or above --fail-on and every file scanned,
1 a finding at or above --fail-on, 2 usage or input error,
3 some file could not be scanned (never reported as clean), 70 internal error.""",
)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option(
    "--fail-on",
    type=click.Choice(_SEVERITIES),
    default="high",
    show_default=True,
    help="Exit 1 when a finding is at least this severe.",
)
@click.option(
    "--allowlist",
    type=click.Path(dir_okay=False, path_type=str),
    help="JSON file of your own safe globals (schemas/scan-allowlist.schema.json).",
)
@click.option("--sarif", "as_sarif", is_flag=True, help="Print SARIF 2.1.0 instead of text.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=str),
    help="Write the report (text, JSON or SARIF) to this file instead of stdout.",
)
@click.option(
    "--ignore",
    multiple=True,
    metavar="PATH",
    help="Skip PATH (relative to a model directory). Repeatable.",
)
@click.option(
    "--allow-symlinks",
    is_flag=True,
    help="Follow symbolic links that stay inside the model (refused by default).",
)
@json_option
def scan_command(
    paths: tuple[str, ...],
    fail_on: str,
    allowlist: str | None,
    as_sarif: bool,
    output: str | None,
    ignore: tuple[str, ...],
    allow_symlinks: bool,
    as_json: bool,
) -> int:
    """Scan model files for content that runs code when loaded, without running it.

    PATHS are files or model directories; every file is identified by its
    content (never its extension) and every pickle a loader would run is
    read opcode by opcode against an allowlist of safe globals.
    """
    from supplychain.scanning import scan
    from supplychain.scanning.report import render_text, to_sarif

    if as_json and as_sarif:
        raise click.UsageError("choose one of --json and --sarif")
    report = scan(
        list(paths),
        allowlist=allowlist,
        fail_on=fail_on,
        ignore=ignore,
        allow_symlinks=allow_symlinks,
    )
    from supplychain.output import json_text

    if as_json:
        text = json_text(report.to_json()) + "\n"
    elif as_sarif:
        text = json_text(to_sarif(report)) + "\n"
    else:
        text = "\n".join(render_text(report)) + "\n"
    if output:
        from supplychain._internal.atomic import write_bytes_atomic

        write_bytes_atomic(output, text.encode("utf-8"))
        info(f"wrote {output}")
    else:
        click.echo(text, nl=False)
    if report.could_not_scan and not state().quiet and (as_json or as_sarif or output):
        info(f"{len(report.could_not_scan)} file(s) could not be scanned")
    return report.exit_code
