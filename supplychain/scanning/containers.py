"""One reader per container format: find every pickle a loader would run, and scan it.

Each handler takes the file scan, the blob, its sniffed format and its first
bytes. Handlers never read tensor storage: they parse pickles, headers and
directories, and skip everything else.
"""

from __future__ import annotations

import json
import struct
import tarfile
import zlib
from collections.abc import Callable
from functools import partial

from supplychain.formats import compression, gguf, joblib, numpy, safetensors, torch
from supplychain.formats.sniff import Format
from supplychain.formats.ziparchive import ZipArchive, ZipFormatError, member_source, read_zip
from supplychain.picklevm import (
    ALL_FRAMES,
    NO_FRAMES,
    Global,
    LargeBytes,
    Limits,
    Outcome,
    ParseOptions,
    PickleResult,
    Source,
    looks_like_pickle,
    parse,
    parse_all_readings,
)
from supplychain.picklevm.source import SourceLimit
from supplychain.scanning import templates
from supplychain.scanning.blob import Blob, TooLargeToSpool
from supplychain.scanning.pickles import analyse
from supplychain.scanning.results import Finding, Severity, worst
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


def _opts(scan: FileScan, frames: object = NO_FRAMES, **kwargs: object) -> ParseOptions:
    return ParseOptions(scan.options.limits, frames, **kwargs)  # type: ignore[arg-type]


# -- pickles -----------------------------------------------------------------------------------
def scan_pickle_stream(
    scan: FileScan,
    blob: Blob,
    source_at: Callable[[], Source],
    location: str,
    *,
    frames: object = NO_FRAMES,
    probe: bool = False,
    joblib_aware: bool = True,
    depth: int = 0,
) -> PickleResult:
    """Parse one stream under every FRAME reading and report it; returns the first reading."""
    hook = joblib.array_hook if joblib_aware else None
    options = ParseOptions(scan.options.limits, frames, build_hook=hook)  # type: ignore[arg-type]
    # one parse for a clean stream; more when FRAME opcodes let loaders disagree
    results = parse_all_readings(source_at, options)
    first = results[0]
    scan.pickles += 1
    for result in results:
        _report(scan, result, location, probe=probe, depth=depth, blob=blob)
    if joblib_aware and any(joblib.is_wrapper(g) for g in first.globals) and not probe:
        # pickle.load (not joblib.load) would run the inline array bytes as opcodes
        plain = parse(source_at(), ParseOptions(scan.options.limits, frames))  # type: ignore[arg-type]
        _report(
            scan,
            plain,
            location + " (read by pickle.load)",
            probe=True,
            depth=depth,
            blob=blob,
            identifiers_only=True,
        )
    return first


def _report(
    scan: FileScan,
    result: PickleResult,
    location: str,
    *,
    probe: bool,
    depth: int,
    blob: Blob,
    identifiers_only: bool = False,
) -> None:
    analysis = analyse(result, scan.policy, location or blob.location, probe=probe)
    findings = analysis.findings
    if identifiers_only:
        findings = tuple(f for f in findings if f.symbol is None or _identifier_path(f.symbol))
    scan.extend(findings)
    if analysis.incomplete:
        scan.could_not_scan(blob, analysis.incomplete)
    for offset, nested in result.nested:
        _report(scan, nested, f"{location}@{offset}", probe=False, depth=depth + 1, blob=blob)
    if depth < MAX_EMBEDDED_DEPTH:
        for embedded in result.embedded:
            _scan_embedded(scan, blob, embedded.value, embedded.offset, location, depth)


def _identifier_path(symbol: str) -> bool:
    return all(part.isidentifier() for part in symbol.split("."))


def _scan_embedded(
    scan: FileScan, blob: Blob, value: bytes | LargeBytes, offset: int, location: str, depth: int
) -> None:
    if isinstance(value, LargeBytes):
        if value.captured is not None:
            data: bytes | None = value.captured
        else:
            data = None
    else:
        data = value
    where = f"{location or blob.location}@{offset}(embedded)"
    if data is not None:
        result = parse(data, ParseOptions(scan.options.limits))
    elif blob.random_access and isinstance(value, LargeBytes):
        result = parse(
            blob.source().window(value.offset, value.length), ParseOptions(scan.options.limits)
        )
    else:
        return
    if not result.globals and not result.calls:
        return
    analysis = analyse(result, scan.policy, where, probe=result.outcome is not Outcome.COMPLETE)
    if analysis.findings:
        top = worst(f.severity for f in analysis.findings)
        assert top is not None
        scan.add(
            Finding(
                RULE_EMBEDDED,
                top,
                "a string in the pickle is itself a pickle (it runs if anything unpickles it)",
                where,
                offset,
            )
        )
        scan.extend(analysis.findings)


