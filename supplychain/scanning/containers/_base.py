"""What every container handler shares: the handler type, rule ids, limits."""

from __future__ import annotations

from collections.abc import Callable

from supplychain.formats.sniff import Format
from supplychain.scanning.blob import Blob
from supplychain.scanning.scanner import FileScan

Handler = Callable[[FileScan, Blob, Format, bytes], None]

RULE_CONTAINER = "container.malformed"
RULE_ZIP = "container.zip-inconsistent"
RULE_TRAILING = "container.trailing-data"
RULE_OBJECT_ARRAY = "numpy.object-array"
RULE_TORCHSCRIPT = "torch.torchscript-code"
RULE_SAFETENSORS = "safetensors.invalid-header"
RULE_EMBEDDED = "pickle.embedded-pickle"
RULE_KERAS_LAMBDA = "keras.lambda-layer"

#: How many stacked pickles a raw pickle file may hold before we stop looking.
MAX_STACKED = 64
#: Depth of pickles found inside strings of pickles.
MAX_EMBEDDED_DEPTH = 3
