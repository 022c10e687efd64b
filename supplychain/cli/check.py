"""``supplychain check`` (the deployment gate) and ``supplychain policy`` (init, validate)."""

from __future__ import annotations

from pathlib import Path

import click

from supplychain.cli._shared import json_option, state
from supplychain.output import dump_json

_path = click.Path(path_type=Path)


@click.command(
    "check",
    epilog="""\b
Examples:
  supplychain check ./my-model --policy deploy.yaml
  supplychain check ~/.cache/huggingface/hub/models--org--name/snapshots/<rev> --policy deploy.yaml
  supplychain check ./model.safetensors --policy deploy.yaml --signature model.safetensors.sig
  supplychain check ./my-model --policy deploy.yaml --json
  supplychain check ./my-model --policy deploy.yaml --sarif gate.sarif

\b
Runs every check the policy asks for (layout, download, signature, integrity,
safety, formats, licenses, bom, remote-code), prints a verdict per check with
its evidence, and says what to do about each failure. Nothing of the model is
loaded or executed. The model is read once (SHA-256 of every file).

\b
Exit codes (several failures: the smallest code wins):
   0  allowed: every required check passed
   2  usage or input error (bad policy, missing model)
  10  layout: the model cannot be read safely (e.g. a link escaping it)
  11  download: a Hugging Face cache blob does not match its digest name
  12  signature: no valid signature from an allowed signer
  13  integrity: files missing, added or modified since signing
  14  safety: code-executing content, or a file that could not be scanned
  15  formats: a format the policy refuses (e.g. pickle)
  16  licenses: licence or openness not allowed for the declared use, or a conflict
  17  bom: AI-BOM missing, invalid, or not matching the files
  18  remote-code: custom modelling code the policy does not allow""",
)
@click.argument("model", type=_path)
@click.option(
    "-p", "--policy", "policy_path", type=_path, required=True, help="Policy file (YAML or JSON)."
)
@click.option(
    "-s", "--signature", type=_path, help="Signature to use instead of the policy's location."
)
@click.option("--bom", type=_path, help="AI-BOM to use instead of the policy's location.")
@click.option(
    "--sarif", "sarif_path", type=_path, help="Also write the failures as SARIF 2.1.0 here."
)
@json_option
def check_command(
    model: Path,
    policy_path: Path,
    signature: Path | None,
    bom: Path | None,
    sarif_path: Path | None,
    as_json: bool,
) -> int:
    """May MODEL be deployed? Check it against a policy before anything loads it."""
    import json

    from supplychain._internal.atomic import write_bytes_atomic
    from supplychain.gate import check_model
    from supplychain.gate.render import text_lines, to_sarif
    from supplychain.policy import load_policy

    policy = load_policy(policy_path)
    report = check_model(model, policy, signature=signature, bom=bom, progress=state().progress)
    if sarif_path is not None:
        write_bytes_atomic(sarif_path, json.dumps(to_sarif(report), indent=2).encode() + b"\n")
    if as_json:
        dump_json(report.to_json())
    else:
        for line in text_lines(report, style=lambda text, colour: click.style(text, fg=colour)):
            click.echo(line)
    return report.exit_code


@click.group("policy")
def policy_group() -> None:
    """Write and validate deployment policies for `supplychain check`."""


@policy_group.command(
    "init",
    epilog="""\b
Examples:
  supplychain policy init deploy.yaml                  (commented starting point)
  supplychain policy init deploy.yaml --from strict    (production: signed, no pickle, permissive)
  supplychain policy init research.yaml --from research

Exit codes: 0 written, 2 the file exists (use --force) or cannot be written.""",
)
@click.argument("path", type=_path, default=Path("policy.yaml"))
@click.option(
    "--from",
    "template",
    type=click.Choice(["commented", "strict", "research"]),
    default="commented",
    show_default=True,
    help="Which shipped policy to start from.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def policy_init(path: Path, template: str, force: bool) -> None:
    """Write a starting policy to PATH (default policy.yaml)."""
    from supplychain._internal.atomic import write_bytes_atomic
    from supplychain.errors import InputError
    from supplychain.policy.examples import example_text

    if path.exists() and not force:
        raise InputError("the file exists", path=path, hint="choose another path or pass --force")
    write_bytes_atomic(path, example_text(template).encode())
    click.echo(
        f"wrote {path} ({template}); edit the signers and keys, then run "
        f"`supplychain policy validate {path}`"
    )


@policy_group.command(
    "validate",
    epilog="""\b
Examples:
  supplychain policy validate deploy.yaml
  supplychain policy validate deploy.yaml --json

Exit codes: 0 valid, 2 invalid (the exact field, line and reason are printed).""",
)
@click.argument("path", type=_path)
@json_option
def policy_validate(path: Path, as_json: bool) -> None:
    """Check a policy file against the schema and that every file it names exists."""
    from supplychain.policy import load_policy

    policy = load_policy(path)
    sections = [
        name
        for name in ("signature", "scan", "formats", "licenses", "bom", "remote_code")
        if getattr(policy, name) is not None
    ]
    if as_json:
        dump_json({"valid": True, "policy": str(path), "use": policy.use, "checks": sections})
    else:
        click.echo(
            f"{path}: valid; checks {', '.join(sections) or 'nothing'}"
            + (f" for {policy.use} use" if policy.use else "")
        )
