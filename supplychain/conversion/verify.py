"""Self-check: read the written file back with the ``safetensors`` library and compare every tensor.

The library opens the file (so its own header validation runs), and its
names, dtypes, shapes and metadata must be exactly the plan's. Every
tensor's bytes are then hashed as read back (through the library's numpy
reader for the dtypes numpy has, raw from the file for bfloat16, float8 and
float4) and compared with the digest of the source bytes the writer
produced. Our own header reader (:mod:`supplychain.formats.safetensors`)
checks the layout independently of the library.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import blake3

from supplychain.conversion.errors import SelfCheckError
from supplychain.conversion.plan import Plan, PlannedTensor
from supplychain.conversion.storage import CHUNK
from supplychain.formats.safetensors import SafetensorsError, read_header

#: Dtypes the library's numpy reader returns as arrays (others have no numpy type without
#: ml_dtypes, so their bytes are read from the file).
LIBRARY_READABLE = frozenset({"F64", "F32", "F16", "I64", "I32", "I16", "I8", "U64", "U32", "U16",
                              "U8", "BOOL", "C64"})
#: Rows longer than this are read raw rather than as one library slice.
MAX_LIBRARY_ROW = 64 << 20


@dataclass(frozen=True)
class SelfCheck:
    """The outcome of a successful self-check."""

    tensors: int
    #: Tensors whose bytes were read through the safetensors library (the rest: raw reads).
    through_library: int
    library_version: str

    def to_json(self) -> dict[str, object]:
        return {"tensors": self.tensors, "read_through_library": self.through_library,
                "safetensors": self.library_version}


def self_check(path: Path, plan: Plan, digests: dict[str, str]) -> SelfCheck:
    """Raise SelfCheckError unless ``path`` holds exactly the planned tensors."""
    import safetensors

    def fail(problem: str) -> SelfCheckError:
        return SelfCheckError(f"self-check failed: {problem}", path=path,
                              hint="nothing was written; please report this as a bug")

    try:
        ours = read_header(path)
    except SafetensorsError as exc:
        raise fail(f"the written header is invalid ({exc.problem})") from None
    offsets = {t.name: (t.begin, t.end) for t in ours.tensors}
    expected = {t.name: t for t in plan.tensors}
    if set(offsets) != set(expected) or ours.metadata != plan.metadata:
        raise fail("the header's names or metadata differ from the plan")
    through_library = 0
    with safetensors.safe_open(str(path), framework="numpy") as reader:
        if set(reader.keys()) != set(expected):
            raise fail("safetensors lists different tensor names")
        if (reader.metadata() or {}) != plan.metadata:
            raise fail("safetensors reads different metadata")
        with open(path, "rb") as raw:
            for name, tensor in expected.items():
                info = reader.get_slice(name)
                if info.get_dtype() != tensor.view.dtype.code or tuple(
                        info.get_shape()) != tensor.header_shape:
                    raise fail(f"{name}: safetensors reads {info.get_dtype()} "
                               f"{info.get_shape()}, planned {tensor.view.dtype.code} "
                               f"{list(tensor.header_shape)}")
                if offsets[name] != (tensor.begin, tensor.end):
                    raise fail(f"{name}: stored at {offsets[name]}, planned "
                               f"{(tensor.begin, tensor.end)}")
                if _library_readable(tensor):
                    digest = _library_digest(reader, name, tensor)
                    through_library += 1
                else:
                    digest = _raw_digest(raw.fileno(), ours.data_start, tensor)
                if digest != digests[name]:
                    raise fail(f"{name}: the bytes read back differ from the source's")
    return SelfCheck(len(expected), through_library, safetensors.__version__)


def _library_readable(tensor: PlannedTensor) -> bool:
    if tensor.view.dtype.code not in LIBRARY_READABLE:
        return False
    shape = tensor.header_shape
    if not shape or tensor.nbytes == 0:
        return True
    return tensor.nbytes // shape[0] <= MAX_LIBRARY_ROW if shape[0] else True


def _library_digest(reader: object, name: str, tensor: PlannedTensor) -> str:
    digest = blake3.blake3()
    shape = tensor.header_shape
    if not shape or tensor.nbytes == 0 or tensor.nbytes <= CHUNK:
        array = reader.get_tensor(name)  # type: ignore[attr-defined]
        digest.update(memoryview(array.tobytes()))
        return digest.hexdigest()
    rows = shape[0]
    step = max(1, CHUNK // (tensor.nbytes // rows))
    sliced = reader.get_slice(name)  # type: ignore[attr-defined]
    for start in range(0, rows, step):
        digest.update(sliced[start : start + step].tobytes())
    return digest.hexdigest()


def _raw_digest(fd: int, data_start: int, tensor: PlannedTensor) -> str:
    digest = blake3.blake3()
    buffer = memoryview(bytearray(min(CHUNK, max(tensor.nbytes, 1))))
    position = data_start + tensor.begin
    end = data_start + tensor.end
    while position < end:
        n = os.preadv(fd, [buffer[: min(len(buffer), end - position)]], position)
        if n <= 0:
            raise SelfCheckError("self-check failed: the output is shorter than its header says")
        digest.update(buffer[:n])
        position += n
    return digest.hexdigest()
