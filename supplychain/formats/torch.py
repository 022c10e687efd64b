"""PyTorch checkpoint layouts: zip (torch >= 1.6), legacy stacked pickles, and the old tar format.

Each reader locates every pickle torch would unpickle and every storage's
bytes (file offset and length) without reading tensor data, so the scanner
parses only pickles and the converter copies storages in place.
"""

from __future__ import annotations

import struct
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from supplychain.formats.ziparchive import ZipArchive, ZipMember
from supplychain.picklevm import (
    NO_FRAMES,
    Global,
    Outcome,
    ParseOptions,
    PersistentRef,
    PickleResult,
    Source,
    parse,
)

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001

#: Bytes per element of each storage type a pickle may name.
STORAGE_ELEMENT_SIZE: dict[str, int] = {
    "DoubleStorage": 8,
    "FloatStorage": 4,
    "HalfStorage": 2,
    "BFloat16Storage": 2,
    "LongStorage": 8,
    "IntStorage": 4,
    "ShortStorage": 2,
    "CharStorage": 1,
    "ByteStorage": 1,
    "BoolStorage": 1,
    "ComplexFloatStorage": 8,
    "ComplexDoubleStorage": 16,
    "QInt8Storage": 1,
    "QUInt8Storage": 1,
    "QInt32Storage": 4,
    "QUInt4x2Storage": 1,
    "QUInt2x4Storage": 1,
    "UntypedStorage": 1,
}


def storage_element_size(storage_type: Any) -> int | None:
    """Element size of a storage type Global (``torch.FloatStorage``...), or None if unknown."""
    if not isinstance(storage_type, Global) or storage_type.module not in (
        "torch",
        "torch.cuda",
        "torch.storage",
    ):
        return None
    return STORAGE_ELEMENT_SIZE.get(storage_type.name or "")


@dataclass(frozen=True)
class TorchZipLayout:
    """Where things are in a torch zip checkpoint."""

    #: The archive's top folder (``archive`` or the file stem), with a trailing ``/``.
    prefix: str
    #: Members torch unpickles or that hold pickles (``data.pkl``, TorchScript's ``constants.pkl``).
    pickles: tuple[ZipMember, ...]
    #: Storage key -> record (``<prefix>data/<key>``).
    records: dict[str, ZipMember]
    #: The ``byteorder`` record (absent before torch 2.1: little-endian).
    byteorder: ZipMember | None
    torchscript: bool


def torch_zip_layout(archive: ZipArchive) -> TorchZipLayout | None:
    """The torch layout of ``archive``, or None if it has no ``data.pkl``.

    Names are matched as torch's reader (miniz) matches them: without regard
    to case, so ``archive/DATA.PKL`` is the ``data.pkl`` torch unpickles.
    """
    main = [m for m in archive.members if _folded_is(m.name, "data.pkl")]
    if not main:
        return None
    prefix = main[0].name[: -len("data.pkl")]
    records_dir = (prefix + "data/").lower()
    pickles = tuple(m for m in archive.members if m.name.lower().endswith(".pkl"))
    records = {
        m.name[len(records_dir) :]: m
        for m in archive.members
        if m.name.lower().startswith(records_dir)
    }
    code_dir = (prefix + "code/").lower()
    torchscript = any(m.name.lower().startswith(code_dir) for m in archive.members) or any(
        m.name.lower().endswith("constants.pkl") for m in archive.members
    )
    return TorchZipLayout(prefix, pickles, records, archive.get(prefix + "byteorder"), torchscript)


def legacy_module_class(node: Any) -> Global | None:
    """The class a legacy whole-module ``persistent_load`` hands back, or None.

    ``torch.save(module, _use_new_zipfile_serialization=False)`` records each
    ``nn.Module`` class as the persistent id ``("module", cls, source_file,
    source)``, and legacy ``torch.load`` returns ``cls`` for it: calling that
    reference calls ``cls``, an import graded like any other. Loaders without
    this rule (pickle.load, zip torch.load) refuse the id before anything runs.
    """
    if not isinstance(node, PersistentRef):
        return None
    pid = node.pid
    if not (isinstance(pid, tuple) and len(pid) == 4 and pid[0] in ("module", b"module")):
        return None
    cls, source_file, source = pid[1], pid[2], pid[3]
    if not isinstance(cls, Global) or cls.qualified is None:
        return None
    if not all(part is None or isinstance(part, str) for part in (source_file, source)):
        return None
    return cls


