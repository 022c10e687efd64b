"""Archives: zip (PyTorch, numpy, Keras), legacy PyTorch, tar, compression wrappers, 7z."""

from __future__ import annotations

import struct
import tarfile
import weakref
import zlib
from dataclasses import dataclass
from functools import partial

from supplychain.formats import compression, joblib, torch
from supplychain.formats import numpy as npy
from supplychain.formats.keras import is_keras_zip
from supplychain.formats.sniff import Format
from supplychain.formats.ziparchive import (
    STORED,
    ZipArchive,
    ZipFormatError,
    ZipMember,
    ZipReading,
    member_source,
    read_zip,
)
from supplychain.picklevm import (
    ALL_FRAMES,
    ParseOptions,
    Source,
    looks_like_pickle,
)
from supplychain.picklevm.source import SourceError, SourceLimit
from supplychain.scanning.blob import Blob, TooLargeToSpool
from supplychain.scanning.containers._base import (
    RULE_CONTAINER,
    RULE_TORCHSCRIPT,
    RULE_TRAILING,
    RULE_ZIP,
)
from supplychain.scanning.containers.keras import scan_keras_zip_config
from supplychain.scanning.containers.streams import (
    report_result,
    scan_pickle_stream,
    scan_raw_pickle,
)
from supplychain.scanning.results import Finding, Severity
from supplychain.scanning.scanner import FileScan

#: One decompression budget per scanned file, shared by every stream and member inside it.
_BUDGETS: weakref.WeakKeyDictionary[FileScan, compression.DecompressionBudget] = (
    weakref.WeakKeyDictionary()
)


def decompression_budget(scan: FileScan) -> compression.DecompressionBudget:
    """What all the decompressors of ``scan``'s file may still produce: ``max_decompressed``.

    The option also caps each stream; as a total it keeps an archive of many
    bombs (or many directory entries sharing one) from multiplying the work.
    """
    budget = _BUDGETS.get(scan)
    if budget is None:
        budget = _BUDGETS[scan] = compression.DecompressionBudget(scan.options.max_decompressed)
    return budget


def scan_zip(scan: FileScan, blob: Blob, kind: Format, head: bytes) -> None:
    try:
        handle = blob.binary(scan.options.max_spool)
        archive = read_zip(handle)  # type: ignore[arg-type]
    except TooLargeToSpool as exc:
        scan.could_not_scan(blob, f"zip inside a compressed stream is too large to scan ({exc})")
        return
    except (ZipFormatError, struct.error, OSError, ValueError) as exc:
        scan.add(
            Finding(
                RULE_CONTAINER, Severity.MEDIUM, f"unreadable zip archive: {exc}", blob.location
            )
        )
        scan.could_not_scan(blob, f"unreadable zip archive: {exc}")
        return
    for member_name, problem in archive.problems:
        where = _join(blob.location, member_name)
        scan.add(Finding(RULE_ZIP, Severity.HIGH, problem, where))
    readings = archive.readings or (
        ZipReading("", archive.members, archive.prefix, archive.comment, -1, -1),
    )
    # every version of every member some loader would load is read, each once
    seen: set[tuple[str, int, int, int, int]] = set()
    for index, reading in enumerate(readings):
        view = _Reading(reading, "" if index == 0 else f" (as {reading.readers} read it)", seen)
        _scan_reading(scan, blob, handle, view, refine=index == 0)


@dataclass(frozen=True)
class _Reading:
    """One reader family's view of an archive while it is scanned."""

    reading: ZipReading
    #: Appended to member locations of all but the first reading.
    label: str
    #: Member versions already read (shared by all the readings of one archive).
    seen: set[tuple[str, int, int, int, int]]

    @property
    def archive(self) -> ZipArchive:
        r = self.reading
        return ZipArchive(r.members, r.prefix, r.comment, (), (r,))

    def first_time(self, member: ZipMember) -> bool:
        if member.version in self.seen:
            return False
        self.seen.add(member.version)
        return True


