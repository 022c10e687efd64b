"""Open a checkpoint for conversion: find its pickle and storages, and interpret the pickle.

Formats (identified by content): PyTorch zip (any archive prefix, zip64,
stored or compressed records), the legacy stacked-pickle format, numpy
``.npy``/``.npz`` of plain dtypes, and plain pickles (numpy arrays inside).
The container readers are the ones the scanner uses
(:mod:`supplychain.formats`), and the pickle is read by the one pickle engine
(:mod:`supplychain.picklevm`), so converter and scanner see the same file.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from supplychain.conversion import dtypes
from supplychain.conversion.errors import (
    CheckpointFormatError,
    UnsafeCheckpointError,
    UnsupportedContentError,
)
from supplychain.conversion.interpret import Interpreter, StorageResolver
from supplychain.conversion.storage import Bytes, inflate_member
from supplychain.conversion.tree import Mapping, Node, TensorView, Unsupported
from supplychain.formats import numpy as npy
from supplychain.formats import torch as torch_formats
from supplychain.formats.sniff import LEGACY_TORCH_MAGIC, Format, sniff_bytes
from supplychain.formats.ziparchive import STORED, ZipArchive, ZipFormatError, ZipMember, read_zip
from supplychain.picklevm import (
    ALL_FRAMES,
    NO_FRAMES,
    Call,
    LargeBytes,
    Outcome,
    ParseOptions,
    PickleResult,
    Source,
    parse,
)

#: Formats this converter reads.
CONVERTIBLE = frozenset(
    {Format.TORCH_ZIP, Format.TORCH_LEGACY, Format.NUMPY, Format.NUMPY_ZIP, Format.PICKLE}
)
#: A pickle larger than this is not a checkpoint's data.pkl (about 150 bytes per tensor).
MAX_PICKLE = 1 << 30
#: Numpy bytes inside a protocol-2 pickle are latin-1 text and must be transcoded in memory.
MAX_TRANSCODE = 1 << 30
_TORCH_RECORDS = (
    "version",
    ".format_version",
    ".storage_alignment",
    "byteorder",
    ".data/serialization_id",
    "data.pkl",
)


@dataclass
class Checkpoint:
    """An open checkpoint: what it holds (``root``) and where every storage's bytes are."""

    path: Path
    format: Format
    root: Node
    byteorder: str = "little"
    protocol: int | None = None
    #: storage key -> its bytes (compressed records are inflated on first use).
    storage_sizes: dict[str, int] = field(default_factory=dict)
    #: storage key -> the dtype torch gives its v1/v2 tensors (its first declaration's).
    storage_dtypes: dict[str, str] = field(default_factory=dict)
    #: Archive members or storage records nothing refers to (a polyglot indicator).
    orphans: tuple[str, ...] = ()
    _storages: dict[str, Bytes] = field(default_factory=dict)
    _members: dict[str, tuple[ZipMember, str]] = field(default_factory=dict)
    _handle: BinaryIO | None = None
    _scratch: str | None = None

    def storage(self, key: str) -> Bytes:
        found = self._storages.get(key)
        if found is None:
            member, label = self._members[key]
            assert self._handle is not None
            found = inflate_member(self._handle, member, label, self._scratch)
            self._storages[key] = found
        return found

    @property
    def inflated_bytes(self) -> int:
        """Scratch space compressed records will take once inflated (beside the output)."""
        return sum(member.size for member, _ in self._members.values())

    def storage_label(self, key: str) -> str:
        if key in self._storages:
            return self._storages[key].label
        return self._members[key][1]

    def close(self) -> None:
        for stored in self._storages.values():
            stored.close()
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> Checkpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_checkpoint(
    path: str | os.PathLike[str], *, scratch: str | None = None, kind: Format | None = None
) -> Checkpoint:
    """Open and interpret ``path``; ``scratch`` is where compressed records may be inflated."""
    file_path = Path(path)
    try:
        handle: BinaryIO = open(file_path, "rb")  # noqa: SIM115 - owned by the Checkpoint
    except OSError as exc:
        raise CheckpointFormatError(f"cannot open: {exc.strerror}", path=file_path) from None
    try:
        size = os.fstat(handle.fileno()).st_size
        if kind is None:
            head = os.pread(handle.fileno(), 4096, 0)
            kind = sniff_bytes(head, size, file_path)
        opener = _OPENERS.get(kind)
        if opener is None:
            raise _not_convertible(kind, file_path)
        checkpoint = opener(file_path, handle, size, scratch)
        checkpoint._handle = handle
        checkpoint._scratch = scratch
        return checkpoint
    except BaseException:
        handle.close()
        raise