def _folded_is(name: str, base: str) -> bool:
    """``name`` is ``base`` or ends in ``/base``, compared without regard to case."""
    folded = name.lower()
    return folded == base or folded.endswith("/" + base)


@dataclass(frozen=True)
class StorageRecord:
    key: str
    #: File offset of the first byte (legacy: after the 8-byte element count).
    offset: int
    nbytes: int


@dataclass(frozen=True)
class StackedPickle:
    """One pickle of a file that holds several in a row."""

    role: str
    offset: int
    result: PickleResult


@dataclass(frozen=True)
class LegacyLayout:
    """A legacy (``_use_new_zipfile_serialization=False``) checkpoint."""

    pickles: tuple[StackedPickle, ...]
    storages: tuple[StorageRecord, ...]
    #: Offset where the storage walk ended; bytes after it belong to nothing.
    end: int
    size: int
    problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def trailing(self) -> int:
        return max(0, self.size - self.end)


LEGACY_ROLES = ("magic number", "protocol version", "sys_info", "main", "storage keys")


def read_legacy(
    source_at: Callable[[int], Source], size: int, options: ParseOptions | None = None
) -> LegacyLayout:
    """Walk the five stacked pickles and the storage tail of a legacy checkpoint.

    ``source_at(offset)`` returns a random-access source positioned at ``offset``.
    Every pickle is parsed even when an earlier value is wrong (torch unpickles
    the magic number before checking it, so a payload there runs).
    """
    opts = options or ParseOptions(exact_frames=NO_FRAMES)
    pickles: list[StackedPickle] = []
    problems: list[str] = []
    offset = 0
    for role in LEGACY_ROLES:
        if offset >= size:
            problems.append(f"the file ends before the {role} pickle")
            return LegacyLayout(tuple(pickles), (), offset, size, tuple(problems))
        result = parse(source_at(offset), opts)
        pickles.append(StackedPickle(role, offset, result))
        if result.outcome is not Outcome.COMPLETE:
            problems.append(
                f"the {role} pickle does not load ({result.error.message if result.error else ''})"
            )
            return LegacyLayout(tuple(pickles), (), result.end, size, tuple(problems))
        offset = result.next_offset
    magic, version = pickles[0].result.value, pickles[1].result.value
    if magic != LEGACY_MAGIC:
        problems.append("the first pickle is not torch's magic number")
    if version != LEGACY_PROTOCOL:
        problems.append(f"protocol version {version!r} is not {LEGACY_PROTOCOL}")
    storages, end = _walk_storages(
        source_at, offset, size, pickles[3].result, pickles[4].result.value, problems
    )
    return LegacyLayout(tuple(pickles), storages, end, size, tuple(problems))


def _walk_storages(
    source_at: Callable[[int], Source],
    offset: int,
    size: int,
    main: PickleResult,
    keys: Any,
    problems: list[str],
) -> tuple[tuple[StorageRecord, ...], int]:
    element_sizes: dict[str, int | None] = {}
    for ref in main.persistent_refs:
        pid = ref.pid
        if isinstance(pid, tuple) and len(pid) >= 5 and pid[0] in ("storage", b"storage"):
            key = pid[2]
            if isinstance(key, str):
                element_sizes[key] = storage_element_size(pid[1])
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        problems.append("the storage keys pickle is not a list of strings")
        return (), offset
    records: list[StorageRecord] = []
    for key in keys:
        element = element_sizes.get(key)
        if element is None:
            problems.append(f"storage {key!r} has no known element size; the walk stops here")
            return tuple(records), offset
        head = source_at(offset).read(8)
        if len(head) < 8:
            problems.append(f"the file ends inside storage {key!r}")
            return tuple(records), offset
        (count,) = struct.unpack("<q", head)
        nbytes = count * element
        if count < 0 or offset + 8 + nbytes > size:
            problems.append(f"storage {key!r} claims {count} elements, past the end of the file")
            return tuple(records), offset
        records.append(StorageRecord(key, offset + 8, nbytes))
        offset += 8 + nbytes
    return tuple(records), offset


