"""``supplychain hash`` and ``supplychain digest``."""

from __future__ import annotations

import click

from supplychain.cli._shared import hashing_options, info, json_option, model_argument, state
from supplychain.output import dump_json, human_bytes


def _hash(model: str, **options: object) -> object:
    from supplychain.hashing import hash_model

    return hash_model(model, progress=state().progress, **options)  # type: ignore[arg-type]


@click.command(
    "hash",
    epilog="""\b
Examples:
  supplychain hash ./llama-3-8b
  supplychain hash ./llama-3-8b --shard-size 1GB --algorithm blake2b
  supplychain hash ./llama-3-8b --ignore README.md --cache --json
  supplychain hash ./model.safetensors          (a single file is a model too)

Exit codes: 0 hashed, 2 the model could not be read safely.""",
)
@model_argument
@hashing_options
@json_option
def hash_command(model: str, as_json: bool, **options: object) -> None:
    """Print the OMS digest of every file (or shard) of MODEL and its root digest.

    The digests and the root digest are exactly those model-signing 1.x
    computes, so they can be compared with any OMS signature.
    """
    from supplychain.hashing import HashResult

    result = _hash(model, **options)
    assert isinstance(result, HashResult)
    manifest = result.manifest
    if as_json:
        document = manifest.to_json()
        document["stats"] = {
            "files": len(result.tree),
            "bytes": result.tree.total_size,
            "bytes_hashed": result.bytes_hashed,
            "cache_hits": result.cache_hits,
            "seconds": round(result.seconds, 6),
        }
        dump_json(document)
        return
    from supplychain.output.names import quote_name

    for resource in manifest.resources:
        click.echo(f"{resource.algorithm}:{resource.hex}  {quote_name(resource.name)}")
    click.echo(f"root  sha256:{manifest.root_digest_hex}")
    cached = f", {result.cache_hits} from cache" if result.cache_hits else ""
    info(
        f"{len(result.tree)} files, {human_bytes(result.tree.total_size)} "
        f"({manifest.serialization.method}, {manifest.serialization.hash_type}) "
        f"in {result.seconds:.2f} s{cached}"
    )


@click.command(
    "digest",
    epilog="""\b
Examples:
  supplychain digest ./my-model
  supplychain digest ./my-model --ignore README.md

Exit codes: 0 printed, 2 the model could not be read safely.""",
)
@model_argument
@hashing_options
@json_option
def digest_command(model: str, as_json: bool, **options: object) -> None:
    """Print sha256:<root digest> of MODEL (the value model-signing's `digest` prints).

    Use it to pair other attestations, such as an AI-BOM, with a model directory.
    """
    from supplychain.hashing import HashResult

    result = _hash(model, **options)
    assert isinstance(result, HashResult)
    value = f"sha256:{result.root_digest_hex}"
    if as_json:
        dump_json({"model": result.manifest.model_name, "digest": value})
    else:
        click.echo(value)