def _not_convertible(kind: Format, path: Path) -> Exception:
    if kind is Format.TORCHSCRIPT:
        return UnsupportedContentError(
            "a TorchScript archive: its weights are bound to compiled code, not a state_dict",
            path=path,
            hint="load it with torch.jit.load in a sandbox and save its state_dict",
        )
    if kind is Format.TORCH_TAR:
        return UnsupportedContentError(
            "the pre-1.6 torch tar format is not supported (torch refuses it too with "
            "weights_only)",
            path=path,
            hint="re-save it with a current torch in a sandbox",
        )
    if kind is Format.SAFETENSORS:
        return CheckpointFormatError("already safetensors", path=path, hint="nothing to convert")
    return CheckpointFormatError(
        f"not a checkpoint this tool converts (content is {kind.value})",
        path=path,
        hint="give a PyTorch .bin/.pt/.pth/.ckpt, .npy or .npz file, or a directory holding them",
    )


# -- torch zip -------------------------------------------------------------------------------------
def _open_torch_zip(path: Path, handle: BinaryIO, size: int, scratch: str | None) -> Checkpoint:
    try:
        archive = read_zip(handle)
    except (ZipFormatError, ValueError, OSError) as exc:
        raise CheckpointFormatError(f"unreadable zip archive: {exc}", path=path) from None
    if archive.readers_disagree:
        # torch, zipfile and strict readers would load different members: whichever we
        # converted, some loader of the same file sees other content.
        raise UnsafeCheckpointError(
            "zip readers disagree on this archive's members (torch, zipfile and strict "
            "readers would load different content)",
            path=path,
            hint="run `supplychain scan` on it for details; re-save the checkpoint with torch",
        )
    layout = torch_formats.torch_zip_layout(archive)
    if layout is None:
        return _open_npz(path, handle, archive, scratch)
    if layout.torchscript:
        raise _not_convertible(Format.TORCHSCRIPT, path)
    main = archive.get(layout.prefix + "data.pkl")
    assert main is not None
    pickle_bytes = _member_bytes(handle, main, path, cap=MAX_PICKLE)
    byteorder = _byteorder(handle, layout.byteorder, path)
    members: dict[str, tuple[ZipMember, str]] = {
        key: (member, member.name) for key, member in layout.records.items()
    }
    result = _parse(pickle_bytes, ALL_FRAMES, path, "data.pkl")
    declared: dict[str, int] = {}

    def persistent(pid: Any) -> tuple[str, str, int]:
        key, storage_class, nbytes = _storage_pid(pid, legacy=False, path=path)
        entry = members.get(key)
        if entry is None:
            raise CheckpointFormatError(
                f"the pickle refers to storage {key!r}, which has no "
                f"record {layout.prefix}data/{key}",
                path=path,
            )
        _agree(declared, key, nbytes, path)
        if entry[0].size != nbytes:
            raise CheckpointFormatError(
                f"record {entry[1]} holds {entry[0].size} bytes but the pickle declares {nbytes}",
                path=path,
                hint="the checkpoint is corrupt or crafted",
            )
        return key, storage_class, nbytes

    checkpoint = Checkpoint(path, Format.TORCH_ZIP, Mapping("empty"), byteorder, result.protocol)
    checkpoint.storage_dtypes = _first_declarations(result, persistent, path)
    inline = _InlineBytes(pickle_bytes, checkpoint)
    root = _interpret(result, StorageResolver(persistent, inline, byteorder == "big"), path)
    stored = {
        key: Bytes(label, member.size, fd=handle.fileno(), offset=member.data_offset)
        for key, (member, label) in members.items()
        if member.method == STORED
    }
    checkpoint.root = root
    checkpoint.storage_sizes = {key: m.size for key, (m, _) in members.items()}
    checkpoint.storage_sizes.update(inline.sizes)
    checkpoint._storages = {**stored, **inline.storages}
    checkpoint._members = {k: v for k, v in members.items() if k not in stored}
    known = {layout.prefix + name for name in _TORCH_RECORDS}
    referenced = {_pid_key(ref.pid) for ref in result.persistent_refs}
    orphans = [
        m.name
        for m in archive.members
        if m.name not in known
        and not m.name.endswith("/")
        and not (
            m.name.startswith(layout.prefix + "data/")
            and m.name[len(layout.prefix) + 5 :] in referenced
        )
    ]
    checkpoint.orphans = tuple(orphans)
    return checkpoint