def _scan_reading(scan: FileScan, blob: Blob, handle: object, view: _Reading, refine: bool) -> None:
    archive = view.archive
    layout = torch.torch_zip_layout(archive)
    names = [m.name for m in archive.members]
    keras = is_keras_zip(names)
    if refine:
        if layout is not None:
            scan.refine(blob, Format.TORCHSCRIPT if layout.torchscript else Format.TORCH_ZIP)
        elif names and all(n.endswith(".npy") for n in names):
            scan.refine(blob, Format.NUMPY_ZIP)
        elif keras:
            scan.refine(blob, Format.KERAS)
        else:
            scan.refine(blob, Format.ZIP)
    if layout is not None:
        _scan_torch_zip(scan, blob, handle, view, layout)
        return
    config = archive.get("config.json")
    if keras and config is not None and config.version not in view.seen:
        scan_keras_zip_config(scan, blob, handle, archive, view.label, decompression_budget(scan))
    for member in archive.members:
        if _empty_directory(member):
            continue
        if (
            keras
            and member.name.endswith(".weights.h5")
            and not _npy_magic(scan, blob, handle, member)
        ):
            continue  # Keras v3 reads only arrays from it (h5py); np.load reads an .npy by magic
        if view.first_time(member):
            _scan_member(scan, blob, handle, member, view.label)


def _join(location: str, name: str) -> str:
    return f"{location}!{name}" if location and name else (location or name)


def _member_blob(
    scan: FileScan, blob: Blob, handle: object, member: ZipMember, label: str = ""
) -> Blob:
    cap = scan.options.max_decompressed
    budget = decompression_budget(scan)

    def opener() -> Source:
        return member_source(handle, member, cap=cap, budget=budget)  # type: ignore[arg-type]

    return blob.child(
        member.name + label,
        member.name.rsplit("/", 1)[-1],
        member.size,
        opener,
        member.method == STORED,
    )


def _scan_member(
    scan: FileScan, blob: Blob, handle: object, member: ZipMember, label: str = ""
) -> None:
    if not member.readable:
        reason = "encrypted" if member.encrypted else f"{member.method_name} is not supported"
        scan.could_not_scan(blob, f"member {member.name}{label}: {reason}")
        return
    scan.scan_blob(_member_blob(scan, blob, handle, member, label))


#: Records of a torch zip that torch reads as data, never as code.
_TORCH_DATA_RECORDS = (
    "version",
    ".format_version",
    ".storage_alignment",
    "byteorder",
    ".data/serialization_id",
    "data.pkl",
)


def _scan_torch_zip(
    scan: FileScan, blob: Blob, handle: object, view: _Reading, layout: torch.TorchZipLayout
) -> None:
    if layout.torchscript:
        scan.add(
            Finding(
                RULE_TORCHSCRIPT,
                Severity.MEDIUM,
                "TorchScript archive: it carries "
                "code (code/, constants.pkl) that torch.jit.load runs",
                blob.location,
            )
        )
    known = {layout.prefix + n for n in _TORCH_DATA_RECORDS}
    records = {m.name for m in layout.records.values()}
    for member in view.reading.members:
        if member in layout.pickles:
            if not view.first_time(member):
                continue
            if not member.readable:
                scan.could_not_scan(blob, f"pickle member {member.name}{view.label} is unreadable")
                continue
            child = _member_blob(scan, blob, handle, member, view.label)
            _check_crc(scan, blob, child, member)
            # torch reads data.pkl through io.BytesIO: every FRAME is its own buffer
            scan_pickle_stream(scan, child, child.opener, child.location, frames=ALL_FRAMES)
            scan._check_extension(child, Format.PICKLE)
        elif _empty_directory(member):
            continue
        elif (member.name in records or member.name in known) and not _npy_magic(
            scan, blob, handle, member
        ):
            continue  # np.load of the same zip reads a member as .npy only by its magic
        elif view.first_time(member):
            _scan_member(scan, blob, handle, member, view.label)