def scan_raw_pickle(scan: FileScan, blob: Blob, kind: Format, head: bytes) -> None:
    """A file of one or more pickles in a row (``pickle.load`` repeated, joblib, legacy readers)."""
    offset = 0
    for index in range(MAX_STACKED):
        start = offset

        def at(start: int = start) -> Source:
            source = blob.source()
            source.skip(start)
            return source

        location = blob.location if index == 0 else f"{blob.location}@{start}"
        result = scan_pickle_stream(scan, blob, at, location)
        if not result.complete:
            return
        offset = result.next_offset
        if blob.size is not None and offset >= blob.size:
            return
        rest = at(offset).read(16)
        if not rest:
            return
        if not (looks_like_pickle(rest) or rest[:1] in (b"(", b"}", b"]", b")", b"c", b"K")):
            scan.add(
                Finding(
                    RULE_TRAILING,
                    Severity.MEDIUM,
                    f"{(blob.size or 0) - offset} bytes after the pickle's STOP are not a pickle",
                    blob.location,
                    offset,
                )
            )
            return
    scan.could_not_scan(blob, f"more than {MAX_STACKED} stacked pickles")


def probe_as_pickle(scan: FileScan, blob: Blob, kind: Format, head: bytes) -> None:
    """Unknown or text content: only worth a finding if ``pickle.load`` would call something."""
    if not head or head[0] not in _OPCODE_STARTS:
        return
    limits = Limits(max_opcodes=1_000_000)
    result = parse(blob.source(), ParseOptions(limits))
    if not result.calls and not any(
        scan.policy.grade(g).severity is Severity.CRITICAL
        for g in result.globals
        if _valid_global(g)
    ):
        return
    scan.pickles += 1
    analysis = analyse(result, scan.policy, blob.location, probe=True)
    scan.add(
        Finding(
            "file.loads-as-pickle",
            Severity.HIGH,
            f"the {kind.value} content is also a pickle that pickle.load would run",
            blob.location,
        )
    )
    scan.extend(analysis.findings)


_OPCODE_STARTS = frozenset(b"(cijKIJLMNSTUVX}])\x80FGP")


def _valid_global(node: Global) -> bool:
    return node.qualified is None or _identifier_path(node.qualified)


# -- torch ---------------------------------------------------------------------------------------
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
    layout = torch.torch_zip_layout(archive)
    names = [m.name for m in archive.members]
    if layout is not None:
        scan.refine(blob, Format.TORCHSCRIPT if layout.torchscript else Format.TORCH_ZIP)
        _scan_torch_zip(scan, blob, handle, archive, layout)
    else:
        if names and all(n.endswith(".npy") for n in names):
            scan.refine(blob, Format.NUMPY_ZIP)
        elif "config.json" in names and any(n.endswith(".weights.h5") for n in names):
            scan.refine(blob, Format.KERAS)
            _scan_keras_config(scan, blob, handle, archive)
        else:
            scan.refine(blob, Format.ZIP)
        keras = "config.json" in names and any(n.endswith(".weights.h5") for n in names)
        for member in archive.members:
            if member.name.endswith("/"):
                continue
            if keras and member.name.endswith(".weights.h5"):
                continue  # Keras v3 reads only arrays from it (h5py); the code risk is config.json
            _scan_member(scan, blob, handle, member)


#: Keras layers whose config carries Python code (marshalled bytecode or a function reference).
_CODE_LAYERS = frozenset({"Lambda"})
MAX_KERAS_CONFIG = 64 << 20