def _byteorder(handle: BinaryIO, member: ZipMember | None, path: Path) -> str:
    if member is None:
        return "little"  # torch < 2.1 wrote no record and always little-endian data
    raw = _member_bytes(handle, member, path, cap=64).read(0, member.size).strip()
    if raw not in (b"little", b"big"):
        raise CheckpointFormatError(f"unknown byteorder record {raw[:20]!r}", path=path)
    return raw.decode()


def _member_bytes(handle: BinaryIO, member: ZipMember, path: Path, *, cap: int) -> Bytes:
    if member.size > cap:
        raise CheckpointFormatError(
            f"{member.name} is {member.size} bytes, larger than the {cap}-byte limit", path=path
        )
    if member.method == STORED:
        return Bytes(member.name, member.size, fd=handle.fileno(), offset=member.data_offset)
    inflated = inflate_member(handle, member, member.name, None)
    try:
        data = inflated.read(0, inflated.length)
    finally:
        inflated.close()
    return Bytes.of_bytes(member.name, data)


def _storage_pid(pid: Any, *, legacy: bool, path: Path) -> tuple[str, str, int]:
    """Validate ``('storage', StorageType, key, location, numel[, view_metadata])``."""
    size = 6 if legacy else 5
    if not (isinstance(pid, tuple) and len(pid) == size and pid[0] in ("storage", b"storage")):
        raise UnsafeCheckpointError(
            f"a persistent id that is not a storage tuple: {_short(pid)}",
            path=path,
            hint="torch checkpoints only refer to storages; this pickle asks the loader for "
            "something else",
        )
    _, storage_type, key, location, numel = pid[:5]
    name = getattr(storage_type, "name", None)
    if getattr(storage_type, "module", None) not in dtypes.STORAGE_MODULES or not name:
        raise UnsafeCheckpointError(
            f"storage type {_short(storage_type)} is not a torch storage class", path=path
        )
    itemsize = dtypes.storage_itemsize(name)
    if itemsize is None:
        raise UnsafeCheckpointError(f"storage type {name} is not a torch storage class", path=path)
    if (
        not isinstance(key, str)
        or not isinstance(location, str)
        or not isinstance(numel, int)
        or isinstance(numel, bool)
        or numel < 0
    ):
        raise CheckpointFormatError(f"malformed storage id {_short(pid)}", path=path)
    return key, name, numel * itemsize


def _pid_key(pid: Any) -> str | None:
    return pid[2] if isinstance(pid, tuple) and len(pid) >= 3 and isinstance(pid[2], str) else None


def _agree(declared: dict[str, int], key: str, nbytes: int, path: Path) -> None:
    previous = declared.setdefault(key, nbytes)
    if previous != nbytes:
        raise CheckpointFormatError(
            f"storage {key} is declared as {previous} and as {nbytes} bytes",
            path=path,
            hint="the checkpoint is corrupt or crafted",
        )


def _storage_view(
    metadata: Any, root: str, root_bytes: int, storage_class: str, path: Path
) -> tuple[str, tuple[str, int, int]]:
    """Old torch's ``(view_key, offset, size)``: a storage that is a slice of ``root``.

    torch's legacy loader wraps ``root[offset * itemsize : (offset + size) * itemsize]``
    under ``view_key``; offsets and sizes count elements of the storage class.
    """
    itemsize = dtypes.storage_itemsize(storage_class) or 1
    if not (
        isinstance(metadata, tuple)
        and len(metadata) == 3
        and isinstance(metadata[0], str)
        and all(type(v) is int and v >= 0 for v in metadata[1:])
    ):
        raise CheckpointFormatError(f"malformed storage view {_short(metadata)}", path=path)
    view_key, offset, size = metadata
    start, length = offset * itemsize, size * itemsize
    if start + length > root_bytes:
        raise CheckpointFormatError(
            f"storage view {view_key!r} (bytes {start} to {start + length}) reaches past the "
            f"{root_bytes} bytes of storage {root}",
            path=path,
            hint="the checkpoint is corrupt or crafted",
        )
    return f"{root}/view {view_key}", (root, start, length)


