"""``supplychain bom``: write an AI-BOM; ``bom show`` summarises one, ``bom diff`` compares two."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from supplychain.cli._shared import info, json_option, model_argument, state, walk_options
from supplychain.errors import ExitCode
from supplychain.output import dump_json

CREATE = "create"


class DefaultCommandGroup(click.Group):
    """A group whose first argument, when it is not a subcommand, goes to a default command.

    ``supplychain bom ./model`` is ``supplychain bom create ./model``; ``show`` and
    ``diff`` stay subcommands (a model directory named ``show`` is ``./show``).
    """

    def __init__(self, *args: Any, default_command: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.default_command = default_command

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage(ctx.command_path, "MODEL [OPTIONS]  |  show BOM  |  diff OLD NEW")


@click.group(
    "bom",
    cls=DefaultCommandGroup,
    default_command=CREATE,
    no_args_is_help=True,
    epilog="""\b
Examples:
  supplychain bom ./my-model -o my-model.cdx.json
  supplychain bom ./my-model --provenance provenance.yaml --requirements requirements.txt
  supplychain bom ~/.cache/huggingface/hub/models--org--name/snapshots/<rev> --spec-version 1.7
  supplychain bom show my-model.cdx.json --html report.html
  supplychain bom diff v1.cdx.json v2.cdx.json

Run `supplychain bom create --help` for every option of `bom MODEL`.""",
)
def bom_command() -> None:
    """Write, summarise and compare AI-BOMs (CycloneDX ML-BOM).

    `bom MODEL` (short for `bom create MODEL`) hashes every file, reads the
    model card, config, safetensors headers, lineage, datasets and licences,
    and writes a strictly validated CycloneDX 1.6 or 1.7 BOM. It reads only
    local files.
    """


@bom_command.command(
    CREATE,
    epilog="""\b
Examples:
  supplychain bom ./my-model                          BOM on stdout
  supplychain bom ./my-model -o bom.cdx.json --reproducible
  supplychain bom ./my-model --provenance provenance.yaml --requirements requirements.txt
  supplychain bom ./my-model --installed --hf-cache ~/.cache/huggingface/hub

\b
The provenance file (YAML or JSON) follows schemas/provenance.schema.json:
training data, collection dates, licences, hashes, training code and
hyperparameters, base models and conversion records.

Exit codes: 0 BOM written, 1 the BOM failed strict schema validation (nothing
written), 2 the model or an input file could not be read.""",
)
@model_argument
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the BOM here (atomically) instead of stdout.",
)
@click.option(
    "--provenance",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Provenance file (YAML/JSON) declaring data, training and conversions.",
)
@click.option(
    "--scan/--no-scan",
    "run_scan",
    default=True,
    show_default=True,
    help="Scan every file for code-executing content and record the findings in the BOM.",
)
@click.option(
    "--conversion-record",
    "conversion_records",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A `supplychain convert --record` file: record its conversions as lineage. Repeatable.",
)
@click.option(
    "--requirements",
    "requirements",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="requirements.txt, pyproject.toml, pylock.toml, uv.lock or poetry.lock of the "
    "runtime. Repeatable.",
)
@click.option(
    "--installed",
    is_flag=True,
    help="Also list the distributions installed in this Python environment "
    "(run it with the interpreter that will serve the model).",
)
@click.option(
    "--hf-cache",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Hugging Face hub cache whose cards give base-model and dataset licences "
    "(default: the cache the model is in, if any).",
)
@click.option(
    "--spec-version",
    type=click.Choice(["1.6", "1.7"]),
    default="1.6",
    show_default=True,
    help="CycloneDX version (1.7 adds per-field citations).",
)
@click.option(
    "--reproducible",
    is_flag=True,
    help="Pin the timestamp (SOURCE_DATE_EPOCH or 1970-01-01) and derive the serial "
    "number from the content, so the same model gives the same bytes.",
)
@walk_options
def create_command(
    model: str,
    output: Path | None,
    provenance: Path | None,
    conversion_records: tuple[Path, ...],
    run_scan: bool,
    requirements: tuple[Path, ...],
    installed: bool,
    hf_cache: Path | None,
    spec_version: str,
    reproducible: bool,
    ignore: tuple[str, ...],
    ignore_git_paths: bool,
    allow_symlinks: bool,
) -> None:
    """Write a CycloneDX AI-BOM of MODEL (a directory, a file, or a Hugging Face cache snapshot)."""
    from supplychain.bom import build_bom, render_cyclonedx
    from supplychain.output import human_bytes
    from supplychain.severity import Severity

    bom = build_bom(
        model,
        provenance=provenance,
        conversion_records=conversion_records,
        run_scan=run_scan,
        requirements=requirements,
        installed=installed,
        hf_cache=hf_cache,
        # A BOM written inside the model cannot describe itself (nor its previous version).
        ignore=[*ignore, output.resolve()] if output is not None else ignore,
        ignore_git_paths=ignore_git_paths,
        allow_symlinks=allow_symlinks,
        progress=state().progress,
    )
    data = render_cyclonedx(bom, spec_version, reproducible=reproducible)
    if output is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        from supplychain._internal.atomic import write_bytes_atomic

        write_bytes_atomic(output, data)
    # Licence and completeness findings are not security findings: they never count as
    # "high or critical" (the gate and `bom show` judge them on their own axis).
    serious = sum(1 for f in bom.findings if f.severity.rank >= Severity.HIGH.rank)
    licences = ", ".join(lic.label for lic in bom.licenses) or "no licence"
    info(
        f"{'wrote ' + str(output) if output else 'BOM'}: CycloneDX {spec_version}, "
        f"{len(bom.files)} file(s) ({human_bytes(sum(f.size for f in bom.files))}), {licences}, "
        f"openness {bom.openness.openness.value}, "
        f"{len(bom.findings)} security finding(s), {serious} high or critical; "
        f"{len(bom.license_findings)} licence finding(s)"
    )


@bom_command.command(
    "show",
    epilog="""\b