@dataclass(frozen=True)
class TarMember:
    name: str
    offset: int
    size: int


def torch_tar_members(handle: BinaryIO) -> dict[str, TarMember]:
    """Regular members of a tar file by name, with their data offsets (headers only)."""
    handle.seek(0)
    members: dict[str, TarMember] = {}
    # exactly as legacy torch.load opens it (it tries this before anything else)
    with tarfile.open(fileobj=handle, mode="r:", format=tarfile.PAX_FORMAT) as archive:
        for info in archive.getmembers():
            target = _link_target(archive, info) if info.islnk() or info.issym() else info
            if target is not None and target.isfile():
                # torch extracts a link member as its target's data (tarfile resolves it)
                members[info.name] = TarMember(info.name, target.offset_data, target.size)
    return members


def _link_target(archive: tarfile.TarFile, info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    """The member a link resolves to, found as tarfile's extract/extractfile find it."""
    find = getattr(archive, "_find_link_target", None)
    if find is None:
        return None
    try:
        target = find(info)
    except KeyError:
        return None
    return target if isinstance(target, tarfile.TarInfo) else None


@dataclass(frozen=True)
class TarPickles:
    """Pickles of the old torch tar format's ``storages``/``tensors`` members, in load order."""

    pickles: tuple[StackedPickle, ...]
    problems: tuple[str, ...]


def _read_count(
    source: Source,
    options: ParseOptions,
    what: str,
    pickles: list[StackedPickle],
    problems: list[str],
) -> int | None:
    """How many records torch reads after the count pickle (recorded in ``pickles``).

    torch runs ``for _ in range(count)``: any int (a bool too) is accepted and
    a negative one means no records, after which torch goes on to the next
    pickle. Anything else raises there, and nothing after it is read.
    """
    result = parse(source, options)
    pickles.append(StackedPickle(f"{what} count", 0, result))
    count = result.value
    if not result.complete or not isinstance(count, int):
        problems.append(f"the {what} count pickle does not give a count")
        return None
    return max(0, count)


def walk_tar_storages(source: Source, size: int, options: ParseOptions) -> TarPickles:
    """``storages``: a count pickle, then per storage an args pickle, an int64 count and data."""
    pickles: list[StackedPickle] = []
    problems: list[str] = []
    count = _read_count(source, options, "storage", pickles, problems)
    if count is None:
        return TarPickles(tuple(pickles), tuple(problems))
    for index in range(count):
        start = source.tell()
        result = parse(source, options)
        pickles.append(StackedPickle(f"storage {index}", start, result))
        args = result.value
        element = (
            storage_element_size(args[2]) if isinstance(args, tuple) and len(args) == 3 else None
        )
        if not result.complete or element is None:
            problems.append(f"storage {index}: cannot follow the record")
            break
        head = source.read(8)
        if len(head) < 8:
            problems.append(f"storage {index}: the member ends early")
            break
        (elements,) = struct.unpack("<q", head)
        if elements < 0 or source.skip(elements * element) < elements * element:
            problems.append(f"storage {index}: the member ends early")
            break
    else:
        start = source.tell()
        pickles.append(StackedPickle("storage views", start, parse(source, options)))
    return TarPickles(tuple(pickles), tuple(problems))


def walk_tar_tensors(source: Source, options: ParseOptions) -> TarPickles:
    """``tensors``: a count pickle, then per tensor an args pickle and its binary shape record."""
    pickles: list[StackedPickle] = []
    problems: list[str] = []
    count = _read_count(source, options, "tensor", pickles, problems)
    if count is None:
        return TarPickles(tuple(pickles), tuple(problems))
    for index in range(count):
        start = source.tell()
        result = parse(source, options)
        pickles.append(StackedPickle(f"tensor {index}", start, result))
        head = source.read(8)
        if not result.complete or len(head) < 8:
            problems.append(f"tensor {index}: cannot follow the record")
            break
        (ndim,) = struct.unpack("<i", head[:4])
        need = 16 * ndim + 8
        if ndim < 0 or source.skip(need) < need:
            problems.append(f"tensor {index}: the member ends early")
            break
    return TarPickles(tuple(pickles), tuple(problems))
