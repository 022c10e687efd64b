"""Options, state and helpers every command shares."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class CliState:
    """Global options, available to every command as ``ctx.obj``."""

    verbosity: int = 0
    quiet: bool = False

    @property
    def progress(self) -> bool | None:
        """``None`` = automatic (bars only on a terminal), ``False`` = never."""
        return False if self.quiet else None


def state() -> CliState:
    ctx = click.get_current_context()
    obj = ctx.find_object(CliState)
    return obj if obj is not None else CliState()


def info(message: str) -> None:
    """A progress note on stderr, hidden by --quiet."""
    if not state().quiet:
        click.echo(message, err=True)


_SIZE = re.compile(r"^\s*(\d+)\s*([kmgt]i?b?|b)?\s*$", re.IGNORECASE)
_UNITS = {
    "": 1,
    "b": 1,
    "k": 10**3,
    "m": 10**6,
    "g": 10**9,
    "t": 10**12,
    "ki": 2**10,
    "mi": 2**20,
    "gi": 2**30,
    "ti": 2**40,
}


class ByteSize(click.ParamType):  # type: ignore[type-arg]
    """A byte count: ``1000000000``, ``1GB`` (decimal) or ``512MiB`` (binary)."""

    name = "SIZE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        match = _SIZE.match(str(value))
        if not match:
            self.fail(f"{value!r} is not a size (examples: 1000000, 1GB, 512MiB)", param, ctx)
        unit = (match.group(2) or "").lower().rstrip("b")
        size = int(match.group(1)) * _UNITS[unit]
        if size <= 0:
            self.fail("a size must be positive", param, ctx)
        return size


def json_option(func: F) -> F:
    return click.option(
        "--json", "as_json", is_flag=True, help="Print a JSON document on stdout instead of text."
    )(func)


def walk_options(func: F) -> F:
    """How the model tree is walked: ignores, git paths, symlinks."""
    func = click.option(
        "--allow-symlinks",
        is_flag=True,
        help="Follow symbolic links that resolve to files inside the model (refused by default).",
    )(func)
    func = click.option(
        "--no-ignore-git-paths",
        "ignore_git_paths",
        flag_value=False,
        default=True,
        help="Also hash .git, .gitattributes, .github and .gitignore at the model root.",
    )(func)
    func = click.option(
        "--ignore",
        "ignore",
        multiple=True,
        metavar="PATH",
        help="Skip PATH (relative to the model root) and everything under it. Repeatable.",
    )(func)
    return func


def hashing_options(func: F) -> F:
    """Walk options plus algorithm, shard size and the incremental cache."""
    func = click.option(
        "--cache/--no-cache",
        "use_cache",
        default=False,
        help="Reuse digests of files unchanged since the last run (user cache dir).",
    )(func)
    func = click.option(
        "--shard-size",
        type=ByteSize(),
        default=None,
        help="Hash fixed-size byte ranges (OMS 'shards') instead of whole files, e.g. 1GB.",
    )(func)
    func = click.option(
        "-a",
        "--algorithm",
        type=click.Choice(["sha256", "blake2b", "blake3"], case_sensitive=False),
        default="sha256",
        show_default=True,
        help="Hash algorithm (sha256 is what `model_signing verify` accepts).",
    )(func)
    return walk_options(func)


def model_argument(func: F) -> F:
    return click.argument("model", type=click.Path(exists=False, path_type=str))(func)
