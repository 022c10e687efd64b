"""One reader per container format: find every pickle a loader would run, and scan it.

Each handler takes the file scan, the blob, its sniffed format and its first
bytes. Handlers never read tensor storage: they parse pickles, headers and
directories, and skip everything else.
"""

from __future__ import annotations

from supplychain.formats.sniff import Format
from supplychain.scanning.containers._base import Handler
from supplychain.scanning.containers.archives import (
    scan_compressed,
    scan_legacy,
    scan_seven_zip,
    scan_zip,
)
from supplychain.scanning.containers.coreml import scan_coreml
from supplychain.scanning.containers.files import (
    nothing_to_run,
    scan_gguf,
    scan_npy,
    scan_safetensors,
    unknown,
    unsupported,
)
from supplychain.scanning.containers.keras import scan_hdf5
from supplychain.scanning.containers.mlflow import scan_mlmodel
from supplychain.scanning.containers.nemo import scan_tar_or_nemo
from supplychain.scanning.containers.onnx import scan_onnx
from supplychain.scanning.containers.streams import scan_raw_pickle
from supplychain.scanning.containers.tensorflow import scan_keras_metadata, scan_tensorflow
from supplychain.scanning.containers.text import scan_json_or_template, scan_text
from supplychain.scanning.containers.tflite import scan_tflite

__all__ = ["Handler", "handler_for", "scan_zip"]

_HANDLERS: dict[Format, Handler] = {
    Format.PICKLE: scan_raw_pickle,
    Format.TORCH_LEGACY: scan_legacy,
    Format.TORCH_ZIP: scan_zip,
    Format.TORCHSCRIPT: scan_zip,
    Format.NUMPY_ZIP: scan_zip,
    Format.KERAS: scan_zip,
    Format.ZIP: scan_zip,
    Format.TORCH_TAR: scan_tar_or_nemo,
    Format.TAR: scan_tar_or_nemo,
    Format.NUMPY: scan_npy,
    Format.SAFETENSORS: scan_safetensors,
    Format.GZIP: scan_compressed,
    Format.BZIP2: scan_compressed,
    Format.XZ: scan_compressed,
    Format.ZLIB: scan_compressed,
    Format.LZMA: scan_compressed,
    Format.ZSTD: unsupported("zstd streams are not supported (no decoder installed)"),
    Format.LZ4: unsupported("lz4 streams are not supported (no decoder installed)"),
    Format.SEVEN_ZIP: scan_seven_zip,
    Format.HDF5: scan_hdf5,
    Format.TF_SAVED_MODEL: scan_tensorflow,
    Format.TF_GRAPHDEF: scan_tensorflow,
    Format.TF_KERAS_METADATA: scan_keras_metadata,
    Format.NEMO: scan_tar_or_nemo,
    Format.GGUF: scan_gguf,
    Format.ONNX: scan_onnx,
    Format.TFLITE: scan_tflite,
    # tree ensembles, word vectors and legacy GGML weights: their C/C++ loaders run no Python
    Format.XGBOOST_UBJ: nothing_to_run,
    Format.XGBOOST_BINARY: nothing_to_run,
    Format.LIGHTGBM: nothing_to_run,
    Format.FASTTEXT: nothing_to_run,
    Format.GGML: nothing_to_run,
    # operators and delegates run native kernels linked into the runtime, not Python
    Format.EXECUTORCH: nothing_to_run,
    # Flax rebuilds arrays from dtype names and bytes; it imports nothing
    Format.FLAX_MSGPACK: nothing_to_run,
    Format.COREML: scan_coreml,
    Format.MLFLOW: scan_mlmodel,
    Format.JSON: scan_json_or_template,
    Format.EMPTY: nothing_to_run,
    Format.TEXT: scan_text,
    Format.UNKNOWN: unknown,
}


def handler_for(kind: Format) -> Handler:
    return _HANDLERS.get(kind, unknown)