Examples:
  supplychain bom show bom.cdx.json
  supplychain bom show bom.cdx.json --html report.html
  supplychain bom show bom.cdx.json --json | jq .completeness

Exit codes: 0 shown (valid BOM), 1 shown but the BOM fails strict CycloneDX
validation, 2 not a readable CycloneDX JSON file, or too large to validate.""",
)
@click.argument("bom_file", metavar="BOM", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--html",
    "html_output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write a self-contained HTML report here.",
)
@json_option
def show_command(bom_file: Path, html_output: Path | None, as_json: bool) -> int:
    """Print a reviewer's summary of BOM: identity, files, licences and conflicts, lineage,
    datasets, findings, and completeness by axis."""
    from supplychain.bom import inspect_bom
    from supplychain.bom.summary import render_text

    summary = inspect_bom(bom_file)
    if html_output is not None:
        from supplychain._internal.atomic import write_bytes_atomic
        from supplychain.bom.html import render_html

        write_bytes_atomic(html_output, render_html(summary).encode("utf-8"))
        info(f"wrote {html_output}")
    if as_json:
        dump_json(summary.to_json())
    else:
        click.echo(render_text(summary), nl=False)
    if not summary.valid:
        from supplychain.output.names import escape_text, quote_name

        problem = f"{summary.bom.spec_version}: {summary.schema_problems[0]}"
        click.secho(
            f"warning: {quote_name(bom_file)} is not valid CycloneDX {escape_text(problem)}",
            err=True,
            fg="yellow",
        )
        return ExitCode.FAILED
    return ExitCode.OK


@bom_command.command(
    "diff",
    epilog="""\b
Examples:
  supplychain bom diff v1.cdx.json v2.cdx.json
  supplychain bom diff v1.cdx.json v2.cdx.json --json

Exit codes: 0 no differences, 1 the BOMs differ, 2 a file is not a readable
CycloneDX JSON BOM, or is too large to validate.""",
)
@click.argument("old", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("new", type=click.Path(dir_okay=False, path_type=Path))
@json_option
def diff_command(old: Path, new: Path, as_json: bool) -> int:
    """Show what changed from OLD to NEW: files and hashes, licences (drift), openness,
    ancestors, datasets, findings and libraries."""
    from supplychain.bom import diff_boms, read_bom
    from supplychain.bom.diff import render_text

    difference = diff_boms(read_bom(old)[0], read_bom(new)[0])
    if as_json:
        dump_json(difference.to_json())
    else:
        click.echo(render_text(difference), nl=False)
    return ExitCode.FAILED if difference.changed else ExitCode.OK
