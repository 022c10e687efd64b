"""Turn a declared licence (``license``, ``license_name``, ``license_link``) into known terms."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from supplychain.licenses.knowledge import (
    KnowledgeBase,
    LicenseClass,
    LicenseEntry,
    Permission,
    knowledge_base,
)

#: Hugging Face identifiers that say "read the licence yourself" rather than name one.
OTHER = "other"

_NOT_REF_CHARS = re.compile(r"[^A-Za-z0-9.]+")


@dataclass(frozen=True)
class LicenseDeclaration:
    """What a source says about a licence, verbatim."""

    #: The identifier as declared (``apache-2.0``, ``Apache-2.0``, ``other``, ``LicenseRef-x``).
    identifier: str | None
    #: Hugging Face ``license_name`` (with ``other``) or a licence title.
    name: str | None = None
    #: Hugging Face ``license_link`` or any URL of the text.
    url: str | None = None
    #: Where the declaration was read, e.g. ``README.md front matter``.
    source: str = ""
    #: Concluded by us (e.g. from a well-known repository name) rather than declared by anyone.
    inferred: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "identifier": self.identifier,
            "name": self.name,
            "url": self.url,
            "source": self.source,
            "inferred": self.inferred,
        }


@dataclass(frozen=True)
class ResolvedLicense:
    """A declaration matched against the knowledge base (``entry`` is None when unknown)."""

    declared: LicenseDeclaration
    entry: LicenseEntry | None
    #: A valid SPDX id for licences outside the knowledge base but on the SPDX list.
    spdx_id: str | None = None

    @property
    def known(self) -> bool:
        return self.entry is not None

    @property
    def key(self) -> str:
        """A stable comparison key: the knowledge base key, else the SPDX id or ref."""
        if self.entry is not None:
            return self.entry.key
        return (self.spdx_id or self.identifier).lower()

    @property
    def identifier(self) -> str:
        """SPDX id when one exists, else a LicenseRef."""
        if self.entry is not None:
            return self.entry.identifier
        if self.spdx_id:
            return self.spdx_id
        return license_ref(self.declared.name or self.declared.identifier or "unnamed")

    @property
    def spdx(self) -> str | None:
        return self.entry.spdx if self.entry is not None else self.spdx_id

    @property
    def name(self) -> str:
        if self.entry is not None:
            return self.entry.name
        return self.declared.name or self.spdx_id or self.declared.identifier or "unnamed licence"

    @property
    def url(self) -> str | None:
        # The link the publisher gave wins: community licences change between versions.
        return self.declared.url or (self.entry.url if self.entry else None)

    @property
    def license_class(self) -> LicenseClass:
        return self.entry.license_class if self.entry is not None else LicenseClass.UNKNOWN

    @property
    def commercial_use(self) -> Permission:
        return self.entry.commercial_use if self.entry is not None else Permission.UNKNOWN

    @property
    def osi_approved(self) -> bool:
        return self.entry is not None and self.entry.osi_approved

    @property
    def restrictions(self) -> tuple[str, ...]:
        return self.entry.restrictions if self.entry is not None else ()

    @property
    def label(self) -> str:
        """Short human form: ``Apache-2.0`` or ``Llama 3 Community License (llama3)``."""
        if self.spdx:
            return self.spdx
        if self.entry is not None:
            return f"{self.entry.name} ({self.entry.key})"
        return self.name

    def to_json(self) -> dict[str, Any]:
        return {
            "identifier": self.identifier,
            "name": self.name,
            "url": self.url,
            "class": self.license_class.value,
            "commercial_use": self.commercial_use.value,
            "redistribution": self.entry.redistribution.value if self.entry else "unknown",
            "restrictions": list(self.restrictions),
            "osi_approved": self.osi_approved,
            "declared": self.declared.to_json(),
        }


def license_ref(text: str) -> str:
    """``LicenseRef-hf-<slug>``: a valid SPDX LicenseRef for a licence with no id."""
    slug = _NOT_REF_CHARS.sub("-", text.strip()).strip("-").lower() or "unnamed"
    return f"LicenseRef-hf-{slug}"


def resolve(declaration: LicenseDeclaration, kb: KnowledgeBase | None = None) -> ResolvedLicense:
    """Match ``declaration`` against the knowledge base and the SPDX list."""
    kb = kb or knowledge_base()
    identifier = (declaration.identifier or "").strip()
    if not identifier or identifier.lower() == OTHER:
        # ``other`` + ``license_name``: the name may be a licence we know (e.g. llama3).
        entry = kb.lookup(declaration.name) if declaration.name else None
        return ResolvedLicense(declaration, entry)
    entry = kb.lookup(identifier)
    if entry is not None:
        return ResolvedLicense(declaration, entry)
    return ResolvedLicense(declaration, None, spdx_id=_spdx_id(identifier))


def _spdx_id(identifier: str) -> str | None:
    from cyclonedx.spdx import fixup_id

    return fixup_id(identifier)
