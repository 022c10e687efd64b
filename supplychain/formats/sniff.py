"""Identify a model file's format from its bytes, never from its name.

Extensions lie (a pickle renamed ``.safetensors`` is a classic bypass), so
every command asks :func:`sniff` what a file really is and compares that with
what its extension claims (:func:`expected_formats`).
"""

from __future__ import annotations

import enum
import os
import struct
import zipfile
from pathlib import Path

from supplychain.formats.onnx import looks_like_model as _looks_like_onnx

#: How much of the start of a file identification looks at.
HEAD_SIZE = 4096
#: safetensors refuses headers above 100 MB; anything larger is not safetensors.
SAFETENSORS_MAX_HEADER = 100_000_000
LEGACY_TORCH_MAGIC = 0x1950A86A20F9469CFC6C


class Format(str, enum.Enum):
    """What a file is, by content."""

    SAFETENSORS = "safetensors"
    PICKLE = "pickle"
    TORCH_ZIP = "pytorch-zip"
    TORCH_LEGACY = "pytorch-legacy"
    TORCH_TAR = "pytorch-tar"
    TORCHSCRIPT = "torchscript"
    NUMPY = "numpy"
    NUMPY_ZIP = "numpy-npz"
    KERAS = "keras"
    HDF5 = "hdf5"
    GGUF = "gguf"
    ONNX = "onnx"
    TFLITE = "tflite"
    ZIP = "zip"
    TAR = "tar"
    GZIP = "gzip"
    BZIP2 = "bzip2"
    XZ = "xz"
    ZSTD = "zstd"
    LZ4 = "lz4"
    ZLIB = "zlib"
    LZMA = "lzma"
    SEVEN_ZIP = "7z"
    JSON = "json"
    TEXT = "text"
    EMPTY = "empty"
    UNKNOWN = "unknown"

    @property
    def can_execute_code(self) -> bool:
        """Formats that may carry a pickle or other code that runs on load."""
        return self in _CODE_CAPABLE

    @property
    def is_archive(self) -> bool:
        return self in _ARCHIVES

    @property
    def is_weights(self) -> bool:
        """A model weights format (what allow-lists and a BOM's "weights" role speak about)."""
        return self in _WEIGHTS

    @property
    def is_pickle_based(self) -> bool:
        """Always a pickle (or pickles in an archive); numpy/Keras/HDF5 only sometimes are."""
        return self in _PICKLE_BASED


_CODE_CAPABLE = frozenset(
    {
        Format.PICKLE,
        Format.TORCH_ZIP,
        Format.TORCH_LEGACY,
        Format.TORCH_TAR,
        Format.TORCHSCRIPT,
        Format.NUMPY,
        Format.NUMPY_ZIP,
        Format.KERAS,
        Format.HDF5,
    }
)
_PICKLE_BASED = frozenset(
    {Format.PICKLE, Format.TORCH_ZIP, Format.TORCH_LEGACY, Format.TORCH_TAR, Format.TORCHSCRIPT}
)
_WEIGHTS = frozenset(
    {
        *_PICKLE_BASED,
        Format.SAFETENSORS,
        Format.NUMPY,
        Format.NUMPY_ZIP,
        Format.KERAS,
        Format.HDF5,
        Format.GGUF,
        Format.ONNX,
        Format.TFLITE,
    }
)
_ARCHIVES = frozenset(
    {
        Format.ZIP,
        Format.TAR,
        Format.GZIP,
        Format.BZIP2,
        Format.XZ,
        Format.ZSTD,
        Format.LZ4,
        Format.ZLIB,
        Format.LZMA,
        Format.SEVEN_ZIP,
    }
)

