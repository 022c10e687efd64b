"""Chat templates (Jinja) shipped with models: flag template code that reaches Python internals.

Inference servers render these templates; rendered outside a sandbox (as
llama-cpp-python did, CVE-2024-34359) a template such as
``{{ cycler.__init__.__globals__.os.popen('id') }}`` runs commands. Real
chat templates only loop over messages and format strings, so the patterns
below (dunder attributes, the ``attr`` filter, command calls) have no
legitimate use in them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from supplychain.scanning.results import Finding, Severity

RULE_TEMPLATE = "template.code-execution"
RULE_TEMPLATE_INCLUDE = "template.loads-other-files"
#: Names of standalone template files (transformers writes ``chat_template.jinja``).
TEMPLATE_SUFFIXES = (".jinja", ".jinja2", ".j2")
#: Largest standalone template read (real ones are a few kilobytes).
MAX_TEMPLATE = 4 << 20

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"__[A-Za-z_]+__"), "reaches a dunder attribute (Python internals)"),
    (re.compile(r"\|\s*attr\b"), "uses the attr filter (arbitrary attribute access)"),
    (
        re.compile(r"\.\s*(popen|system|spawn\w*|exec\w*|eval|check_output)\s*\("),
        "calls a process or code-execution function",
    ),
    (
        re.compile(r"\b(import_module|__import__|getattr|subprocess|builtins)\b"),
        "names an import or reflection helper",
    ),
)
_INCLUDE = re.compile(r"\{%-?\s*(import|include|extends|from)\b")


def check(template: str, location: str, what: str) -> list[Finding]:
    """Findings for one template string."""
    findings = []
    for pattern, message in _PATTERNS:
        match = pattern.search(template)
        if match:
            findings.append(
                Finding(
                    RULE_TEMPLATE,
                    Severity.HIGH,
                    f"{what} {message}: {_excerpt(template, match.start())!r}",
                    location,
                )
            )
    if _INCLUDE.search(template):
        findings.append(
            Finding(
                RULE_TEMPLATE_INCLUDE,
                Severity.MEDIUM,
                f"{what} imports or includes other templates",
                location,
            )
        )
    return findings


def _excerpt(text: str, at: int) -> str:
    return text[max(0, at - 30) : at + 50]


def chat_templates(config: Any) -> Iterator[tuple[str, str]]:
    """(name, template) pairs of a tokenizer_config.json ``chat_template`` value."""
    value = config.get("chat_template") if isinstance(config, dict) else None
    if isinstance(value, str):
        yield "chat_template", value
    elif isinstance(value, list):
        for entry in value:
            if isinstance(entry, dict) and isinstance(entry.get("template"), str):
                yield f"chat_template[{entry.get('name', '?')}]", entry["template"]
