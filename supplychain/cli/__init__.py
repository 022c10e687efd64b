"""The ``supplychain`` command: a thin click layer over the library.

Command modules are imported only when their command runs (or when help
lists them), and they import heavy libraries inside their functions, so
``supplychain --help`` stays fast.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from supplychain._version import __version__
from supplychain.cli._shared import CliState
from supplychain.errors import ExitCode, SupplychainError

#: command name -> (module, attribute); one line per command.
COMMANDS: dict[str, tuple[str, str]] = {
    "bom": ("supplychain.cli.bom", "bom_command"),
    "check": ("supplychain.cli.check", "check_command"),
    "convert": ("supplychain.cli.convert", "convert_command"),
    "demo": ("supplychain.cli.demo", "demo_command"),
    "digest": ("supplychain.cli.hash", "digest_command"),
    "hash": ("supplychain.cli.hash", "hash_command"),
    "keygen": ("supplychain.cli.signing", "keygen_command"),
    "policy": ("supplychain.cli.check", "policy_group"),
    "scan": ("supplychain.cli.scan", "scan_command"),
    "sign": ("supplychain.cli.signing", "sign_command"),
    "verify": ("supplychain.cli.signing", "verify_command"),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS:
            module_name, attribute = COMMANDS[cmd_name]
            command = getattr(importlib.import_module(module_name), attribute)
            assert isinstance(command, click.Command)
            return command
        return super().get_command(ctx, cmd_name)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="""\b
Examples:
  supplychain demo                                  every step on a bundled example
  supplychain scan ./my-model                       content that runs code on load
  supplychain convert ./my-model                    pickle checkpoints -> safetensors
  supplychain bom ./my-model -o my-model/bom.cdx.json    AI-BOM (CycloneDX ML-BOM)
  supplychain sign ./my-model --key release.key     OMS signature: my-model/model.sig
  supplychain verify ./my-model --public-key release.pub
  supplychain check ./my-model --policy deploy.yaml the deployment gate
  supplychain hash ./my-model                       per-file digests and the root digest

\b
Exit codes: 0 success, 1 a check failed, 2 usage or input error, 70 internal error;
some commands add finer codes. `supplychain COMMAND --help` lists a command's
options and exit codes.""",
)
@click.version_option(__version__, "-V", "--version", prog_name="supplychain")
@click.option("-v", "--verbose", count=True, help="More detail on stderr (repeat for debug logs).")
@click.option("-q", "--quiet", is_flag=True, help="Only results and errors; no progress bars.")
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: bool) -> None:
    """Model supply-chain security: hash and sign models in the OpenSSF Model
    Signing format, scan and convert pickle checkpoints, write AI-BOMs, and
    gate deployments on all of it."""
    if verbose or quiet:  # otherwise Python's default (warnings to stderr) is what we want
        import logging

        level = logging.ERROR if quiet else max(logging.DEBUG, logging.WARNING - 10 * verbose)
        logging.basicConfig(
            level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
        )
    ctx.obj = CliState(verbosity=verbose, quiet=quiet)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the CLI and turn every outcome into an exit code."""
    verbose = any(a in ("-v", "--verbose") or a.startswith("-vv") for a in (argv or sys.argv[1:]))
    try:
        result: Any = cli.main(args=argv, prog_name="supplychain", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(ExitCode.USAGE)
    except SupplychainError as exc:
        click.secho(f"error: {exc.diagnostics()}", err=True, fg="red")
        sys.exit(int(exc.exit_code))
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(ExitCode.OK)
    except OSError as exc:
        # A path the system refused (a name too long, a link loop, no permission,
        # a full disk) that no command anticipated: still the input's or the
        # environment's problem, and the file is named.
        from supplychain._internal.safeopen import os_error
        from supplychain.errors import InputError

        error = (
            os_error(exc, exc.filename, "file")
            if exc.filename is not None
            else InputError(f"the system refused an operation: {exc.strerror or exc}")
        )
        click.secho(f"error: {error.diagnostics()}", err=True, fg="red")
        sys.exit(ExitCode.USAGE)
    except Exception as exc:
        if verbose:
            import traceback

            traceback.print_exc()
        from supplychain.output.names import escape_text

        click.secho(
            f"internal error: {type(exc).__name__}: {escape_text(str(exc))}\n"
            "  This is a bug in supplychain; please report it with the output of `-v`.",
            err=True,
            fg="red",
        )
        sys.exit(ExitCode.INTERNAL)
    sys.exit(int(result) if isinstance(result, int) else ExitCode.OK)