#: Extensions and the formats a file with that extension may legitimately have.
_EXPECTED: dict[str, frozenset[Format]] = {
    ".safetensors": frozenset({Format.SAFETENSORS}),
    ".bin": frozenset(
        {
            Format.TORCH_ZIP,
            Format.TORCH_LEGACY,
            Format.PICKLE,
            Format.SAFETENSORS,
            Format.UNKNOWN,
            Format.EMPTY,
        }
    ),
    ".pt": frozenset(
        {Format.TORCH_ZIP, Format.TORCH_LEGACY, Format.TORCH_TAR, Format.TORCHSCRIPT, Format.PICKLE}
    ),
    ".pth": frozenset(
        {Format.TORCH_ZIP, Format.TORCH_LEGACY, Format.TORCH_TAR, Format.TORCHSCRIPT, Format.PICKLE}
    ),
    ".ckpt": frozenset({Format.TORCH_ZIP, Format.TORCH_LEGACY, Format.PICKLE, Format.SAFETENSORS}),
    ".pkl": frozenset({Format.PICKLE}),
    ".pickle": frozenset({Format.PICKLE}),
    ".joblib": frozenset(
        {Format.PICKLE, Format.ZLIB, Format.GZIP, Format.BZIP2, Format.XZ, Format.LZ4, Format.LZMA}
    ),
    ".npy": frozenset({Format.NUMPY}),
    ".npz": frozenset({Format.NUMPY_ZIP, Format.ZIP}),
    ".gguf": frozenset({Format.GGUF}),
    ".onnx": frozenset({Format.ONNX}),
    ".h5": frozenset({Format.HDF5}),
    ".hdf5": frozenset({Format.HDF5}),
    ".keras": frozenset({Format.KERAS}),
    ".tflite": frozenset({Format.TFLITE}),
    ".json": frozenset({Format.JSON, Format.EMPTY}),
    ".zip": frozenset({Format.ZIP, Format.TORCH_ZIP, Format.NUMPY_ZIP, Format.KERAS}),
    ".gz": frozenset({Format.GZIP}),
    ".bz2": frozenset({Format.BZIP2}),
    ".xz": frozenset({Format.XZ}),
    ".7z": frozenset({Format.SEVEN_ZIP}),
    ".tar": frozenset({Format.TAR, Format.TORCH_TAR}),
}


#: Double suffixes that name one format (torch's long-standing ``checkpoint.pth.tar``
#: is whatever torch.save wrote, zip or legacy, not a tar file).
_EXPECTED_DOUBLE: dict[str, frozenset[Format]] = {
    ".pth.tar": _EXPECTED[".pth"] | _EXPECTED[".tar"],
}


def expected_formats(name: str) -> frozenset[Format] | None:
    """Formats a file with this name may have, or None when the extension says nothing."""
    lowered = name.lower()
    for double, formats in _EXPECTED_DOUBLE.items():
        if lowered.endswith(double):
            return formats
    suffix = os.path.splitext(name)[1].lower()
    return _EXPECTED.get(suffix)


def extension_mismatch(name: str, actual: Format) -> bool:
    """True when the extension claims a format the content is not."""
    expected = expected_formats(name)
    return expected is not None and actual not in expected


def sniff(path: str | os.PathLike[str]) -> Format:
    """The format of the file at ``path``, from its content."""
    with open(path, "rb") as handle:
        head = handle.read(HEAD_SIZE)
        size = os.fstat(handle.fileno()).st_size
    return sniff_bytes(head, size, Path(path))