def _empty_directory(member: ZipMember) -> bool:
    """A directory entry holding nothing. A name ending in ``/`` may still carry bytes, and
    ``np.load`` reads them as an .npy by key (zipfile opens any name); those are scanned."""
    return member.name.endswith("/") and member.size == 0


def _npy_magic(scan: FileScan, blob: Blob, handle: object, member: ZipMember) -> bool:
    """Whether a torch record starts like an .npy, which np.load would read as an array."""
    if not member.readable:
        return False  # neither torch nor numpy (zipfile) reads it
    try:
        head = _member_blob(scan, blob, handle, member).head(len(npy.MAGIC))
    except SourceError as exc:
        scan.could_not_scan(blob, f"member {member.name}: {exc}")
        return False
    return head == npy.MAGIC


def _check_crc(scan: FileScan, blob: Blob, child: Blob, member: ZipMember) -> None:
    crc = 0
    try:
        source = child.source()
        while chunk := source.read(1 << 20):
            crc = zlib.crc32(chunk, crc)
    except SourceError as exc:
        scan.could_not_scan(blob, f"{child.location}: {exc}")
        return
    if crc != member.crc32:
        scan.add(
            Finding(
                RULE_ZIP,
                Severity.HIGH,
                f"CRC-32 {crc:08x} does not match the recorded {member.crc32:08x} "
                "(zipfile refuses the member; torch loads it)",
                child.location,
            )
        )


def scan_legacy(scan: FileScan, blob: Blob, kind: Format, head: bytes) -> None:
    if not blob.random_access or blob.size is None:
        scan_raw_pickle(scan, blob, kind, head)
        return

    def at(offset: int) -> Source:
        source = blob.source()
        source.skip(offset)
        return source

    layout = torch.read_legacy(at, blob.size, ParseOptions(scan.options.limits, build_hook=None))
    for stacked in layout.pickles:
        location = f"{blob.location}@{stacked.offset}({stacked.role})"
        # re-read under every FRAME reading (torch reads the file through a buffered reader)
        scan_pickle_stream(scan, blob, partial(at, stacked.offset), location, joblib_aware=False)
    for problem in layout.problems:
        scan.add(
            Finding(RULE_CONTAINER, Severity.MEDIUM, f"legacy checkpoint: {problem}", blob.location)
        )
    if layout.storages and layout.trailing:
        scan.add(
            Finding(
                RULE_TRAILING,
                Severity.MEDIUM,
                f"{layout.trailing} bytes after the last storage belong to nothing",
                blob.location,
                layout.end,
            )
        )
        tail = at(layout.end).read(16)
        if looks_like_pickle(tail):
            scan_raw_pickle(
                scan,
                blob.child(f"@{layout.end}", "", layout.trailing, lambda: at(layout.end), True),
                Format.PICKLE,
                tail,
            )


#: A file that is a tar and something else: legacy torch.load reads the tar.
RULE_TAR_POLYGLOT = "container.tar-polyglot"


def scan_tar_polyglot(scan: FileScan, blob: Blob, kind: Format, head: bytes) -> None:
    """Also read as a tar a ``kind`` file whose first block is a tar header.

    Legacy ``torch.load`` opens any non-zip file with ``tarfile`` before anything
    else and, when that succeeds, unpickles the tar's members instead of the
    file's own reading; when tarfile refuses it, torch reads the file as it is.
    """
    try:
        torch.torch_tar_members(blob.binary(scan.options.max_spool))  # type: ignore[arg-type]
    except TooLargeToSpool as exc:
        scan.could_not_scan(blob, f"tar inside a compressed stream is too large to scan ({exc})")
        return
    except (tarfile.TarError, OSError, ValueError) as exc:
        scan.add(
            Finding(
                RULE_CONTAINER,
                Severity.MEDIUM,
                f"the first block is a tar header but tarfile cannot open the archive ({exc})",
                blob.location,
            )
        )
        return
    scan.add(
        Finding(
            RULE_TAR_POLYGLOT,
            Severity.HIGH,
            f"the file is both {kind.value} and a tar archive: legacy torch.load "
            "reads the tar (its storages/tensors/pickle members), other loaders the "
            f"{kind.value}",
            blob.location,
        )
    )
    scan_tar(scan, blob, kind, head, refine=False)


