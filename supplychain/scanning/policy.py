"""The allowlist: how bad it is for a pickle to import or call a given global.

The table lives in ``data/globals.json`` (reviewed data, exact names only);
a user allowlist (JSON, validated against ``schemas/scan-allowlist.schema.json``)
adds the user's own classes. Anything on no list is HIGH: unknown means
dangerous.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

from supplychain.errors import InputError
from supplychain.picklevm import Global
from supplychain.scanning.results import Severity

SCHEMA_NAME = "scan-allowlist.schema.json"

Key = tuple[str, str]


@dataclass(frozen=True)
class Verdict:
    severity: Severity
    reason: str


@dataclass(frozen=True)
class Policy:
    """Exact (module, name) tiers plus the critical module prefixes."""

    info: dict[Key, str] = field(default_factory=dict)
    medium: dict[Key, str] = field(default_factory=dict)
    critical_names: dict[Key, str] = field(default_factory=dict)
    critical_modules: dict[str, str] = field(default_factory=dict)
    #: Prefixes that are not Python packages (TorchScript's ``__torch__``), longest first.
    namespaces: tuple[tuple[str, Verdict], ...] = ()

    def grade(self, node: Global) -> Verdict:
        """The severity of importing ``node`` (a call of it is graded the same way)."""
        if node.module is None or node.name is None:
            return Verdict(
                Severity.CRITICAL, f"name cannot be resolved statically: {node.unresolved}"
            )
        key = (node.module, node.name)
        if key in self.info:
            return Verdict(Severity.INFO, self.info[key])
        if key in self.medium:
            return Verdict(Severity.MEDIUM, self.medium[key])
        critical = self._critical(node.module, node.name)
        if critical is not None:
            return Verdict(Severity.CRITICAL, critical)
        namespace = None if node.dotted else self._namespace(node.module)
        if namespace is not None:
            return namespace
        if node.dotted:
            parts = node.name.split(".")
            if any(p.startswith("__") and p.endswith("__") for p in parts):
                return Verdict(
                    Severity.CRITICAL,
                    "dotted name walks through a dunder attribute (reaches interpreter internals)",
                )
            for index, part in enumerate(parts[:-1]):
                hit = self._critical(part, parts[index + 1]) or self.critical_modules.get(part)
                if hit is not None:
                    return Verdict(Severity.CRITICAL, f"dotted name reaches {part}: {hit}")
            return Verdict(
                Severity.HIGH,
                "dotted attribute walk (protocol 4 find_class) to an "
                "object that is not on the safe list",
            )
        return Verdict(Severity.HIGH, "not on the safe list (unknown means dangerous)")

    def _critical(self, module: str, name: str) -> str | None:
        if (module, name) in self.critical_names:
            return self.critical_names[(module, name)]
        if name.startswith("__") and name.endswith("__"):
            return "dunder attribute (reaches interpreter internals)"
        probe = module
        while probe:
            if probe in self.critical_modules:
                return self.critical_modules[probe]
            probe = probe.rpartition(".")[0]
        return None

    def _namespace(self, module: str) -> Verdict | None:
        for prefix, verdict in self.namespaces:
            if module == prefix or module.startswith(prefix + "."):
                return verdict
        return None

    def extended(self, entries: list[tuple[Key, Severity, str]]) -> Policy:
        info = dict(self.info)
        medium = dict(self.medium)
        for key, severity, reason in entries:
            (info if severity is Severity.INFO else medium)[key] = reason
            if severity is Severity.INFO:
                medium.pop(key, None)
            else:
                info.pop(key, None)
        return Policy(info, medium, self.critical_names, self.critical_modules, self.namespaces)


def split_key(text: str) -> Key:
    """``'mod.sub.Name'`` -> ``('mod.sub', 'Name')``; ``'mod:Outer.Inner'`` keeps a dotted name."""
    if ":" in text:
        module, _, name = text.partition(":")
        return module, name
    module, _, name = text.rpartition(".")
    return module, name


@cache
def builtin_policy() -> Policy:
    """The reviewed table shipped with supplychain."""
    raw = json.loads(
        resources.files("supplychain.scanning")
        .joinpath("data/globals.json")
        .read_text(encoding="utf-8")
    )
    return Policy(
        info={split_key(k): v for k, v in raw["info"].items()},
        medium={split_key(k): v for k, v in raw["medium"].items()},
        critical_names={split_key(k): v for k, v in raw["critical"]["names"].items()},
        critical_modules=dict(raw["critical"]["modules"]),
        namespaces=_namespaces(raw.get("namespaces", {})),
    )


def _namespaces(raw: dict[str, dict[str, str]]) -> tuple[tuple[str, Verdict], ...]:
    """Namespace verdicts, longest prefix first (so the more precise entry wins)."""
    entries = [
        (prefix, Verdict(Severity(entry["severity"]), entry["reason"]))
        for prefix, entry in raw.items()
    ]
    return tuple(sorted(entries, key=lambda item: -len(item[0])))


def load_allowlist(path: str | os.PathLike[str], base: Policy | None = None) -> Policy:
    """The built-in policy extended by the user allowlist at ``path``."""
    from supplychain._internal.jsonschemas import validator  # lazy: only for user allowlists
    from supplychain._internal.schemas import load_schema

    file_path = Path(path)
    try:
        document = json.loads(file_path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read the allowlist: {exc.strerror}", path=file_path) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(
            f"the allowlist is not valid JSON ({exc})",
            path=file_path,
            hint="see schemas/scan-allowlist.schema.json",
        ) from None
    errors = sorted(
        validator(load_schema(SCHEMA_NAME)).iter_errors(document),
        key=lambda e: list(e.absolute_path),
    )
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(document)"
        raise InputError(
            f"the allowlist does not match its schema at {where}: {first.message}",
            path=file_path,
            hint="see schemas/scan-allowlist.schema.json",
        )
    policy = base or builtin_policy()
    entries = []
    for entry in document["globals"]:
        key = split_key(entry["name"])
        if policy._critical(*key) is not None and key not in policy.info:
            raise InputError(
                f"the allowlist lists {entry['name']!r}, a known code-execution gadget",
                path=file_path,
                hint="gadgets cannot be allowlisted; remove the entry",
            )
        entries.append((key, Severity(entry["tier"]), entry.get("reason", "user allowlist")))
    return policy.extended(entries)
