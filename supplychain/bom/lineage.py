"""Ancestors (base models) and datasets: what the card declares, refined by the provenance file,
with licences from the best evidence available offline.

Evidence order for a licence: the provenance file, then the card of the base
model or dataset in a local Hugging Face cache, then (for well-known base
models only) the knowledge base's table of repository names. Each resolved
licence records which one it came from.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from supplychain._internal.safeopen import MODEL_METADATA, read_bytes
from supplychain.bom.card import CARD_SOURCE, read_front_matter
from supplychain.bom.hub import cached_repo
from supplychain.bom.model import Ancestor, Dataset
from supplychain.bom.provenance import DeclaredBaseModel, DeclaredDataset
from supplychain.errors import InputError
from supplychain.licenses import LicenseDeclaration, ResolvedLicense, knowledge_base, resolve

CACHED_CARD_SOURCE = "its card in the local Hugging Face cache"
NAME_SOURCE = "inferred from its repository name"
MODEL_INDEX_SOURCE = "README.md model-index"
PROVENANCE_SOURCE = "provenance file"
#: Lineage deeper than this is cut (and cycles never loop).
MAX_DEPTH = 8
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*(/[\w.\-]+)?$")


def resolve_ancestors(
    card_bases: Sequence[str],
    relation: str | None,
    declared: Sequence[DeclaredBaseModel],
    hub_cache: Path | None,
) -> tuple[Ancestor, ...]:
    """The model's base models, each with its own bases when a cached card names them."""
    by_id = {d.repo_id: d for d in declared}
    ids = list(dict.fromkeys([*card_bases, *by_id]))
    ancestors = []
    for repo_id in ids:
        sources = [CARD_SOURCE] if repo_id in card_bases else []
        if repo_id in by_id:
            sources.append(PROVENANCE_SOURCE)
        relation_here = relation if repo_id in card_bases else None
        ancestors.append(
            _ancestor(
                repo_id,
                relation_here,
                by_id.get(repo_id),
                hub_cache,
                ", ".join(sources),
                depth=1,
                seen=frozenset(),
            )
        )
    return tuple(ancestors)


def _ancestor(
    repo_id: str,
    relation: str | None,
    declared: DeclaredBaseModel | None,
    hub_cache: Path | None,
    source: str,
    depth: int,
    seen: frozenset[str],
) -> Ancestor:
    revision = declared.revision if declared else None
    cached = _cached_card(hub_cache, "models", repo_id, revision)
    licenses: tuple[ResolvedLicense, ...] = ()
    if declared is not None and declared.license is not None:
        licenses = (resolve(declared.license),)
    elif cached is not None:
        licenses = _card_licenses(cached, CACHED_CARD_SOURCE)
    if not licenses:
        entry = knowledge_base().base_model_license(repo_id)
        if entry is not None:
            licenses = (
                ResolvedLicense(
                    LicenseDeclaration(entry.key, source=NAME_SOURCE, inferred=True), entry
                ),
            )
    parents: tuple[Ancestor, ...] = ()
    if cached is not None and depth < MAX_DEPTH and repo_id not in seen:
        parent_relation = _text(cached.get("base_model_relation"))
        parents = tuple(
            _ancestor(
                parent,
                parent_relation,
                None,
                hub_cache,
                f"base_model in the cached card of {repo_id}",
                depth + 1,
                seen | {repo_id},
            )
            for parent in _strings(cached.get("base_model"))
            if parent not in seen and parent != repo_id
        )
    return Ancestor(
        repo_id=repo_id,
        relation=(declared.relation if declared and declared.relation else relation),
        revision=revision,
        licenses=licenses,
        source=source,
        ancestors=parents,
        sha256=declared.sha256 if declared else None,
    )


def resolve_datasets(
    card_datasets: Sequence[str],
    eval_datasets: Sequence[tuple[str, str | None]],
    declared: Sequence[DeclaredDataset],
    hub_cache: Path | None,
) -> tuple[Dataset, ...]:
    """Training datasets from the card, evaluation ones from model-index, refined by provenance."""
    order: list[str] = []
    roles: dict[str, list[str]] = {}
    sources: dict[str, list[str]] = {}
    versions: dict[str, str | None] = {}

    def note(name: str, role: str | None, source: str) -> None:
        if name not in roles:
            order.append(name)
            roles[name], sources[name] = [], []
        if role and role not in roles[name]:
            roles[name].append(role)
        if source not in sources[name]:
            sources[name].append(source)

    for name in card_datasets:
        note(name, "training", CARD_SOURCE)
    for name, revision in eval_datasets:
        note(name, "evaluation", MODEL_INDEX_SOURCE)
        versions.setdefault(name, revision)
    by_name = {d.name: d for d in declared}
    for item in declared:
        for role in item.roles or (None,):
            note(item.name, role, PROVENANCE_SOURCE)
    return tuple(
        _dataset(
            name,
            tuple(roles[name]),
            tuple(sources[name]),
            versions.get(name),
            by_name.get(name),
            hub_cache,
        )
        for name in order
    )


def _dataset(
    name: str,
    roles: tuple[str, ...],
    sources: tuple[str, ...],
    version: str | None,
    declared: DeclaredDataset | None,
    hub_cache: Path | None,
) -> Dataset:
    licenses: tuple[ResolvedLicense, ...] = ()
    if declared is not None and declared.license is not None:
        licenses = (resolve(declared.license),)
    else:
        cached = _cached_card(hub_cache, "datasets", name, declared.version if declared else None)
        if cached is not None:
            licenses = _card_licenses(cached, CACHED_CARD_SOURCE)
    url = declared.url if declared and declared.url else hub_dataset_url(name)
    if declared is None:
        return Dataset(
            name=name, roles=roles, version=version, url=url, licenses=licenses, sources=sources
        )
    return Dataset(
        name=name,
        roles=roles,
        version=declared.version or version,
        url=url,
        licenses=licenses,
        collected_from=declared.collected_from,
        collected_to=declared.collected_to,
        hashes=declared.hashes,
        classification=declared.classification,
        sensitive_data=declared.sensitive_data,
        owners=declared.owners,
        custodians=declared.custodians,
        stewards=declared.stewards,
        description=declared.description,
        sources=sources,
    )


def hub_dataset_url(name: str) -> str | None:
    """Card ``datasets`` entries are Hub dataset ids; anything else has no derivable URL."""
    return f"https://huggingface.co/datasets/{name}" if _HUB_ID.match(name) else None


def _cached_card(
    hub_cache: Path | None, kind: str, repo_id: str, revision: str | None
) -> dict[str, Any] | None:
    snapshot = cached_repo(hub_cache, kind, repo_id, revision)
    if snapshot is None:
        return None
    readme = snapshot / "README.md"
    try:  # a cached card is optional evidence: unreadable or special means absent
        data = read_bytes(readme, MODEL_METADATA, what="cached model card")
    except InputError:
        return None
    meta, _ = read_front_matter(data.decode("utf-8", errors="replace"))
    return meta


def _card_licenses(meta: dict[str, Any], source: str) -> tuple[ResolvedLicense, ...]:
    name = _text(meta.get("license_name"))
    link = _text(meta.get("license_link"))
    return tuple(
        resolve(LicenseDeclaration(identifier, name=name, url=link, source=source))
        for identifier in _strings(meta.get("license")) or (("other",) if name else ())
    )


def _text(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _strings(value: object) -> tuple[str, ...]:
    items: Iterable[object] = value if isinstance(value, list) else [value]
    return tuple(dict.fromkeys(t for t in (_text(v) for v in items) if t))
