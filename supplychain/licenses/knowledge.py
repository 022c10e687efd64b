"""The reviewed licence knowledge base: typed entries loaded once from ``data/licenses.yaml``."""

from __future__ import annotations

import enum
import fnmatch
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from supplychain.errors import SupplychainError

DATA_FILE = Path(__file__).with_name("data") / "licenses.yaml"


class LicenseClass(str, enum.Enum):
    """How much a licence lets a downstream user do, from most to least."""

    PERMISSIVE = "permissive"
    COPYLEFT = "copyleft"
    RAIL = "rail"
    VENDOR_COMMUNITY = "vendor-community"
    NO_DERIVATIVES = "no-derivatives"
    NON_COMMERCIAL = "non-commercial"
    RESEARCH_ONLY = "research-only"
    #: A licence is named but we do not know its terms (``other``, ``unknown``, unlisted).
    UNKNOWN = "unknown"

    @property
    def restrictiveness(self) -> int | None:
        """Order used by inheritance checks; ``None`` when the terms are unknown."""
        return _RESTRICTIVENESS.get(self)

    @property
    def use_restricted(self) -> bool:
        """Terms that restrict how or by whom the model may be used."""
        return self in (LicenseClass.RAIL, LicenseClass.VENDOR_COMMUNITY)

    @property
    def noncommercial(self) -> bool:
        return self in (LicenseClass.NON_COMMERCIAL, LicenseClass.RESEARCH_ONLY)


_RESTRICTIVENESS = {
    LicenseClass.PERMISSIVE: 0,
    LicenseClass.COPYLEFT: 1,
    LicenseClass.RAIL: 2,
    LicenseClass.VENDOR_COMMUNITY: 2,
    LicenseClass.NO_DERIVATIVES: 3,
    LicenseClass.NON_COMMERCIAL: 3,
    LicenseClass.RESEARCH_ONLY: 4,
}


class Permission(str, enum.Enum):
    YES = "yes"
    CONDITIONAL = "conditional"
    NO = "no"
    UNKNOWN = "unknown"


class Redistribution(str, enum.Enum):
    YES = "yes"
    SHARE_ALIKE = "share-alike"
    NO_DERIVATIVES = "no-derivatives"
    NON_COMMERCIAL = "non-commercial"
    LIMITED = "limited"
    UNKNOWN = "unknown"


class KnowledgeBaseError(SupplychainError):
    """The licence knowledge base file is malformed (a packaging bug, not user input)."""


@dataclass(frozen=True)
class LicenseEntry:
    """One reviewed licence."""

    key: str
    name: str
    license_class: LicenseClass
    osi_approved: bool
    commercial_use: Permission
    redistribution: Redistribution
    restrictions: tuple[str, ...] = ()
    spdx: str | None = None
    ref: str | None = None
    url: str | None = None
    aliases: tuple[str, ...] = ()

    @property
    def identifier(self) -> str:
        """The SPDX id, or the LicenseRef for licences the SPDX list lacks."""
        return self.spdx or self.ref or f"LicenseRef-hf-{self.key}"


@dataclass(frozen=True)
class KnowledgeBase:
    entries: tuple[LicenseEntry, ...]
    #: (fnmatch pattern, licence key) for base models known by name.
    base_models: tuple[tuple[str, str], ...]

    @functools.cached_property
    def _index(self) -> Mapping[str, LicenseEntry]:
        index: dict[str, LicenseEntry] = {}
        for entry in self.entries:
            for spelling in (entry.key, entry.spdx, entry.ref, *entry.aliases):
                if spelling:
                    index.setdefault(spelling.lower(), entry)
        return index

    def lookup(self, identifier: str) -> LicenseEntry | None:
        """The entry for a Hugging Face id, SPDX id, LicenseRef or alias (any case)."""
        return self._index.get(identifier.strip().lower())

    def base_model_license(self, repo_id: str) -> LicenseEntry | None:
        """The licence of a well-known base model, from its repository id alone."""
        for pattern, key in self.base_models:
            if fnmatch.fnmatchcase(repo_id, pattern):
                return self.lookup(key)
        return None


@functools.lru_cache(maxsize=1)
def knowledge_base() -> KnowledgeBase:
    """The packaged knowledge base (parsed once per process)."""
    from supplychain._internal.yamlsafe import YAMLError, load_yaml

    try:
        document = load_yaml(DATA_FILE.read_text(encoding="utf-8"))
    except (OSError, YAMLError) as exc:
        raise KnowledgeBaseError(
            f"cannot load the licence knowledge base: {exc}", path=DATA_FILE
        ) from None
    return parse_knowledge_base(document)


def parse_knowledge_base(document: Any) -> KnowledgeBase:
    """Build a :class:`KnowledgeBase` from the YAML document, checking every field."""
    if not isinstance(document, dict) or not isinstance(document.get("licenses"), list):
        raise KnowledgeBaseError("the knowledge base needs a 'licenses' list", path=DATA_FILE)
    entries = tuple(_entry(raw) for raw in document["licenses"])
    keys = [e.key for e in entries]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise KnowledgeBaseError(f"duplicate licence keys: {', '.join(duplicates)}", path=DATA_FILE)
    known = set(keys)
    base_models = []
    for raw in document.get("base_models") or []:
        if not isinstance(raw, dict) or raw.get("license") not in known or not raw.get("pattern"):
            raise KnowledgeBaseError(f"bad base_models entry {raw!r}", path=DATA_FILE)
        base_models.append((str(raw["pattern"]), str(raw["license"])))
    return KnowledgeBase(entries, tuple(base_models))


def _entry(raw: Any) -> LicenseEntry:
    if not isinstance(raw, dict) or not raw.get("key") or not raw.get("name"):
        raise KnowledgeBaseError(f"licence entry without key or name: {raw!r}", path=DATA_FILE)
    key = str(raw["key"])
    try:
        return LicenseEntry(
            key=key,
            name=str(raw["name"]),
            license_class=LicenseClass(raw["class"]),
            osi_approved=bool(raw["osi_approved"]),
            commercial_use=Permission(raw["commercial_use"]),
            redistribution=Redistribution(raw["redistribution"]),
            restrictions=tuple(str(r) for r in raw.get("restrictions") or ()),
            spdx=raw.get("spdx") or None,
            ref=raw.get("ref") or None,
            url=raw.get("url") or None,
            aliases=tuple(str(a) for a in raw.get("aliases") or ()),
        )
    except (KeyError, ValueError) as exc:
        raise KnowledgeBaseError(
            f"licence {key!r}: bad or missing field {exc}", path=DATA_FILE
        ) from None