def _first_declarations(
    result: PickleResult, persistent: Callable[[Any], tuple[str, str, int]], path: Path
) -> dict[str, str]:
    """Every storage's dtype as torch sees it, refusing keys declared with two dtypes.

    torch's ``persistent_load`` caches storages by key (``loaded_storages`` /
    ``deserialized_objects``): the first persistent id of a key, in stream
    order, fixes its dtype, and later ids naming another storage class are
    ignored, so their tensors load with the first dtype. ``torch.save`` never
    writes such a file (it refuses views of one storage as two types); a
    reader that took each id at its word would write other values than torch
    loads. Every persistent id is checked, including those outside the tensors
    converted, because an earlier one anywhere decides.
    """
    first: dict[str, tuple[str, str]] = {}
    for ref in result.persistent_refs:
        key, storage_class, _ = persistent(ref.pid)
        dtype = dtypes.STORAGE_DTYPES.get(storage_class, storage_class)
        seen_class, seen_dtype = first.setdefault(key, (storage_class, dtype))
        if seen_dtype != dtype:
            raise CheckpointFormatError(
                f"storage {key} is declared as {seen_class} and later as {storage_class}: "
                f"torch keeps the first declaration and loads every tensor of it as "
                f"{seen_dtype}, which torch.save never writes",
                path=path,
                hint="the checkpoint is crafted to make readers disagree; nothing was written",
            )
    return {key: dtype for key, (_, dtype) in first.items()}


def _parse(data: Bytes, frames: Any, path: Path, what: str) -> PickleResult:
    if data.data is not None:
        source = Source.from_bytes(data.data)
    else:
        assert data.fd is not None
        with os.fdopen(os.dup(data.fd), "rb") as dup:
            source = Source.from_file(dup, data.offset, data.length)
            result = parse(source, ParseOptions(exact_frames=frames))
        return _checked(result, path, what)
    return _checked(parse(source, ParseOptions(exact_frames=frames)), path, what)


def _checked(result: PickleResult, path: Path, what: str) -> PickleResult:
    if result.straddled_frames:
        raise UnsafeCheckpointError(
            f"{what}: pickle FRAME boundaries let loaders read different opcodes",
            path=path,
            hint="this is a scanner-evasion technique; do not load the file",
        )
    if result.outcome is not Outcome.COMPLETE:
        message = result.error.message if result.error else result.outcome.value
        raise CheckpointFormatError(
            f"{what} does not load: {message}",
            path=path,
            hint="the checkpoint is truncated or corrupt",
        )
    return result


def _interpret(result: PickleResult, resolver: StorageResolver, path: Path) -> Node:
    return Interpreter(resolver).node(result.value)


class _InlineBytes:
    """numpy array bytes written inside the pickle: a range of it, or transcoded latin-1 text."""

    def __init__(self, pickle_bytes: Bytes | None, checkpoint: Checkpoint) -> None:
        self.pickle_bytes = pickle_bytes
        self.storages: dict[str, Bytes] = {}
        self.sizes: dict[str, int] = {}

    def __call__(self, raw: Any, nbytes: int) -> str | None:
        key = f"pickle@{len(self.storages)}"
        data = self._resolve(raw, key)
        if data is None or data.length != nbytes:
            return None
        self.storages[key] = data
        self.sizes[key] = data.length
        return key

    def _resolve(self, raw: Any, key: str) -> Bytes | None:
        if isinstance(raw, (bytes, bytearray)):
            return Bytes.of_bytes(key, bytes(raw))
        if isinstance(raw, LargeBytes) and raw.kind in ("bytes", "bytearray"):
            if self.pickle_bytes is None:
                return None
            return self.pickle_bytes.window(key, raw.offset, raw.length)
        if (
            isinstance(raw, Call)
            and raw.target is not None
            and (raw.target.qualified == "_codecs.encode")
            and isinstance(raw.args, tuple)
            and len(raw.args) == 2
            and raw.args[1] == "latin1"
        ):
            text = raw.args[0]
            if isinstance(text, LargeBytes) and text.kind == "str" and self.pickle_bytes:
                if text.length > MAX_TRANSCODE:
                    return None
                text = self.pickle_bytes.read(text.offset, text.length).decode("utf-8")
            if isinstance(text, str):
                try:
                    return Bytes.of_bytes(key, text.encode("latin-1"))
                except UnicodeEncodeError:
                    return None
        return None


