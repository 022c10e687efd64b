"""``scan()``: walk the model, identify each file by content, hand it to its container reader."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from supplychain.errors import InputError
from supplychain.formats.sniff import (
    HEAD_SIZE,
    Format,
    expected_formats,
    is_tar_header,
    sniff_bytes,
)
from supplychain.model.tree import ModelFile, ModelTree, walk_model
from supplychain.picklevm import Limits, Source
from supplychain.picklevm.source import SourceError
from supplychain.scanning.blob import Blob
from supplychain.scanning.policy import Policy, builtin_policy, load_allowlist
from supplychain.scanning.results import FileResult, Finding, ScanReport, Severity, Status

logger = logging.getLogger(__name__)

RULE_EXTENSION = "file.extension-mismatch"
#: Formats whose loaders never run code: a pickle named like one of these is a classic bypass.
_INERT_CLAIMS = frozenset(
    {
        Format.SAFETENSORS,
        Format.NUMPY,
        Format.JSON,
        Format.GGUF,
        Format.ONNX,
        Format.TFLITE,
        Format.TEXT,
    }
)


_TAR_KINDS = frozenset({Format.TAR, Format.TORCH_TAR, Format.NEMO})
_ZIP_KINDS = frozenset(
    {Format.ZIP, Format.TORCH_ZIP, Format.TORCHSCRIPT, Format.NUMPY_ZIP, Format.KERAS}
)


@dataclass(frozen=True)
class ScanOptions:
    """Bounds that keep a scan's time and memory finite on hostile input."""

    limits: Limits = field(default_factory=Limits)
    #: Cap on the bytes all compressed streams and members of one scanned file expand to.
    max_decompressed: int = 4 << 30
    #: Largest forward-only stream copied to memory for a reader that needs to seek (zip in gzip).
    max_spool: int = 512 << 20
    #: How deep containers may nest (zip in gzip in zip...).
    max_depth: int = 6


class FileScan:
    """Collects the findings and "could not scan" reasons of one file."""

    def __init__(self, policy: Policy, options: ScanOptions) -> None:
        self.policy = policy
        self.options = options
        self.findings: list[Finding] = []
        self.incomplete: list[str] = []
        self.pickles = 0
        self.formats: list[Format] = []
        self._keys: set[tuple[str, str | None, str, str]] = set()
        self._refined: dict[str, Format] = {}
        #: Blobs whose trailing zip is one of their own members, already scanned (not a polyglot).
        self.zip_tail_is_member: set[str] = set()

    def add(self, finding: Finding) -> None:
        key = (
            finding.rule,
            finding.symbol,
            finding.location,
            finding.message if finding.symbol is None else "",
        )
        if key not in self._keys:
            self._keys.add(key)
            self.findings.append(finding)

    def extend(self, findings: Iterable[Finding]) -> None:
        for finding in findings:
            self.add(finding)

    def could_not_scan(self, blob: Blob, reason: str) -> None:
        where = f"{blob.location}: " if blob.location else ""
        self.incomplete.append(where + reason)

    def scan_blob(self, blob: Blob) -> None:
        """Identify ``blob`` by content and scan it with its container reader."""
        from supplychain.scanning.containers import handler_for
        from supplychain.scanning.containers.polyglot import scan_pickle_from_start

        if blob.depth > self.options.max_depth:
            self.could_not_scan(blob, f"containers nest deeper than {self.options.max_depth}")
            return
        try:
            head = blob.head(HEAD_SIZE)
        except SourceError as exc:  # a corrupt or capped compressed member, an I/O error
            self.could_not_scan(blob, f"cannot be read: {exc}")
            return
        kind = sniff_bytes(head, blob.size if blob.size is not None else len(head) + 1)
        # whatever the magic says, a loader may unpickle the file from byte 0
        kind = scan_pickle_from_start(self, blob, kind, head)
        index = len(self.formats)
        self.formats.append(kind)
        handler_for(kind)(self, blob, kind, head)
        if kind not in _TAR_KINDS and is_tar_header(head):
            # legacy torch.load tries tarfile on every non-zip file before anything else
            from supplychain.scanning.containers.archives import scan_tar_polyglot

            scan_tar_polyglot(self, blob, kind, head)
        if (
            kind not in _ZIP_KINDS
            and blob.location not in self.zip_tail_is_member
            and self._has_zip_end(blob)
        ):
            # a zip with a prefix (polyglot): zipfile and some loaders read it from the end
            from supplychain.scanning.containers import scan_zip

            scan_zip(self, blob, Format.ZIP, head)
        kind = self._refined.pop(blob.location, kind)
        self.formats[index] = kind
        self._check_extension(blob, kind)

    @staticmethod
    def _has_zip_end(blob: Blob) -> bool:
        if not blob.random_access or not blob.size or blob.size < 22:
            return False
        source = blob.source()
        start = max(0, blob.size - 65_557)
        return b"PK\x05\x06" in source.peek_at(start, blob.size - start)

    def refine(self, blob: Blob, kind: Format) -> None:
        """A container reader learned what the blob is more precisely (a zip is a torch zip)."""
        self._refined[blob.location] = kind

    def _check_extension(self, blob: Blob, kind: Format) -> None:
        expected = expected_formats(blob.name)
        if expected is None or kind in expected:
            return
        claimed = ", ".join(sorted(f.value for f in expected))
        severity = (
            Severity.HIGH if kind.can_execute_code and expected & _INERT_CLAIMS else Severity.MEDIUM
        )
        self.add(
            Finding(
                RULE_EXTENSION,
                severity,
                f"the name says {claimed} but the content is {kind.value}",
                blob.location,
            )
        )


