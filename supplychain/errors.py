"""The one error hierarchy: every expected failure explains itself and maps to an exit code."""

from __future__ import annotations

import enum
import os
from pathlib import Path


class ExitCode(enum.IntEnum):
    """Process exit codes shared by every command (commands may add their own above 2)."""

    OK = 0
    #: The check ran and the answer is "no": verification failed, findings at or above the gate.
    FAILED = 1
    #: The command could not do its job: bad arguments, unreadable or malformed input.
    USAGE = 2
    #: A bug in supplychain itself (an exception nobody anticipated).
    INTERNAL = 70


class SupplychainError(Exception):
    """Base class of every error supplychain raises on purpose.

    Carries what a user needs to act: which file (``path``), what is wrong
    (``problem``) and what to do about it (``hint``). The CLI prints
    :meth:`diagnostics` and exits with :attr:`exit_code`, never a traceback.
    """

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(
        self,
        problem: str,
        *,
        path: str | os.PathLike[str] | None = None,
        hint: str | None = None,
    ) -> None:
        self.problem = problem
        self.path = None if path is None else Path(path)
        self.hint = hint
        super().__init__(self._one_line())

    def _one_line(self) -> str:
        from supplychain.output.names import escape_text, quote_name

        # Paths and problems may name files an attacker chose: quoted, escaped, one line.
        problem = escape_text(self.problem)
        return f"{quote_name(self.path)}: {problem}" if self.path is not None else problem

    def diagnostics(self) -> str:
        """A human explanation: location, problem and, when known, the fix."""
        from supplychain.output.names import escape_text

        text = self._one_line()
        if self.hint:
            text += f"\n  hint: {escape_text(self.hint)}"
        return text


class InputError(SupplychainError):
    """An input (model, file, option value) is missing, unreadable or malformed."""


class ModelTreeError(InputError):
    """A model directory cannot be walked safely: links, special files, escapes."""


class FileChangedError(InputError):
    """A file changed while it was being read, so its digest describes nothing."""


class VerificationError(SupplychainError):
    """A check ran to completion and failed: the artifact is not what it should be."""

    exit_code = ExitCode.FAILED