# -- legacy ----------------------------------------------------------------------------------------
def _open_legacy(path: Path, handle: BinaryIO, size: int, scratch: str | None) -> Checkpoint:
    fd = handle.fileno()

    def source_at(offset: int) -> Source:
        source = Source.from_file(handle)
        source.skip(offset)
        return source

    layout = torch_formats.read_legacy(source_at, size, ParseOptions(exact_frames=NO_FRAMES))
    if layout.problems:
        raise CheckpointFormatError(
            f"legacy checkpoint: {layout.problems[0]}",
            path=path,
            hint="the checkpoint is truncated or corrupt",
        )
    main = _checked(layout.pickles[3].result, path, "the legacy object pickle")
    for stacked in layout.pickles:
        _checked(stacked.result, path, f"the legacy {stacked.role} pickle")
    records = {record.key: record for record in layout.storages}
    declared: dict[str, int] = {}
    #: Storage views of old torch (view_metadata): view key -> (root key, byte offset, bytes).
    views: dict[str, tuple[str, int, int]] = {}

    def persistent(pid: Any) -> tuple[str, str, int]:
        key, storage_class, nbytes = _storage_pid(pid, legacy=True, path=path)
        record = records.get(key)
        if record is None:
            raise CheckpointFormatError(
                f"the pickle refers to storage {key!r}, which the file does not hold", path=path
            )
        _agree(declared, key, nbytes, path)
        if record.nbytes != nbytes:
            raise CheckpointFormatError(
                f"storage {key} holds {record.nbytes} bytes but the pickle declares {nbytes}",
                path=path,
            )
        if pid[5] is None:
            return key, storage_class, nbytes
        view_key, view = _storage_view(pid[5], key, nbytes, storage_class, path)
        if views.setdefault(view_key, view) != view or view_key in records:
            raise CheckpointFormatError(
                f"storage view {view_key!r} is declared twice, differently", path=path
            )
        return view_key, storage_class, view[2]

    checkpoint = Checkpoint(path, Format.TORCH_LEGACY, Mapping("empty"), "little", main.protocol)
    checkpoint.storage_dtypes = _first_declarations(main, persistent, path)
    whole = Bytes(path.name, size, fd=fd, offset=0)
    inline = _InlineBytes(whole, checkpoint)
    # The legacy writer byte-swaps to little-endian on big-endian hosts: data is always LE.
    checkpoint.root = _interpret(main, StorageResolver(persistent, inline, False), path)
    checkpoint._storages = {
        r.key: Bytes(f"storage {r.key}", r.nbytes, fd=fd, offset=r.offset) for r in layout.storages
    }
    checkpoint._storages.update(inline.storages)
    checkpoint.storage_sizes = {r.key: r.nbytes for r in layout.storages}
    checkpoint.storage_sizes.update(inline.sizes)
    for view_key, (root, start, length) in views.items():
        checkpoint._storages[view_key] = Bytes(
            f"storage {root}[{start}:{start + length}]",
            length,
            fd=fd,
            offset=records[root].offset + start,
        )
        checkpoint.storage_sizes[view_key] = length
    referenced = {_pid_key(ref.pid) for ref in main.persistent_refs}
    orphans = [f"storage {r.key}" for r in layout.storages if r.key not in referenced]
    if layout.trailing:
        orphans.append(f"{layout.trailing} bytes after the last storage")
    checkpoint.orphans = tuple(orphans)
    return checkpoint


# -- plain pickle ----------------------------------------------------------------------------------
def _open_pickle(path: Path, handle: BinaryIO, size: int, scratch: str | None) -> Checkpoint:
    whole = Bytes(path.name, size, fd=handle.fileno(), offset=0)
    result = _parse(whole, NO_FRAMES, path, "the pickle")
    if type(result.value) is int and result.value == LEGACY_TORCH_MAGIC:
        # torch's legacy writer with pickle_protocol >= 4: neither torch's weights-only
        # loader nor the scanner (which sees one pickle and trailing bytes) reads past it
        raise UnsupportedContentError(
            f"a legacy torch checkpoint written with pickle protocol {result.protocol}, "
            "which neither torch.load(weights_only=True) nor the scanner reads",
            path=path,
            hint="re-save it with torch.save(obj, f) (zip format) in a sandbox",
        )

    def persistent(pid: Any) -> tuple[str, str, int]:
        raise UnsafeCheckpointError(
            "a plain pickle that asks its loader for persistent objects", path=path
        )

    checkpoint = Checkpoint(path, Format.PICKLE, Mapping("empty"), "little", result.protocol)
    inline = _InlineBytes(whole, checkpoint)
    checkpoint.root = _interpret(result, StorageResolver(persistent, inline, False), path)
    checkpoint._storages = dict(inline.storages)
    checkpoint.storage_sizes = dict(inline.sizes)
    if result.end < size:
        checkpoint.orphans = (f"{size - result.end} bytes after the pickle's STOP",)
    return checkpoint


