"""``supplychain convert``."""

from __future__ import annotations

import shlex
import sys
from typing import TYPE_CHECKING

import click

from supplychain.cli._shared import info, json_option, state

if TYPE_CHECKING:
    from supplychain.conversion import ConversionReport, FileConversion


@click.command(
    "convert",
    epilog="""\b
Examples:
  supplychain convert pytorch_model.bin                 writes model.safetensors beside it
  supplychain convert ./my-model                        every checkpoint of a model (shards + index)
  supplychain convert ./my-model -o ./my-model-st       outputs (and index) in another directory
  supplychain convert last.ckpt --key ema -o ema.safetensors
  supplychain convert lightning.ckpt --drop-non-tensors --record conversion.json
  supplychain convert model.pt --verify-with-torch --json

\b
Nothing in the checkpoint is executed or imported and torch is not needed:
the file is scanned first (a finding at high or above refuses it), its
pickle is read as data, and tensors are copied byte for byte. Outputs are
read back with the safetensors library and compared tensor by tensor with
the source before they appear; the source is never modified.

\b
Outputs larger than 2x the storages they are made from (+1 MiB) are
refused: views that repeat storage bytes (stride 0, overlapping views) can
turn a tiny checkpoint into terabytes. --allow-expansion writes them anyway.
Free space is checked before writing. A SIGTERM or SIGKILL mid-write leaves
no partial file behind.

\b
What is exported: torch's weights-only forms (dict, OrderedDict, Counter,
lists and tuples of tensors; Python-2-era OrderedDicts pickled as a list of
[key, tensor] pairs; torch 0.1-0.3 tensors) and numpy arrays. A training
checkpoint is unwrapped to its state dict: 'state_dict' repeatedly, then the
one mapping of tensors beside epochs and optimizer state ('model',
'model_state_dict', 'module'...), named in the record as selected_key. When
it holds several (a model and its EMA copy) the error lists the --key for
each. DataParallel's 'module.' prefix is removed when every name has it
(--keep-module-prefix keeps it). Optimizer state and other non-tensor values
are left out and listed.

\b
A model directory converts what it can: a refused checkpoint does not stop
the others (a shard set is converted whole or not at all), and the summary
(text and --json "refused_files") lists each refused file with its reason.

\b
Exit codes: 0 converted and verified, 1 refused as unsafe (it would run code,
an object on the path to a tensor cannot be read without running code, or
the output would be far larger than its storages), 2 usage or input error
(no checkpoint found, malformed checkpoint, several state dicts to choose
from, not enough disk space), 3 content safetensors cannot hold (quantized,
sparse, complex128 tensors, sets of tensors, TorchScript, name collisions),
4 the output did not verify (nothing written), 5 a model directory was
converted in part: some checkpoints were refused (listed), the others were
written and verified; when none could be converted, the first refusal's own
code. 143 stopped by SIGTERM (no partial file left), 70 internal error.""",
)
@click.argument("source", type=click.Path(path_type=str))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=str),
    help="Output file (for a file) or directory (for a model directory). "
    "Default: beside the source, pytorch_model*.bin -> model*.safetensors.",
)
@click.option(
    "--key",
    metavar="NAME",
    help="Export this container of a nested checkpoint (dotted: model, ema, "
    "state_dict.generator). Default: unwrap 'state_dict' repeatedly.",
)
@click.option(
    "--drop-non-tensors",
    is_flag=True,
    help="Drop objects of classes the converter does not interpret (hparams, "
    "callbacks...) instead of refusing; they are never executed.",
)
@click.option(
    "--verify-with-torch",
    is_flag=True,
    help="Also compare with torch.load(weights_only=True), run in a subprocess (needs torch).",
)
@click.option(
    "--keep-module-prefix",
    is_flag=True,
    help="Keep DataParallel's 'module.' at the front of every name (removed by default when "
    "every tensor name starts with it).",
)
@click.option("--overwrite", is_flag=True, help="Replace existing output files.")
@click.option(
    "--allow-expansion",
    is_flag=True,
    help="Write outputs larger than 2x the storages they are made from (views that repeat "
    "storage bytes); refused by default.",
)
@click.option(
    "--allow-symlinks",
    is_flag=True,
    help="Follow symbolic links that stay inside the model (a Hugging Face cache "
    "snapshot); refused by default.",
)
@click.option(
    "--record",
    "record_path",
    type=click.Path(dir_okay=False, path_type=str),
    help="Write the conversion record (JSON, for the AI-BOM) to this file.",
)
@json_option
def convert_command(
    source: str,
    output: str | None,
    key: str | None,
    drop_non_tensors: bool,
    verify_with_torch: bool,
    keep_module_prefix: bool,
    overwrite: bool,
    allow_expansion: bool,
    allow_symlinks: bool,
    record_path: str | None,
    as_json: bool,
) -> int:
    """Convert a pickle checkpoint, or every checkpoint of a model directory, to safetensors.

    SOURCE is a PyTorch .bin/.pt/.pth/.ckpt file (zip or legacy format, any
    pickle protocol), a numpy .npy/.npz file, or a model directory (sharded
    checkpoints and their index included).
    """
    from supplychain.conversion import ConversionError, UnsafeCheckpointError, convert

    try:
        report = convert(
            source,
            output,
            key=key,
            drop_non_tensors=drop_non_tensors,
            verify_with_torch=verify_with_torch,
            overwrite=overwrite,
            allow_symlinks=allow_symlinks,
            allow_expansion=allow_expansion,
            progress=state().progress,
            strip_prefix=not keep_module_prefix,
        )
    except ConversionError as exc:
        findings = getattr(exc, "findings", ())
        if as_json:
            dump_json(
                {
                    "source": source,
                    "outcome": "refused",
                    "exit_code": int(exc.exit_code),
                    "error": exc.problem,
                    "hint": exc.hint,
                    "findings": [f.to_json() for f in findings],
                }
            )
            return int(exc.exit_code)
        if isinstance(exc, UnsafeCheckpointError) and len(findings) > 1:
            for finding in findings[:10]:
                info(f"  {finding.severity.value}: {finding.message} ({finding.location or '.'})")
        raise
    if record_path:
        import json

        from supplychain._internal.atomic import write_bytes_atomic
        from supplychain._internal.jsonschemas import validator
        from supplychain._internal.schemas import load_schema

        command = (
            shlex.join(["supplychain", "convert", *sys.argv[2:]])
            if sys.argv[1:2] == ["convert"]
            else None
        )
        record = report.record(command)
        # the documented shape, checked before anyone relies on it
        validator(load_schema("conversion-record.schema.json")).validate(record)
        text = json.dumps(record, indent=2, ensure_ascii=False) + "\n"
        write_bytes_atomic(record_path, text.encode("utf-8"))
    if as_json:
        document = report.to_json()
        if record_path:
            document["record"] = record_path
        dump_json(document)
    else:
        _render(report)
    if record_path:
        info(f"wrote the conversion record {record_path}")
    return report.exit_code


