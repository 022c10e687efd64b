"""What changed between two BOMs of a model: files and hashes, licences, datasets, ancestors,
findings, libraries, identity and openness."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from supplychain.bom.read import BomView, LicenseView
from supplychain.output.names import escape_text, quote_name

T = TypeVar("T")

#: Sections in the order a reviewer reads them.
SECTIONS = (
    "identity",
    "license",
    "openness",
    "file",
    "ancestor",
    "dataset",
    "finding",
    "license-finding",
    "library",
)


@dataclass(frozen=True)
class Change:
    section: str
    #: added, removed or changed.
    kind: str
    subject: str
    old: str | None = None
    new: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "section": self.section,
            "kind": self.kind,
            "subject": self.subject,
            "old": self.old,
            "new": self.new,
        }

    def describe(self) -> str:
        """One line for people; every value comes from a BOM, so it is escaped."""
        subject = quote_name(self.subject) if self.section == "file" else self.subject
        if self.kind == "added":
            line = f"+ {subject}" + (f"  {self.new}" if self.new else "")
        elif self.kind == "removed":
            line = f"- {subject}" + (f"  {self.old}" if self.old else "")
        else:
            line = f"~ {subject}: {self.old} -> {self.new}"
        return escape_text(line)


@dataclass(frozen=True)
class BomDiff:
    old: BomView
    new: BomView
    changes: tuple[Change, ...]

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def section(self, name: str) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.section == name)

    def to_json(self) -> dict[str, Any]:
        return {
            "old": {
                "name": self.old.display_name,
                "version": self.old.model_version,
                "serial_number": self.old.serial_number,
            },
            "new": {
                "name": self.new.display_name,
                "version": self.new.model_version,
                "serial_number": self.new.serial_number,
            },
            "changed": self.changed,
            "changes": [c.to_json() for c in self.changes],
        }


def diff_boms(old: BomView, new: BomView) -> BomDiff:
    changes: list[Change] = []
    changes += _scalars(
        "identity",
        {
            "name": (old.display_name, new.display_name),
            "version": (old.model_version, new.model_version),
            "purl": (old.purl, new.purl),
            "root digest": (old.root_digest, new.root_digest),
            "parameters": (_text(old.parameter_count), _text(new.parameter_count)),
            "signature": (old.signature, new.signature),
        },
    )
    changes += _keyed(
        "license", old.licenses, new.licenses, lambda lic: lic.identifier, _license_text
    )
    changes += _scalars("openness", {"class": (old.openness, new.openness)})
    changes += _keyed(
        "file",
        old.files,
        new.files,
        lambda f: f.name,
        lambda f: f"sha256:{f.sha256} {f.format or ''} {f.size or ''}".strip(),
    )
    changes += _keyed(
        "ancestor",
        old.ancestors,
        new.ancestors,
        lambda a: a.name,
        lambda a: " ".join(x for x in (a.relation, a.version, _licenses_text(a.licenses)) if x),
    )
    changes += _keyed(
        "dataset",
        old.datasets,
        new.datasets,
        lambda d: d.name,
        lambda d: " ".join(
            x for x in (d.version, _licenses_text(d.licenses), "/".join(d.roles)) if x
        ),
    )
    changes += _keyed(
        "finding",
        old.findings,
        new.findings,
        lambda f: f"{f.rule_id} {','.join(f.affects)}",
        lambda f: f"{f.severity}: {f.message}",
    )
    changes += _keyed(
        "license-finding",
        old.license_findings,
        new.license_findings,
        lambda f: f"{f.rule} {f.subject}",
        lambda f: f"{f.severity}: {f.message}",
    )
    changes += _keyed(
        "library",
        old.libraries,
        new.libraries,
        lambda lib: lib.name,
        lambda lib: " ".join(x for x in (lib.version, ", ".join(lib.licenses)) if x),
    )
    return BomDiff(old, new, tuple(changes))


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _license_text(lic: LicenseView) -> str:
    return f"{lic.label} [{lic.license_class or '?'}]"


def _licenses_text(licenses: Iterable[LicenseView]) -> str:
    return ", ".join(_license_text(lic) for lic in licenses)


def _scalars(section: str, pairs: Mapping[str, tuple[str | None, str | None]]) -> list[Change]:
    return [
        Change(section, "changed", name, old, new)
        for name, (old, new) in pairs.items()
        if old != new
    ]


def _keyed(
    section: str,
    old: Iterable[T],
    new: Iterable[T],
    key: Callable[[T], str],
    text: Callable[[T], str],
) -> list[Change]:
    before = {key(item): text(item) for item in old}
    after = {key(item): text(item) for item in new}
    changes = []
    for name in sorted(before.keys() | after.keys()):
        if name not in after:
            changes.append(Change(section, "removed", name, old=before[name]))
        elif name not in before:
            changes.append(Change(section, "added", name, new=after[name]))
        elif before[name] != after[name]:
            changes.append(Change(section, "changed", name, before[name], after[name]))
    return changes


def render_text(diff: BomDiff) -> str:
    if not diff.changed:
        return "no differences\n"
    lines = []
    titles = {
        "identity": "Identity",
        "license": "Licences (licence drift)",
        "openness": "Openness",
        "file": "Files",
        "ancestor": "Lineage",
        "dataset": "Datasets",
        "finding": "Findings",
        "license-finding": "Licence findings",
        "library": "Libraries",
    }
    for section in SECTIONS:
        changes = diff.section(section)
        if changes:
            lines.append(f"{titles[section]}:")
            lines += [f"  {c.describe()}" for c in changes]
    return "\n".join(lines) + "\n"
