"""NeMo archives and Hydra YAML configs: callables a config asks to import (CVE-2025-23304).

``restore_from`` instantiates every ``_target_`` in ``model_config.yaml``
with Hydra, which imports and calls it: ``_target_: os.system`` runs a
command. Targets are judged against the reviewed ``data/hydra_targets.json``.
The archive's other members (the torch checkpoint) go through the tar reader;
a NeMo tar is only recognised there, once its member names are known.
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterable

from supplychain.formats import nemo, torch
from supplychain.formats.sniff import Format
from supplychain.scanning.blob import Blob
from supplychain.scanning.containers._base import RULE_CONTAINER
from supplychain.scanning.containers._data import reviewed_table
from supplychain.scanning.containers.archives import scan_tar
from supplychain.scanning.results import Finding, Severity
from supplychain.scanning.scanner import FileScan

RULE_HYDRA_TARGET = "hydra.untrusted-target"
YAML_SUFFIXES = (".yaml", ".yml")


def scan_tar_or_nemo(scan: FileScan, blob: Blob, kind: Format, head: bytes) -> None:
    """A tar as the tar reader scans it; one with ``model_config.yaml`` is reported as NeMo."""
    scan_tar(scan, blob, kind, head)
    if not blob.random_access or not blob.size:
        return  # a tar inside a compressed stream: its members were scanned, it stays "tar"
    try:
        members = torch.torch_tar_members(blob.binary(0))  # type: ignore[arg-type]
    except (tarfile.TarError, OSError, ValueError):
        return  # scan_tar has reported the archive as unreadable
    if nemo.is_nemo_tar(members):
        scan.refine(blob, Format.NEMO)
    if _zip_tail_is_a_member(blob, blob.size, members.values()):
        # zipfile opens the archive as its last member (a torch checkpoint, say), which the
        # tar reader has just scanned: the same bytes, not a second view hidden in the file
        scan.zip_tail_is_member.add(blob.location)


def _zip_tail_is_a_member(blob: Blob, size: int, members: Iterable[torch.TarMember]) -> bool:
    start = max(0, size - _ZIP_TAIL)
    at = blob.source().peek_at(start, size - start).rfind(_ZIP_END)
    if at < 0:
        return False
    end_record = start + at
    return any(m.offset <= end_record and end_record + 22 <= m.offset + m.size for m in members)


#: zipfile looks for the end-of-central-directory record in the last 64 KiB + 22 bytes.
_ZIP_TAIL = 65_557
_ZIP_END = b"PK\x05\x06"


def check_yaml_config(scan: FileScan, blob: Blob) -> None:
    """Flag instantiation targets outside the reviewed list in one YAML file."""
    raw = blob.source().read(nemo.MAX_YAML + 1)
    try:
        references = nemo.instantiation_references(nemo.parse_yaml(raw))
    except nemo.NemoConfigError as exc:
        if b"_target_" in raw or blob.name == nemo.CONFIG_MEMBER:
            scan.add(Finding(RULE_CONTAINER, Severity.MEDIUM, f"YAML config: {exc}", blob.location))
            scan.could_not_scan(blob, f"YAML config unreadable: {exc}")
        return  # a YAML-named file that is not YAML and names no target is just text
    except nemo.NemoConfigLimit as exc:
        scan.could_not_scan(blob, f"YAML config not read to its end: {exc}")
        return
    table = reviewed_table("hydra_targets.json")
    for reference in references:
        severity = target_severity(table, reference.target)
        if severity is None:
            continue
        scan.add(
            Finding(
                RULE_HYDRA_TARGET,
                severity,
                f"config key {reference.key} at {reference.path} names {reference.target!r}: "
                "Hydra/NeMo import and call it when the model is restored (CVE-2025-23304); "
                "only reviewed model classes belong there",
                blob.location,
            )
        )


def target_severity(table: dict[str, list[str]], target: str) -> Severity | None:
    """None for a reviewed target, CRITICAL for shell/file/code modules, else HIGH."""
    if target.startswith(tuple(table["trusted_prefixes"])) and ".." not in target:
        return None
    top = target.split(".", 1)[0].split(":", 1)[0]
    return Severity.CRITICAL if top in table["critical_modules"] else Severity.HIGH
