"""Self-check: read the written file back with the ``safetensors`` library and compare every tensor.

The library opens the file (so its own header validation runs), and its
names, dtypes, shapes and metadata must be exactly the plan's; our own header
reader (:mod:`supplychain.formats.safetensors`) checks the layout
independently. Every tensor's bytes, read back from the file, must have
the BLAKE3 digest of the source bytes the writer produced: the writer reads
its output back while it writes (``read_back``); without those digests the
file is read here. For the dtypes numpy has, the first rows of each tensor are also
read through the library's numpy reader and must equal the raw bytes, so
what the library hands to users is what was digested. (Reading every tensor
through the library would map the whole file into this process.) Each
tensor's dtype is also checked against the dtype torch gives its storage,
found independently of the interpreter from the pickle's persistent ids.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import blake3

from supplychain.conversion.errors import SelfCheckError
from supplychain.conversion.interpret import REBUILD_V1, REBUILD_V2
from supplychain.conversion.plan import Plan, PlannedTensor
from supplychain.conversion.storage import CHUNK
from supplychain.formats.safetensors import SafetensorsError, read_header

#: Dtypes the library's numpy reader returns as arrays (others have no numpy type without
#: ml_dtypes).
LIBRARY_READABLE = frozenset(
    {"F64", "F32", "F16", "I64", "I32", "I16", "I8", "U64", "U32", "U16", "U8", "BOOL", "C64"}
)
#: Bytes of each tensor's leading rows compared through the library.
LIBRARY_SAMPLE = 64 << 10


@dataclass(frozen=True)
class SelfCheck:
    """The outcome of a successful self-check."""

    tensors: int
    #: Tensors whose leading rows were also read through the safetensors library.
    sampled_through_library: int
    library_version: str

    def to_json(self) -> dict[str, object]:
        return {
            "tensors": self.tensors,
            "sampled_through_library": self.sampled_through_library,
            "safetensors": self.library_version,
        }


def self_check(
    path: Path,
    plan: Plan,
    digests: dict[str, str],
    storage_dtypes: dict[str, str] | None = None,
    read_back: dict[str, str] | None = None,
) -> SelfCheck:
    """Raise SelfCheckError unless ``path`` holds exactly the planned tensors.

    ``digests`` are the BLAKE3 digests of the source bytes of each tensor;
    ``read_back`` those of its bytes as the writer read them back from
    ``path`` (read here if not given). ``storage_dtypes`` maps a storage key
    to the dtype torch loads its classic (``_rebuild_tensor_v2``) tensors with.
    """
    import safetensors

    def fail(problem: str) -> SelfCheckError:
        return SelfCheckError(
            f"self-check failed: {problem}",
            path=path,
            hint="nothing was written; please report this as a bug",
        )

    try:
        ours = read_header(path)
    except SafetensorsError as exc:
        raise fail(f"the written header is invalid ({exc.problem})") from None
    offsets = {t.name: (t.begin, t.end) for t in ours.tensors}
    expected = {t.name: t for t in plan.tensors}
    for tensor in plan.tensors:
        torch_dtype = (storage_dtypes or {}).get(tensor.view.storage)
        if tensor.view.origin in (REBUILD_V1, REBUILD_V2) and torch_dtype not in (
            None,
            tensor.view.dtype.torch_name,
        ):
            raise fail(
                f"{tensor.name}: written as {tensor.view.dtype.torch_name}, but torch loads "
                f"storage {tensor.view.storage} as {torch_dtype}"
            )
    if set(offsets) != set(expected) or ours.metadata != plan.metadata:
        raise fail("the header's names or metadata differ from the plan")
    sampled = 0
    with safetensors.safe_open(str(path), framework="numpy") as reader:
        if set(reader.keys()) != set(expected):
            raise fail("safetensors lists different tensor names")
        if (reader.metadata() or {}) != plan.metadata:
            raise fail("safetensors reads different metadata")
        with open(path, "rb") as raw:
            for name, tensor in expected.items():
                info = reader.get_slice(name)
                if (
                    info.get_dtype() != tensor.view.dtype.code
                    or tuple(info.get_shape()) != tensor.header_shape
                ):
                    raise fail(
                        f"{name}: safetensors reads {info.get_dtype()} "
                        f"{info.get_shape()}, planned {tensor.view.dtype.code} "
                        f"{list(tensor.header_shape)}"
                    )
                if offsets[name] != (tensor.begin, tensor.end):
                    raise fail(
                        f"{name}: stored at {offsets[name]}, planned {(tensor.begin, tensor.end)}"
                    )
                if read_back is not None:
                    found = read_back.get(name)
                else:
                    found = _raw_digest(raw.fileno(), ours.data_start, tensor)
                if found is None or found != digests.get(name):
                    raise fail(f"{name}: the bytes read back differ from the source's")
                if tensor.view.dtype.code in LIBRARY_READABLE and tensor.nbytes:
                    library, length = _library_sample(reader, name, tensor)
                    start = ours.data_start + tensor.begin
                    if library != os.pread(raw.fileno(), length, start):
                        raise fail(f"{name}: safetensors returns other bytes than the file holds")
                    sampled += 1
    return SelfCheck(len(expected), sampled, safetensors.__version__)


def _library_sample(reader: object, name: str, tensor: PlannedTensor) -> tuple[bytes, int]:
    """The leading rows of a tensor as the library's numpy reader returns them."""
    shape = tensor.header_shape
    if not shape or tensor.nbytes <= LIBRARY_SAMPLE:
        array = reader.get_tensor(name)  # type: ignore[attr-defined]
        return array.tobytes(), tensor.nbytes
    row = tensor.nbytes // shape[0]
    rows = max(1, LIBRARY_SAMPLE // row)
    if row > LIBRARY_SAMPLE and len(shape) > 1:
        return _library_sample_row(reader, name, tensor)
    array = reader.get_slice(name)[:rows]  # type: ignore[attr-defined]
    return array.tobytes(), rows * row


def _library_sample_row(reader: object, name: str, tensor: PlannedTensor) -> tuple[bytes, int]:
    """A very long first row: take the first elements of its first innermost run."""
    shape = tensor.header_shape
    itemsize = tensor.nbytes // max(1, _numel(shape))
    count = max(1, min(shape[-1], LIBRARY_SAMPLE // itemsize))
    index = (*(slice(0, 1) for _ in shape[:-1]), slice(0, count))
    array = reader.get_slice(name)[index]  # type: ignore[attr-defined]
    return array.tobytes(), count * itemsize


def _numel(shape: tuple[int, ...]) -> int:
    total = 1
    for dim in shape:
        total *= dim
    return total


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
