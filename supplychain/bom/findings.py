"""Security and integrity findings in the BOM: the scanner's (through a typed seam) and our own.

A scanner hands the BOM builder a :class:`ScanReport`; nothing else of the
scanner is needed. Findings the builder derives itself are facts it checked
while reading the model: a format that runs code on load, an extension that
lies about the content, a cache blob whose name is not its hash, a conversion
record that no longer matches the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from supplychain.bom.model import CardFacts, Conversion, ConversionStatus, Finding, ModelFileFacts
from supplychain.severity import Severity

#: CWE-502 Deserialization of Untrusted Data.
CWE_DESERIALIZATION = 502
#: CWE-829 Inclusion of Functionality from Untrusted Control Sphere.
CWE_UNTRUSTED_CODE = 829
#: CWE-345 Insufficient Verification of Data Authenticity.
CWE_AUTHENTICITY = 345


@dataclass(frozen=True)
class ScanFinding:
    """One finding of a scanner about one file of the model."""

    #: Resource name of the file (POSIX path relative to the model root).
    file: str
    severity: Severity
    rule_id: str
    message: str
    cwe: int | None = None


@dataclass(frozen=True)
class ScanReport:
    """What a scanner found, and what it looked at (so "no findings" means "scanned, clean")."""

    scanner: str
    version: str
    findings: tuple[ScanFinding, ...] = ()
    #: Files the scanner covered; None means every file of the model.
    files: tuple[str, ...] | None = None

    def covers(self, name: str) -> bool:
        return self.files is None or name in self.files


def from_scan(report: ScanReport) -> tuple[Finding, ...]:
    return tuple(
        Finding(f.rule_id, f.severity, f.message, file=f.file, origin="scan", cwe=f.cwe)
        for f in report.findings
    )


def derive_findings(
    files: Sequence[ModelFileFacts],
    card: CardFacts,
    conversions: Iterable[Conversion] = (),
    scan: ScanReport | None = None,
    problems: Iterable[tuple[str | None, str, str]] = (),
) -> tuple[Finding, ...]:
    """Findings the BOM builder can state from what it read.

    ``problems`` are (file, rule id, message) triples the collectors noticed
    (e.g. a corrupt safetensors header).
    """
    found: list[Finding] = []
    for file in files:
        found += _file_findings(file, scan)
    found += _cross_repository_code(card)
    for conversion in conversions:
        found += _conversion_findings(conversion)
    for file_name, rule, message in problems:
        severity = Severity.HIGH if rule.startswith("format.") else Severity.LOW
        found.append(Finding(rule, severity, message, file=file_name))
    return tuple(found)


def _file_findings(file: ModelFileFacts, scan: ScanReport | None) -> list[Finding]:
    found = []
    if file.extension_mismatch:
        found.append(
            Finding(
                "format.extension-mismatch",
                Severity.HIGH,
                f"{file.name} is {file.format.value} by content; its extension claims another "
                "format",
                file=file.name,
                recommendation="treat the file as what its content is; extensions are not evidence",
            )
        )
    if file.can_execute_code and not (scan and scan.covers(file.name)):
        found.append(
            Finding(
                "format.code-execution-capable",
                Severity.MEDIUM,
                f"{file.name} is {file.format.value}: loading it can execute code, and no scan "
                "result for it is included in this BOM",
                file=file.name,
                cwe=CWE_DESERIALIZATION,
                recommendation="scan it with `supplychain scan`, or convert it to safetensors",
            )
        )
    if file.remote_code:
        found.append(
            Finding(
                "code.remote-code",
                Severity.MEDIUM,
                f"{file.name} is Python shipped with the model; trust_remote_code=True would "
                "import "
                "and run it",
                file=file.name,
                cwe=CWE_UNTRUSTED_CODE,
                recommendation="review the code, pin the revision, or load without "
                "trust_remote_code",
            )
        )
    if file.blob_verified is False:
        found.append(
            Finding(
                "integrity.hf-blob-mismatch",
                Severity.CRITICAL,
                f"{file.name} does not hash to its Hugging Face cache blob name {file.hf_blob}: "
                "the cached file was modified or corrupted",
                file=file.name,
                cwe=CWE_AUTHENTICITY,
                recommendation="delete the cache entry and download it again, then compare",
            )
        )
    return found


def _cross_repository_code(card: CardFacts) -> list[Finding]:
    return [
        Finding(
            "code.remote-code-other-repository",
            Severity.HIGH,
            f"config auto_map loads module {module.split('--', 1)[1]!r} from another repository, "
            f"{module.split('--', 1)[0]}, whose code is not part of this model or this BOM",
            cwe=CWE_UNTRUSTED_CODE,
            recommendation="pin and review that repository's code, or vendor it into the model",
        )
        for module in card.auto_map_modules
        if "--" in module
    ]


def _conversion_findings(conversion: Conversion) -> list[Finding]:
    if conversion.status is ConversionStatus.MISMATCH:
        return [
            Finding(
                "provenance.conversion-output-mismatch",
                Severity.HIGH,
                f"{conversion.output_name} no longer has the digest recorded when "
                f"{conversion.tool_name} {conversion.tool_version} wrote it from "
                f"{conversion.source_name}",
                file=conversion.output_name,
                cwe=CWE_AUTHENTICITY,
                recommendation="find out who changed the file after the conversion; convert again",
            )
        ]
    if conversion.status is ConversionStatus.MISSING:
        return [
            Finding(
                "provenance.conversion-output-missing",
                Severity.LOW,
                f"the provenance file records a conversion to {conversion.output_name}, which is "
                "not in the model",
            )
        ]
    return []
