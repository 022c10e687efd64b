"""The reviewed licence knowledge base: valid data, lookups, resolution of card declarations."""

from __future__ import annotations

from typing import Any

import pytest
from cyclonedx.spdx import is_supported_id

from supplychain.licenses import (
    LicenseClass,
    LicenseDeclaration,
    Permission,
    knowledge_base,
    license_ref,
    resolve,
)
from supplychain.licenses.knowledge import KnowledgeBaseError, parse_knowledge_base


def test_every_entry_is_complete_and_uses_real_spdx_ids() -> None:
    kb = knowledge_base()

    assert len(kb.entries) >= 60
    for entry in kb.entries:
        assert entry.spdx or entry.ref, entry.key
        if entry.spdx:
            assert is_supported_id(entry.spdx), entry.spdx
        else:
            assert entry.ref is not None and entry.ref.startswith("LicenseRef-"), entry.key
        assert entry.license_class is not LicenseClass.UNKNOWN or entry.key == "unknown"
        if entry.license_class.noncommercial:
            assert entry.commercial_use is Permission.NO, entry.key
        if entry.osi_approved:
            assert entry.license_class in (LicenseClass.PERMISSIVE, LicenseClass.COPYLEFT)


@pytest.mark.parametrize(
    ("spelling", "key"),
    [
        ("apache-2.0", "apache-2.0"),
        ("Apache-2.0", "apache-2.0"),
        ("APACHE 2.0", "apache-2.0"),
        ("CC-BY-NC-4.0", "cc-by-nc-4.0"),
        ("LicenseRef-scancode-llama-2-license-2023", "llama2"),
        ("qwen", "tongyi-qianwen"),
        ("gpl-3.0", "gpl-3.0"),
        ("GPL-3.0-only", "gpl-3.0"),
    ],
)
def test_lookup_by_hub_id_spdx_id_ref_or_alias(spelling: str, key: str) -> None:
    entry = knowledge_base().lookup(spelling)
    assert entry is not None and entry.key == key


def test_other_with_a_known_licence_name_resolves_to_it() -> None:
    resolved = resolve(LicenseDeclaration("other", name="llama3", url="https://example.com/l"))

    assert resolved.known
    assert resolved.license_class is LicenseClass.VENDOR_COMMUNITY
    assert resolved.url == "https://example.com/l"  # the publisher's link wins over ours
    assert resolved.identifier == "LicenseRef-hf-llama3"


def test_other_with_an_unknown_name_keeps_name_link_and_a_licence_ref() -> None:
    resolved = resolve(LicenseDeclaration("other", name="Acme Model Licence v2", url="LICENSE"))

    assert not resolved.known
    assert resolved.license_class is LicenseClass.UNKNOWN
    assert resolved.commercial_use is Permission.UNKNOWN
    assert resolved.name == "Acme Model Licence v2"
    assert resolved.identifier == "LicenseRef-hf-acme-model-licence-v2"


def test_spdx_licence_outside_the_knowledge_base_keeps_its_id() -> None:
    resolved = resolve(LicenseDeclaration("epl-1.0"))

    assert resolved.spdx == "EPL-1.0"
    assert resolved.license_class is LicenseClass.UNKNOWN


def test_licence_refs_are_valid_spdx_idstrings() -> None:
    assert license_ref("  Weird / licence: v1.0! ") == "LicenseRef-hf-weird-licence-v1.0"
    assert license_ref("***") == "LicenseRef-hf-unnamed"


def test_known_base_models_by_repository_name() -> None:
    kb = knowledge_base()

    assert kb.base_model_license("meta-llama/Llama-3.1-8B-Instruct").key == "llama3.1"  # type: ignore[union-attr]
    assert kb.base_model_license("google/gemma-2-9b").key == "gemma"  # type: ignore[union-attr]
    assert kb.base_model_license("someone/Meta-Llama-3-8B") is None


def entry(**fields: Any) -> dict[str, Any]:
    base = {
        "key": "x",
        "name": "X",
        "class": "permissive",
        "osi_approved": True,
        "commercial_use": "yes",
        "redistribution": "yes",
        "spdx": "MIT",
    }
    return {**base, **fields}


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({"licenses": [entry(), entry()]}, "duplicate licence keys: x"),
        ({"licenses": [entry(**{"class": "free-ish"})]}, "licence 'x': bad or missing field"),
        (
            {"licenses": [entry()], "base_models": [{"pattern": "a/*", "license": "nope"}]},
            "bad base_models entry",
        ),
        ({"license": []}, "needs a 'licenses' list"),
    ],
)
def test_a_malformed_knowledge_base_is_refused(document: dict[str, Any], problem: str) -> None:
    with pytest.raises(KnowledgeBaseError, match=problem):
        parse_knowledge_base(document)