def sniff_bytes(head: bytes, size: int, path: Path | None = None) -> Format:
    """Identify from the first bytes; ``path`` lets zip/tar detection look inside."""
    if not head:
        return Format.EMPTY
    if _is_safetensors(head, size):
        return Format.SAFETENSORS
    if head.startswith(b"\x93NUMPY"):
        return Format.NUMPY
    if head.startswith(b"GGUF"):
        return Format.GGUF
    if head.startswith(b"\x89HDF\r\n\x1a\n"):
        return Format.HDF5
    if head[4:8] == b"TFL3":
        return Format.TFLITE
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return Format.SEVEN_ZIP
    if head.startswith(b"\x1f\x8b"):
        return Format.GZIP
    if head.startswith(b"BZh") and len(head) > 3 and head[3:4].isdigit():
        return Format.BZIP2
    if head.startswith(b"\xfd7zXZ\x00"):
        return Format.XZ
    if head.startswith(b"]\x00\x00") and len(head) >= 13:
        return Format.LZMA
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        return Format.ZSTD
    if head.startswith(b"\x04\x22\x4d\x18"):
        return Format.LZ4
    if len(head) >= 262 and head[257:262] == b"ustar":
        return _tar_kind(path) if path is not None else Format.TAR
    if head.startswith(b"\x80") and len(head) > 1 and head[1] <= 5:
        return Format.TORCH_LEGACY if _is_legacy_torch(head) else Format.PICKLE
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")) or (
        path is not None and size > 22 and _has_zip_end(path, size)
    ):
        return _zip_kind(path) if path is not None else Format.ZIP
    if _is_zlib(head):
        return Format.ZLIB
    if _looks_like_onnx(head, size):  # a ModelProto by structure (formats/onnx.py)
        return Format.ONNX
    stripped = head.lstrip()
    if stripped.startswith((b"{", b"[")):
        return Format.JSON
    if _looks_like_protocol0_pickle(head):
        return Format.PICKLE
    if _is_text(head):
        return Format.TEXT
    return Format.UNKNOWN


def _is_safetensors(head: bytes, size: int) -> bool:
    if len(head) < 9:
        return False
    (header_len,) = struct.unpack("<Q", head[:8])
    return 2 <= header_len <= min(SAFETENSORS_MAX_HEADER, size - 8) and head[8:9] == b"{"


def _is_legacy_torch(head: bytes) -> bool:
    # torch.save(_use_new_zipfile_serialization=False) starts with a pickled
    # LONG1 of the magic number: 80 02 8a 0a <10 bytes little-endian>.
    return (
        len(head) >= 14
        and head[2:4] == b"\x8a\x0a"
        and (int.from_bytes(head[4:14], "little") == LEGACY_TORCH_MAGIC)
    )


def _is_zlib(head: bytes) -> bool:
    if len(head) < 2 or head[0] != 0x78:
        return False
    return (head[0] << 8 | head[1]) % 31 == 0 and head[1] in (0x01, 0x5E, 0x9C, 0xDA)


def _looks_like_protocol0_pickle(head: bytes) -> bool:
    # Protocol 0/1 pickles have no PROTO opcode; they start with an opcode
    # such as MARK '(', GLOBAL 'c', EMPTY_DICT '}', EMPTY_LIST ']' and end in STOP '.'.
    return (
        head[:1] in (b"(", b"c", b"}", b"]", b")", b"I", b"S", b"V", b"N")
        and (b"\n" in head[:256] or head[:1] in (b"}", b"]", b")"))
        and head.rstrip().endswith(b".")
        and not _is_text_prose(head)
    )


def _is_text_prose(head: bytes) -> bool:
    return head.count(b" ") > len(head) // 8


def _is_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        # A multi-byte character may be cut at the end of the sample.
        try:
            head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return False
    return b"\x00" not in head


def _has_zip_end(path: Path, size: int) -> bool:
    # Archives may carry a prefix (e.g. a polyglot); the end record is what counts.
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, size - 65_557))
            tail = handle.read()
    except OSError:
        return False
    return b"PK\x05\x06" in tail


def _zip_kind(path: Path) -> Format:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, NotImplementedError):
        return Format.ZIP
    if any(n.endswith("/constants.pkl") or n == "constants.pkl" for n in names) and any(
        "/code/" in n or n.startswith("code/") for n in names
    ):
        return Format.TORCHSCRIPT
    if any(n.endswith("/data.pkl") or n == "data.pkl" for n in names):
        return Format.TORCH_ZIP
    if names and all(n.endswith(".npy") for n in names):
        return Format.NUMPY_ZIP
    if "config.json" in names and any(n.endswith(".weights.h5") for n in names):
        return Format.KERAS
    return Format.ZIP


def _tar_kind(path: Path) -> Format:
    import tarfile

    try:
        with tarfile.open(path) as archive:
            names = set(archive.getnames())
    except (tarfile.TarError, OSError):
        return Format.TAR
    if {"storages", "tensors", "pickle"} <= names:
        return Format.TORCH_TAR
    return Format.TAR
