"""Scan model files for content that runs code when loaded, without running any of it.

``scan(paths)`` returns a :class:`ScanReport` of :class:`FileResult` entries
(format, status, findings); ``could-not-scan`` is its own status and never
counts as clean.
"""

from __future__ import annotations

from supplychain.scanning.policy import Policy, builtin_policy, load_allowlist
from supplychain.scanning.results import (
    EXIT_COULD_NOT_SCAN,
    FileResult,
    Finding,
    ScanReport,
    Severity,
    Status,
)
from supplychain.scanning.scanner import ScanOptions, scan, scan_file, scan_tree

__all__ = [
    "EXIT_COULD_NOT_SCAN",
    "FileResult",
    "Finding",
    "Policy",
    "ScanOptions",
    "ScanReport",
    "Severity",
    "Status",
    "builtin_policy",
    "load_allowlist",
    "scan",
    "scan_file",
    "scan_tree",
]
