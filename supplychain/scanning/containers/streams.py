"""Pickle streams: raw and stacked pickles, pickles hidden in strings."""

from __future__ import annotations

from collections.abc import Callable

from supplychain.formats import joblib
from supplychain.formats.sniff import Format, starts_like_pickle
from supplychain.picklevm import (
    NO_FRAMES,
    LargeBytes,
    Outcome,
    ParseOptions,
    PickleResult,
    Source,
    parse,
    parse_all_readings,
)
from supplychain.scanning.blob import Blob
from supplychain.scanning.containers._base import (
    MAX_EMBEDDED_DEPTH,
    MAX_STACKED,
    RULE_EMBEDDED,
    RULE_TRAILING,
)
from supplychain.scanning.pickles import analyse
from supplychain.scanning.results import Finding, Severity, worst
from supplychain.scanning.scanner import FileScan


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
        report_result(scan, result, location, probe=probe, depth=depth, blob=blob)
    if joblib_aware and any(joblib.is_wrapper(g) for g in first.globals) and not probe:
        # pickle.load (not joblib.load) would run the inline array bytes as opcodes
        plain = parse(source_at(), ParseOptions(scan.options.limits, frames))  # type: ignore[arg-type]
        report_result(
            scan,
            plain,
            location + " (read by pickle.load)",
            probe=True,
            depth=depth,
            blob=blob,
            identifiers_only=True,
        )
    return first


def report_result(
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
        report_result(scan, nested, f"{location}@{offset}", probe=False, depth=depth + 1, blob=blob)
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
    uncertain_tail = result.error is not None and not result.error.certain and result.tail
    if not result.globals and not result.calls and not uncertain_tail:
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
        if not starts_like_pickle(rest):  # any opcode starts a pickle (PROTO is optional)
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