def _scan_keras_config(scan: FileScan, blob: Blob, handle: object, archive: ZipArchive) -> None:
    member = archive.get("config.json")
    if member is None or not member.readable or member.size > MAX_KERAS_CONFIG:
        scan.could_not_scan(blob, "the Keras config.json is unreadable or too large")
        return
    raw = member_source(handle, member, cap=MAX_KERAS_CONFIG).read(MAX_KERAS_CONFIG)  # type: ignore[arg-type]
    try:
        config = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        scan.add(
            Finding(
                RULE_CONTAINER,
                Severity.MEDIUM,
                "Keras config.json is not JSON",
                _join(blob.location, "config.json"),
            )
        )
        return
    for path, layer in _layers(config, "config.json"):
        scan.add(
            Finding(
                RULE_KERAS_LAMBDA,
                Severity.HIGH,
                f"Keras {layer} layer at {path}: it carries Python code that runs when the model "
                "is loaded with safe_mode=False (CVE-2024-3660, CVE-2025-1550)",
                _join(blob.location, "config.json"),
            )
        )


def _layers(node: object, path: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    stack: list[tuple[object, str]] = [(node, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, dict):
            name = item.get("class_name")
            if isinstance(name, str) and name in _CODE_LAYERS:
                found.append((where, name))
            stack.extend((v, f"{where}/{k}") for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((v, f"{where}/{i}") for i, v in enumerate(item))
    return sorted(found)


def _join(location: str, name: str) -> str:
    return f"{location}!{name}" if location and name else (location or name)


def _member_blob(scan: FileScan, blob: Blob, handle: object, member: object) -> Blob:
    from supplychain.formats.ziparchive import STORED, ZipMember

    assert isinstance(member, ZipMember)
    cap = scan.options.max_decompressed

    def opener() -> Source:
        return member_source(handle, member, cap=cap)  # type: ignore[arg-type]

    return blob.child(
        member.name, member.name.rsplit("/", 1)[-1], member.size, opener, member.method == STORED
    )


def _scan_member(scan: FileScan, blob: Blob, handle: object, member: object) -> None:
    from supplychain.formats.ziparchive import ZipMember

    assert isinstance(member, ZipMember)
    if not member.readable:
        reason = "encrypted" if member.encrypted else f"{member.method_name} is not supported"
        scan.could_not_scan(blob, f"member {member.name}: {reason}")
        return
    scan.scan_blob(_member_blob(scan, blob, handle, member))


def _scan_torch_zip(
    scan: FileScan, blob: Blob, handle: object, archive: ZipArchive, layout: torch.TorchZipLayout
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
    known = {
        layout.prefix + n
        for n in (
            "version",
            ".format_version",
            ".storage_alignment",
            "byteorder",
            ".data/serialization_id",
            "data.pkl",
        )
    }
    records = {m.name for m in layout.records.values()}
    for member in archive.members:
        if member in layout.pickles:
            if not member.readable:
                scan.could_not_scan(blob, f"pickle member {member.name} is unreadable")
                continue
            child = _member_blob(scan, blob, handle, member)
            _check_crc(scan, child, member)
            # torch reads data.pkl through io.BytesIO: every FRAME is its own buffer
            scan_pickle_stream(scan, child, child.opener, child.location, frames=ALL_FRAMES)
            scan._check_extension(child, Format.PICKLE)
        elif member.name in records or member.name in known or member.name.endswith("/"):
            continue
        else:
            _scan_member(scan, blob, handle, member)


def _check_crc(scan: FileScan, child: Blob, member: object) -> None:
    from supplychain.formats.ziparchive import ZipMember

    assert isinstance(member, ZipMember)
    source = child.source()
    crc = 0
    while chunk := source.read(1 << 20):
        crc = zlib.crc32(chunk, crc)
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


def scan_tar(scan: FileScan, blob: Blob, kind: Format, head: bytes) -> None:
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
                _report(
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


# -- numpy -------------------------------------------------------------------------------------
def scan_npy(scan: FileScan, blob: Blob, kind: Format, head: bytes) -> None:
    try:
        header = numpy.parse_npy_header(head)
    except numpy.NumpyFormatError as exc:
        scan.add(
            Finding(RULE_CONTAINER, Severity.MEDIUM, f"invalid .npy: {exc.problem}", blob.location)
        )
        return
    if not header.has_object:
        return
    scan.add(
        Finding(
            RULE_OBJECT_ARRAY,
            Severity.MEDIUM,
            "object array: its elements are a pickle (np.load needs allow_pickle=True)",
            blob.location,
            header.data_offset,
        )
    )

    def at() -> Source:
        source = blob.source()
        source.skip(header.data_offset)
        return source

    scan_pickle_stream(scan, blob, at, blob.location)


# -- safetensors ---------------------------------------------------------------------------------
def scan_safetensors(scan: FileScan, blob: Blob, kind: Format, head: bytes) -> None:
    source = blob.source()
    prefix = source.read(8)
    (length,) = struct.unpack("<Q", prefix)
    raw = source.read(min(length, safetensors.MAX_HEADER_SIZE))
    from pathlib import Path

    try:
        safetensors.parse_header(raw, blob.size or 0, Path(blob.location or blob.name))
    except safetensors.SafetensorsError as exc:
        scan.add(Finding(RULE_SAFETENSORS, Severity.MEDIUM, exc.problem, blob.location))


# -- wrappers ----------------------------------------------------------------------------------
def scan_compressed(scan: FileScan, blob: Blob, kind: Format, head: bytes) -> None:
    cap = scan.options.max_decompressed
    start = 0
    if kind is Format.UNKNOWN:  # old joblib zfile
        start = joblib.zfile_payload_offset(head) or 0
        kind = Format.ZLIB

    def opener() -> Source:
        raw = blob.source()
        raw.skip(start)
        return compression.decompressed(raw, kind, cap)

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


def unsupported(reason: str) -> Handler:
    def handler(scan: FileScan, blob: Blob, kind: Format, head: bytes) -> None:
        scan.could_not_scan(blob, reason)

    return handler


MAX_JSON = 64 << 20


def scan_json(scan: FileScan, blob: Blob, kind: Format, head: bytes) -> None:
    """JSON runs nothing, except a chat template a server renders (tokenizer_config.json)."""
    if b"chat_template" not in head and not blob.name.endswith("tokenizer_config.json"):
        if blob.size is None or blob.size > len(head):
            if b"chat_template" not in blob.source().read(MAX_JSON):
                return
        else:
            return
    try:
        config = json.loads(blob.source().read(MAX_JSON))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return
    for name, template in templates.chat_templates(config):
        scan.extend(templates.check(template, blob.location, name))


def scan_gguf(scan: FileScan, blob: Blob, kind: Format, head: bytes) -> None:
    """GGUF runs no Python, but its chat templates are rendered by the server."""
    try:
        metadata = gguf.read_metadata(blob.source())
    except gguf.GgufFormatError as exc:
        scan.add(
            Finding(RULE_CONTAINER, Severity.MEDIUM, f"invalid GGUF: {exc.problem}", blob.location)
        )
        scan.could_not_scan(blob, f"GGUF metadata unreadable: {exc.problem}")
        return
    for key, value in metadata.values.items():
        if key.startswith("tokenizer.chat_template") and isinstance(value, str):
            scan.extend(templates.check(value, blob.location, key))


def nothing_to_run(scan: FileScan, blob: Blob, kind: Format, head: bytes) -> None:
    """Formats whose loaders never run Python code."""


def unknown(scan: FileScan, blob: Blob, kind: Format, head: bytes) -> None:
    if joblib.zfile_payload_offset(head) is not None:
        scan_compressed(scan, blob, Format.UNKNOWN, head)
        return
    probe_as_pickle(scan, blob, kind, head)


_HANDLERS: dict[Format, Handler] = {
    Format.PICKLE: scan_raw_pickle,
    Format.TORCH_LEGACY: scan_legacy,
    Format.TORCH_ZIP: scan_zip,
    Format.TORCHSCRIPT: scan_zip,
    Format.NUMPY_ZIP: scan_zip,
    Format.KERAS: scan_zip,
    Format.ZIP: scan_zip,
    Format.TORCH_TAR: scan_tar,
    Format.TAR: scan_tar,
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
    Format.HDF5: unsupported("HDF5 (Keras .h5) files are not inspected for Lambda layers yet"),
    Format.GGUF: scan_gguf,
    Format.ONNX: nothing_to_run,
    Format.TFLITE: nothing_to_run,
    Format.JSON: scan_json,
    Format.EMPTY: nothing_to_run,
    Format.TEXT: probe_as_pickle,
    Format.UNKNOWN: unknown,
}


def handler_for(kind: Format) -> Handler:
    return _HANDLERS.get(kind, unknown)