# -- numpy -----------------------------------------------------------------------------------------
def _npy_tensor(name: str, data: Bytes, path: Path) -> tuple[TensorView | Unsupported, Bytes]:
    head = data.read(0, min(data.length, 12 + npy.MAX_HEADER))
    try:
        header = npy.parse_npy_header(head)
    except npy.NumpyFormatError as exc:
        raise CheckpointFormatError(f"{name}: {exc.problem}", path=path) from None
    if header.has_object or not isinstance(header.descr, str):
        return Unsupported(
            "numpy array",
            f"{name}: a structured or object array (dtype {header.descr!r}) is not a tensor",
        ), data
    try:
        dtype, big = dtypes.numpy_dtype(header.descr)
    except dtypes.DTypeRefused as exc:
        return Unsupported("numpy array", f"{name}: {exc}"), data
    numel = 1
    for dim in header.shape:
        numel *= dim
    nbytes = numel * dtype.itemsize
    if header.data_offset + nbytes != data.length:
        raise CheckpointFormatError(
            f"{name}: {data.length - header.data_offset} data bytes for a {header.descr} array "
            f"of shape {header.shape} ({nbytes} bytes)",
            path=path,
            hint="the file is truncated or has trailing bytes",
        )
    strides = [0] * len(header.shape)
    step = 1
    order = range(len(header.shape)) if header.fortran_order else reversed(range(len(header.shape)))
    for index in order:
        strides[index] = step
        step *= header.shape[index]
    view = TensorView(
        name, dtype, 0, header.shape, tuple(strides), big_endian=big, origin="numpy .npy"
    )
    return view, data.window(name, header.data_offset, nbytes)


def _open_npy(path: Path, handle: BinaryIO, size: int, scratch: str | None) -> Checkpoint:
    name = path.name[: -len(".npy")] if path.name.endswith(".npy") else path.stem
    node, data = _npy_tensor(name, Bytes(path.name, size, fd=handle.fileno()), path)
    checkpoint = Checkpoint(path, Format.NUMPY, Mapping("npy", [(name, node)]))
    checkpoint._storages = {name: data}
    checkpoint.storage_sizes = {name: data.length}
    return checkpoint


def _open_npz(path: Path, handle: BinaryIO, archive: ZipArchive, scratch: str | None) -> Checkpoint:
    root = Mapping("npz")
    checkpoint = Checkpoint(path, Format.NUMPY_ZIP, root)
    orphans = []
    for member in archive.members:
        if not member.name.endswith(".npy"):
            if not member.name.endswith("/"):
                orphans.append(member.name)
            continue
        name = member.name[: -len(".npy")]
        whole = inflate_member(handle, member, member.name, scratch)
        node, data = _npy_tensor(name, whole, path)
        root.items.append((name, node))
        checkpoint._storages[name] = data
        checkpoint.storage_sizes[name] = data.length
    if not root.items:
        raise CheckpointFormatError(
            "a zip archive with no .npy members and no data.pkl",
            path=path,
            hint="not a PyTorch or numpy checkpoint",
        )
    checkpoint.orphans = tuple(orphans)
    return checkpoint


def _open_zip(path: Path, handle: BinaryIO, size: int, scratch: str | None) -> Checkpoint:
    return _open_torch_zip(path, handle, size, scratch)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


_OPENERS = {
    Format.TORCH_ZIP: _open_torch_zip,
    Format.NUMPY_ZIP: _open_zip,
    Format.ZIP: _open_zip,
    Format.TORCH_LEGACY: _open_legacy,
    Format.NUMPY: _open_npy,
    Format.PICKLE: _open_pickle,
}
