"""Why a conversion stops, each with its own documented exit code."""

from __future__ import annotations

import enum
import os

from supplychain.errors import InputError, SupplychainError, VerificationError


class ConvertExit(enum.IntEnum):
    """Exit codes of ``supplychain convert``."""

    #: Every checkpoint was converted and its output verified.
    CONVERTED = 0
    #: Refused as unsafe: loading the checkpoint would run code, an object the converter
    #: will not interpret sits on the path to a tensor, or the output would be far larger
    #: than the storages it is made from (see ``allow_expansion``). Nothing was written.
    REFUSED_UNSAFE = 1
    #: Usage or input error: missing or unreadable file, malformed checkpoint.
    INPUT_ERROR = 2
    #: The checkpoint is safe but holds something safetensors cannot represent (quantized,
    #: sparse, complex128... tensors, TorchScript, name collisions). Nothing was written.
    UNSUPPORTED = 3
    #: The written output did not match the source (self-check or torch cross-check).
    #: Nothing was written.
    VERIFICATION_FAILED = 4
    #: A model directory was converted in part: the checkpoints listed as refused (each with
    #: its reason and the exit code it would have on its own) were not; the others were
    #: converted and verified.
    PARTIAL = 5


class ConversionError(SupplychainError):
    """Base of the converter's own errors."""

    exit_code = ConvertExit.INPUT_ERROR  # type: ignore[assignment]


class CheckpointFormatError(InputError):
    """The file is not a checkpoint this converter can read, or breaks its format's rules."""


class UnsafeCheckpointError(ConversionError):
    """Converting would mean trusting content that runs code when loaded."""

    exit_code = ConvertExit.REFUSED_UNSAFE

    def __init__(
        self,
        problem: str,
        *,
        path: str | os.PathLike[str] | None = None,
        hint: str | None = None,
        findings: tuple[object, ...] = (),
    ) -> None:
        super().__init__(problem, path=path, hint=hint)
        #: The scanner's findings that stopped the conversion (``supplychain.scanning.Finding``).
        self.findings = findings


class UnsupportedContentError(ConversionError):
    """Safe content that safetensors cannot represent."""

    exit_code = ConvertExit.UNSUPPORTED


class OutputBudgetError(ConversionError):
    """The output would be far larger than the checkpoint's storages (repeated storage bytes)."""

    exit_code = ConvertExit.REFUSED_UNSAFE


class SelfCheckError(VerificationError):
    """The output, read back, does not hold the source's tensors."""

    exit_code = ConvertExit.VERIFICATION_FAILED  # type: ignore[assignment]
