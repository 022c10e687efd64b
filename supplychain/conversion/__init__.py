"""Convert pickle checkpoints to safetensors without executing them and without torch.

``convert(source, output)`` scans each checkpoint with the scanner (a finding
at high or above refuses it), reads its pickle with the one pickle engine
(:mod:`supplychain.picklevm`) as inert data, interprets only torch's tensor
rebuild functions, storage types and dtypes (and numpy arrays of plain
dtypes), and streams every tensor from the source file into a new
safetensors file: straight byte copies for contiguous tensors, one-tensor
gathers for views, strides, byte-swaps and conj/neg bits. Outputs are written
to temporary files, read back with the ``safetensors`` library and compared
tensor by tensor with the source bytes, then renamed into place together.

Modules: ``checkpoint`` (containers), ``interpret`` (pickle graph -> tensors),
``select`` (state_dict unwrapping, ``--key``, flattening), ``plan`` (tied
weights, header), ``budget`` (output expansion, free space),
``gather``/``writer`` (streaming output), ``verify`` (self-check),
``torchcheck`` (opt-in torch cross-check), ``sharding`` (names and indexes),
``report`` (results and the conversion record).
"""

from __future__ import annotations

from supplychain.conversion.converter import convert
from supplychain.conversion.errors import (
    CheckpointFormatError,
    ConversionError,
    ConvertExit,
    OutputBudgetError,
    SelfCheckError,
    UnsafeCheckpointError,
    UnsupportedContentError,
)
from supplychain.conversion.report import (
    ConversionReport,
    FileConversion,
    IndexConversion,
    SkippedFile,
    TensorRecord,
)
from supplychain.conversion.select import Skipped

__all__ = [
    "CheckpointFormatError",
    "ConversionError",
    "ConversionReport",
    "ConvertExit",
    "FileConversion",
    "IndexConversion",
    "OutputBudgetError",
    "SelfCheckError",
    "Skipped",
    "SkippedFile",
    "TensorRecord",
    "UnsafeCheckpointError",
    "UnsupportedContentError",
    "convert",
]