def scan_file(
    path: str | os.PathLike[str],
    *,
    name: str | None = None,
    resource: str = ".",
    policy: Policy | None = None,
    options: ScanOptions | None = None,
) -> FileResult:
    """Scan one file (its content decides how)."""
    file_path = Path(path)
    started = time.perf_counter()
    scan = FileScan(policy or builtin_policy(), options or ScanOptions())
    try:
        handle = open(file_path, "rb")  # noqa: SIM115 - closed below, used by nested openers
    except OSError as exc:
        return FileResult(
            name or file_path.name,
            str(file_path),
            Format.UNKNOWN.value,
            0,
            Status.COULD_NOT_SCAN,
            (),
            f"cannot open: {exc.strerror}",
        )
    with handle:
        size = os.fstat(handle.fileno()).st_size
        blob = Blob("", file_path.name, size, lambda: Source.from_file(handle), True)
        try:
            scan.scan_blob(blob)
        except (OSError, SourceError) as exc:
            scan.incomplete.append(f"read error: {exc}")
        except Exception as exc:
            logger.warning("internal error scanning %s", file_path, exc_info=True)
            scan.incomplete.append(f"internal error while scanning: {type(exc).__name__}: {exc}")
    kind = scan.formats[0].value if scan.formats else Format.UNKNOWN.value
    status = Status.COULD_NOT_SCAN if scan.incomplete else Status.SCANNED
    findings = tuple(
        sorted(scan.findings, key=lambda f: (-f.severity.rank, f.location, f.offset or 0))
    )
    return FileResult(
        name or file_path.name,
        str(file_path),
        kind,
        size,
        status,
        findings,
        "; ".join(scan.incomplete) or None,
        scan.pickles,
        time.perf_counter() - started,
        resource,
    )


def scan(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    allowlist: str | os.PathLike[str] | None = None,
    policy: Policy | None = None,
    fail_on: Severity | str = Severity.HIGH,
    options: ScanOptions | None = None,
    ignore: Iterable[str] = (),
    allow_symlinks: bool = False,
    progress: Callable[[ModelFile], None] | None = None,
) -> ScanReport:
    """Scan files or model directories for content that runs code when loaded.

    Each path is walked with :func:`~supplychain.model.tree.walk_model` (a
    file is a one-file model). Returns a :class:`ScanReport` whose
    ``exit_code`` is 0 (clean), 1 (a finding at or above ``fail_on``) or 3
    (a file could not be scanned). Raises :class:`~supplychain.errors.InputError`
    for a path that does not exist or cannot be walked safely.
    """
    started = time.perf_counter()
    targets = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if not targets:
        raise InputError("nothing to scan", hint="give at least one file or directory")
    if policy is None:
        policy = load_allowlist(allowlist) if allowlist is not None else builtin_policy()
    threshold = Severity(fail_on)
    results: list[FileResult] = []
    for target in targets:
        target_path = Path(target)
        if not target_path.exists() and not target_path.is_symlink():
            raise InputError("no such file or directory", path=target_path, hint="check the path")
        tree = walk_model(
            target_path, ignore=list(ignore), ignore_git_paths=True, allow_symlinks=allow_symlinks
        )
        results.extend(
            scan_tree(
                tree, policy=policy, options=options, progress=progress, label=target_path.name
            )
        )
    return ScanReport(
        tuple(results),
        threshold,
        time.perf_counter() - started,
        tuple(os.fspath(t) for t in targets),
    )


def scan_tree(
    tree: ModelTree,
    *,
    policy: Policy | None = None,
    options: ScanOptions | None = None,
    progress: Callable[[ModelFile], None] | None = None,
    label: str | None = None,
) -> list[FileResult]:
    """Scan every file of an already-walked model (the walk is shared with other checks).

    Result names are ``label/resource`` (``label`` defaults to the model's name).
    """
    prefix = label if label is not None else tree.name
    results = []
    for model_file in tree.files:
        if progress is not None:
            progress(model_file)
        name = prefix if model_file.name == "." else f"{prefix}/{model_file.name}"
        results.append(
            scan_file(
                model_file.path,
                name=name,
                resource=model_file.name,
                policy=policy or builtin_policy(),
                options=options,
            )
        )
    return results
