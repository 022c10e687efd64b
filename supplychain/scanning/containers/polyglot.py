"""Files a loader would unpickle from byte 0, whatever their magic number or extension says.

``pickle.load`` needs no PROTO opcode, and ``torch.load`` unpickles any file
that does not start with a zip header. So every file whose first byte is an
opcode is run through the pickle machine (bounded): if a loader would raise
before importing or calling anything, the file is what its magic says; if not,
it is analysed as a pickle too (a polyglot), or identified as one.
"""

from __future__ import annotations

import enum

from supplychain.formats.sniff import Format, PickleProbe, probe_pickle, starts_like_pickle
from supplychain.picklevm import Limits, Outcome, PickleResult, Source
from supplychain.scanning.blob import Blob
from supplychain.scanning.containers._base import MAX_STACKED
from supplychain.scanning.containers.streams import scan_raw_pickle
from supplychain.scanning.pickles import analyse
from supplychain.scanning.results import Finding, Severity
from supplychain.scanning.scanner import FileScan

RULE_LOADS_AS_PICKLE = "file.loads-as-pickle"

#: Formats whose reader already parses the file as a pickle from byte 0.
_READ_AS_PICKLE = frozenset({Format.PICKLE, Format.TORCH_LEGACY})
#: Identities a pickle may replace (no magic number claims these files).
_UNCLAIMED = frozenset({Format.UNKNOWN, Format.TEXT, Format.MLFLOW})


class Verdict(enum.Enum):
    """What unpickling the file from byte 0 does."""

    #: Raises before importing or calling anything.
    NOTHING = "nothing"
    #: Loads completely (all of it, as stacked pickles) and imports nothing.
    DATA = "data"
    #: Text that imports a name and then raises, calling nothing.
    IMPORTS = "imports"
    #: Calls something, imports something in binary content, or is too long to decide.
    CODE = "code"


def scan_pickle_from_start(scan: FileScan, blob: Blob, kind: Format, head: bytes) -> Format:
    """Analyse ``blob`` as the pickle a loader reads from byte 0; returns the kind to read it as.

    An unknown or text file that is a pickle becomes :attr:`Format.PICKLE` (the
    pickle reader then scans it); a file of another format that is also a
    pickle keeps its identity, gets a ``file.loads-as-pickle`` finding and a
    full pickle analysis.
    """
    if kind in _READ_AS_PICKLE or not starts_like_pickle(head):
        return kind
    verdict, first = _probe(blob, head, scan.options.limits, text=kind is Format.TEXT)
    if kind in _UNCLAIMED and verdict in (Verdict.DATA, Verdict.CODE):
        return Format.PICKLE
    if verdict is Verdict.IMPORTS:
        _report_text_imports(scan, blob, kind, first)
    elif verdict is Verdict.CODE:
        _report_polyglot(scan, blob, kind, "is also a pickle that pickle.load would run")
        scan_raw_pickle(scan, blob, Format.PICKLE, head)
    return kind


def _probe(blob: Blob, head: bytes, limits: Limits, *, text: bool) -> tuple[Verdict, PickleResult]:
    """The verdict, and the first stream's parse (what a single ``pickle.load`` reads)."""
    in_head = probe_pickle(head)
    whole_in_head = blob.size is not None and len(head) >= blob.size
    settled = whole_in_head or not in_head.depends_past(len(head))
    if in_head.outcome is Outcome.ERROR and not in_head.reaches_code and settled:
        # the same bytes raise the same way in the whole file
        return Verdict.NOTHING, in_head.result
    probe = in_head if whole_in_head else _probe_at(blob, 0, limits)
    first, offset = probe.result, 0
    for _ in range(MAX_STACKED):
        verdict = _verdict(probe, text)
        if verdict is not Verdict.DATA:
            return verdict, first
        # pickle.load returned; a loader may call it again on the rest (stacked pickles)
        offset = probe.result.next_offset  # the source was skipped to offset: absolute
        rest = b"" if blob.size is not None and offset >= blob.size else _at(blob, offset).read(1)
        if not rest:
            return Verdict.DATA, first
        if not starts_like_pickle(rest):
            return Verdict.NOTHING, first  # a harmless data pickle, then something else
        probe = _probe_at(blob, offset, limits)
    return Verdict.CODE, first  # more stacked pickles than we probe: the pickle reader decides


def _probe_at(blob: Blob, offset: int, limits: Limits) -> PickleProbe:
    probe = probe_pickle(_at(blob, offset))
    if probe.outcome is Outcome.LIMIT and not probe.reaches_code:
        # long runs of opcodes are mostly text read as FLOAT/INT lines the machine lets
        # through; read on to where a loader raises, within the scan's own limits
        probe = probe_pickle(_at(blob, offset), limits)
    return probe


def _verdict(probe: PickleProbe, text: bool) -> Verdict:
    frames = any(a.kind.startswith("frame") for a in probe.result.anomalies)
    if probe.outcome is Outcome.LIMIT or frames:
        return Verdict.CODE
    if probe.reaches_code:
        if probe.calls or probe.complete or not text:
            return Verdict.CODE
        return Verdict.IMPORTS
    return Verdict.DATA if probe.complete else Verdict.NOTHING


def _at(blob: Blob, offset: int) -> Source:
    source = blob.source()
    source.skip(offset)
    return source


def _report_text_imports(scan: FileScan, blob: Blob, kind: Format, result: PickleResult) -> None:
    # Text whose first lines read as a GLOBAL (a requirements file: "click\nnumpy") makes
    # pickle.load import a module and fail; only a dangerous import is worth reporting.
    analysis = analyse(result, scan.policy, blob.location, probe=True)
    if not analysis.findings:
        return
    scan.pickles += 1
    _report_polyglot(scan, blob, kind, "is also a pickle that imports a dangerous name on load")
    scan.extend(analysis.findings)


def _report_polyglot(scan: FileScan, blob: Blob, kind: Format, what: str) -> None:
    scan.add(
        Finding(
            RULE_LOADS_AS_PICKLE,
            Severity.HIGH,
            f"the {kind.value} content {what} (it starts with a pickle opcode)",
            blob.location,
            0,
        )
    )