def dump_json(document: object) -> None:
    from supplychain.output import json_text

    click.echo(json_text(document))


def _render(report: ConversionReport) -> None:
    from supplychain.output import human_bytes
    from supplychain.output.names import quote_name

    for conversion in report.files:
        _render_file(conversion, human_bytes)
    for index in report.indexes:
        _echo(
            f"{quote_name(index.source_name)} -> {quote_name(index.output_name)}: "
            f"{index.tensors} tensors in "
            f"{len(index.shards)} shards, total_size {index.total_size}"
        )
    for skipped in report.skipped_files:
        _echo(f"skipped {quote_name(skipped.name)}: {skipped.reason}")
    for refused in report.refused_files:
        hint = f" ({refused.hint})" if refused.hint else ""
        _echo(
            f"refused {quote_name(refused.name)} (exit {refused.exit_code}): "
            f"{refused.problem}{hint}"
        )
    refused_count = f", refused {len(report.refused_files)}" if report.refused_files else ""
    info(f"converted {len(report.files)} file(s){refused_count} in {report.seconds:.2f} s")


def _render_file(conversion: FileConversion, human_bytes: object) -> None:
    from supplychain.output.names import quote_name

    size = human_bytes(conversion.output_size)  # type: ignore[operator]
    _echo(
        f"{quote_name(conversion.source_name)} ({conversion.source_format}) -> "
        f"{quote_name(conversion.output_name)} ({size})"
    )
    selected = f" from {'.'.join(conversion.selected)}" if conversion.selected else ""
    if conversion.stripped_prefix:
        selected += f" ({quote_name(conversion.stripped_prefix)} removed from every name)"
    _echo(f"  {len(conversion.tensors)} tensors{selected}, {conversion.parameters:,} parameters")
    for name, kept in conversion.aliases.items():
        _echo(f"  tied: {quote_name(name)} -> {quote_name(kept)} (recorded in __metadata__)")
    for skipped in conversion.skipped[:20]:
        _echo(f"  left out: {quote_name(skipped.path)}: {skipped.what} ({skipped.reason})")
    if len(conversion.skipped) > 20:
        _echo(f"  left out: ... and {len(conversion.skipped) - 20} more (see --json)")
    if conversion.unreferenced_bytes or conversion.unexported_bytes or conversion.orphans:
        approx = " (estimated)" if conversion.usage_approximate else ""
        _echo(
            f"  storage bytes not written: {conversion.unreferenced_bytes} inside used "
            f"storages{approx}, {conversion.unexported_bytes} in unused storages"
        )
    for orphan in conversion.orphans:
        _echo(f"  unreferenced: {quote_name(orphan)}")
    for finding in (*conversion.waived, *conversion.notes):
        _echo(f"  scan {finding.severity.value}: {finding.message}")
    check = conversion.self_check
    _echo(
        f"  verified: {check.tensors} tensors read back with safetensors "
        f"{check.library_version} match the source bytes"
    )
    if conversion.torch_check is not None:
        torch_check = conversion.torch_check
        detail = f" ({torch_check.detail})" if torch_check.detail else ""
        _echo(f"  torch cross-check: {torch_check.status}{detail}")
    _echo(f"  sha256 {conversion.source_sha256}  {quote_name(conversion.source_name)}")
    _echo(f"  sha256 {conversion.output_sha256}  {quote_name(conversion.output_name)}")


def _echo(line: str) -> None:
    from supplychain.output.names import escape_text

    # Tensor paths, keys and file names come from the checkpoint: never print them raw.
    click.echo(escape_text(line))
