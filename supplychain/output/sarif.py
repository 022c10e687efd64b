"""SARIF 2.1.0 documents (what GitHub code scanning uploads), shared by every reporting command.

Callers describe rules and results with the small types below; this module
owns the SARIF shape, GitHub's ``security-severity`` convention and the
severity-to-level mapping.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
VERSION = "2.1.0"

#: Our severities -> (SARIF level, GitHub security-severity score).
_LEVELS: dict[str, tuple[str, str]] = {
    "critical": ("error", "9.5"),
    "high": ("error", "8.0"),
    "medium": ("warning", "5.5"),
    "low": ("note", "3.0"),
    "info": ("note", "0.0"),
}


@dataclass(frozen=True)
class SarifRule:
    id: str
    description: str
    help: str = ""
    #: Default severity of the rule (critical/high/medium/low/info).
    severity: str = "high"


@dataclass(frozen=True)
class SarifResult:
    rule_id: str
    severity: str
    message: str
    #: Path of the file, relative to the repository root when possible (forward slashes).
    uri: str
    byte_offset: int | None = None
    #: Extra stable data (e.g. the symbol), kept in ``properties``.
    properties: dict[str, Any] = field(default_factory=dict)


def level(severity: str) -> str:
    return _LEVELS.get(severity, ("warning", "5.0"))[0]


def document(
    *,
    tool: str,
    version: str,
    information_uri: str,
    rules: Iterable[SarifRule],
    results: Iterable[SarifResult],
    notifications: Iterable[str] = (),
    successful: bool = True,
) -> dict[str, Any]:
    """A complete SARIF log with one run."""
    rule_list = list(rules)
    index = {rule.id: i for i, rule in enumerate(rule_list)}
    return {
        "$schema": SCHEMA,
        "version": VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": tool,
                        "version": version,
                        "informationUri": information_uri,
                        "rules": [_rule(rule) for rule in rule_list],
                    }
                },
                "invocations": [
                    {
                        "executionSuccessful": successful,
                        "toolExecutionNotifications": [
                            {"level": "error", "message": {"text": text}} for text in notifications
                        ],
                    }
                ],
                "results": [_result(result, index) for result in results],
            }
        ],
    }


def _rule(rule: SarifRule) -> dict[str, Any]:
    sarif_level, score = _LEVELS.get(rule.severity, ("warning", "5.0"))
    entry: dict[str, Any] = {
        "id": rule.id,
        "name": rule.id.replace(".", "/"),
        "shortDescription": {"text": rule.description},
        "fullDescription": {"text": rule.help or rule.description},
        "defaultConfiguration": {"level": sarif_level},
        "properties": {"security-severity": score, "tags": ["security", "supply-chain"]},
    }
    if rule.help:
        entry["help"] = {"text": rule.help}
    return entry


def _result(result: SarifResult, index: dict[str, int]) -> dict[str, Any]:
    location: dict[str, Any] = {"artifactLocation": {"uri": result.uri}}
    if result.byte_offset is not None:
        location["region"] = {"byteOffset": result.byte_offset}
    entry: dict[str, Any] = {
        "ruleId": result.rule_id,
        "level": level(result.severity),
        "message": {"text": result.message},
        "locations": [{"physicalLocation": location}],
        "properties": {"severity": result.severity, **result.properties},
    }
    if result.rule_id in index:
        entry["ruleIndex"] = index[result.rule_id]
    return entry