def scan_tar(scan: FileScan, blob: Blob, kind: Format, head: bytes, *, refine: bool = True) -> None:
    try:
        handle = blob.binary(scan.options.max_spool)
        members = torch.torch_tar_members(handle)  # type: ignore[arg-type]
    except TooLargeToSpool as exc:
        scan.could_not_scan(blob, f"tar inside a compressed stream is too large to scan ({exc})")
        return
    except (tarfile.TarError, OSError, ValueError) as exc:
        scan.add(
            Finding(
                RULE_CONTAINER, Severity.MEDIUM, f"unreadable tar archive: {exc}", blob.location
            )
        )
        scan.could_not_scan(blob, f"unreadable tar archive: {exc}")
        return
    is_torch = {"storages", "tensors", "pickle"} <= set(members)
    if refine:
        scan.refine(blob, Format.TORCH_TAR if is_torch else Format.TAR)
    for member in members.values():

        def opener(m: torch.TarMember = member) -> Source:
            return Source.from_file(handle, m.offset, m.size)  # type: ignore[arg-type]

        child = blob.child(member.name, member.name.rsplit("/", 1)[-1], member.size, opener, True)
        if is_torch and member.name in ("storages", "tensors"):
            # torch opens these unbuffered: every FRAME is read as its own buffer
            opts = ParseOptions(scan.options.limits, ALL_FRAMES)
            walked = (
                torch.walk_tar_storages(opener(), member.size, opts)
                if member.name == "storages"
                else torch.walk_tar_tensors(opener(), opts)
            )
            for stacked in walked.pickles:
                scan.pickles += 1
                report_result(
                    scan,
                    stacked.result,
                    f"{child.location}@{stacked.offset}",
                    probe=False,
                    depth=0,
                    blob=child,
                )
            for problem in walked.problems:
                scan.add(
                    Finding(
                        RULE_CONTAINER, Severity.MEDIUM, f"torch tar: {problem}", child.location
                    )
                )
        elif is_torch and member.name in ("pickle", "sys_info"):
            scan_pickle_stream(scan, child, opener, child.location)
        else:
            scan.scan_blob(child)


def scan_compressed(scan: FileScan, blob: Blob, kind: Format, head: bytes) -> None:
    cap = scan.options.max_decompressed
    budget = decompression_budget(scan)
    start = 0
    if kind is Format.UNKNOWN:  # old joblib zfile
        start = joblib.zfile_payload_offset(head) or 0
        kind = Format.ZLIB

    def opener() -> Source:
        raw = blob.source()
        raw.skip(start)
        return compression.decompressed(raw, kind, cap, budget)

    try:
        opener().read(1)
    except compression.UnsupportedCompression as exc:
        scan.could_not_scan(blob, str(exc))
        return
    except SourceLimit as exc:
        scan.could_not_scan(blob, str(exc))
        return
    except Exception as exc:
        scan.add(
            Finding(
                RULE_CONTAINER,
                Severity.MEDIUM,
                f"corrupt {kind.value} stream: {exc}",
                blob.location,
            )
        )
        scan.could_not_scan(blob, f"corrupt {kind.value} stream")
        return
    inner = blob.name.rsplit(".", 1)[0] if "." in blob.name else blob.name
    scan.scan_blob(blob.child(f"({kind.value})", inner, None, opener, False))


def scan_seven_zip(scan: FileScan, blob: Blob, kind: Format, head: bytes) -> None:
    from supplychain.scanning import sevenzip

    sevenzip.scan(scan, blob)
