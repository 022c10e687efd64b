"""Policy files: valid ones load typed; every bad one is rejected with its path, line and reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supplychain.errors import SupplychainError
from supplychain.policy import PolicyError, load_policy, parse_policy

EXAMPLES = Path(__file__).resolve().parents[2] / "supplychain" / "policy" / "examples"


def rejected(text: str) -> str:
    with pytest.raises(PolicyError) as info:
        parse_policy(text)
    return info.value.diagnostics()


def test_shipped_examples_are_valid(tmp_path: Path) -> None:
    (tmp_path / "release.pub").write_text("placeholder")
    (tmp_path / "strict.yaml").write_text((EXAMPLES / "strict.yaml").read_text())
    strict = load_policy(tmp_path / "strict.yaml")
    assert strict.signature is not None and strict.signature.signers[0].kind == "public-key"
    assert strict.formats is not None and strict.formats.allow_pickle is False
    research = load_policy(EXAMPLES / "research.yaml")
    assert research.signature is None and research.use == "research"
    assert research.remote_code is not None and research.remote_code.allowed


def test_init_template_documents_every_section() -> None:
    text = (EXAMPLES / "init.yaml").read_text()
    for section in (
        "signature:",
        "scan:",
        "formats:",
        "licenses:",
        "bom:",
        "remote_code:",
        "hf_cache:",
    ):
        assert section in text


def test_relative_files_resolve_against_the_policy(tmp_path: Path) -> None:
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "a.pub").write_text("k")
    (tmp_path / "p.yaml").write_text(
        "version: 1\nsignature:\n  signers:\n    - public_key: keys/a.pub\n"
    )
    policy = load_policy(tmp_path / "p.yaml")
    assert policy.signature is not None
    assert policy.signature.signers[0].public_key == tmp_path / "keys" / "a.pub"


def test_missing_referenced_file_names_the_field(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(
        "version: 1\nsignature:\n  signers:\n    - public_key: gone.pub\n"
    )
    with pytest.raises(PolicyError, match=r"signature\.signers\[0\]\.public_key: file 'gone.pub'"):
        load_policy(tmp_path / "p.yaml")


def test_schema_violation_gives_path_line_and_reason() -> None:
    text = (
        "version: 1\nsignature:\n  signers:\n    - sigstore:\n"
        "        identity: me\n        issuer: http://x\n"
    )
    message = rejected(text)
    assert "line 6" in message and "signature.signers[0].sigstore.issuer" in message
    assert "'^https://'" in message


def test_unknown_field_lists_the_allowed_ones() -> None:
    message = rejected("version: 1\nscan:\n  fail_on: high\n  fial_on: low\n")
    assert (
        "scan: unknown field(s) 'fial_on'" in message
        and "allowed: allowlist, fail_on, required" in message
    )


def test_wrong_enum_value() -> None:
    assert "'severe' is not one of" in rejected("version: 1\nscan: {fail_on: severe}\n")


def test_two_signer_kinds_in_one_entry() -> None:
    text = "version: 1\nsignature:\n  signers:\n    - {public_key: a, certificate_roots: [b]}\n"
    assert "give exactly one of certificate_roots, public_key, sigstore" in rejected(text)


def test_version_is_required_and_checked() -> None:
    assert "'version' is a required property" in rejected("use: research\n")
    assert "version: must be 1, got 2" in rejected("version: 2\n")


def test_duplicate_keys_and_aliases_are_refused() -> None:
    assert "duplicate key 'use'" in rejected("version: 1\nuse: research\nuse: commercial\n")
    assert "aliases" in rejected("version: 1\nname: &n x\nuse: *n\n")


def test_json_policy_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "p.json").write_text('{"version": 1, "remote_code": {"allowed": false}}')
    policy = load_policy(tmp_path / "p.json")
    assert policy.remote_code is not None and policy.remote_code.allowed is False


def test_syntax_errors_and_empty_files() -> None:
    assert "invalid YAML: line 3" in rejected("version: 1\nscan: [\n")
    assert "policy is empty" in rejected("")
    assert "is not of type 'object'" in rejected("- 1\n")


def test_missing_file_hints_at_init(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as info:
        load_policy(tmp_path / "nope.yaml")
    assert "supplychain policy init" in info.value.diagnostics()


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_is_either_a_policy_or_a_clear_error(text: str) -> None:
    try:
        parse_policy(text)
    except SupplychainError as exc:
        assert exc.diagnostics()


_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=12,
)
_SECTIONS = st.sampled_from(
    [
        "signature",
        "scan",
        "formats",
        "licenses",
        "bom",
        "remote_code",
        "hf_cache",
        "use",
        "name",
        "version",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_SECTIONS, _VALUES, max_size=6))
def test_mutated_policies_never_crash(document: dict[str, object]) -> None:
    import json

    try:
        parse_policy(json.dumps({"version": 1, **document}))
    except SupplychainError as exc:
        assert exc.diagnostics()


def test_schema_enums_match_the_code() -> None:
    """The policy vocabulary is the licence and format vocabulary of the code itself."""
    import json

    from supplychain.formats.sniff import Format
    from supplychain.licenses import LicenseClass, OpennessClass

    schema = json.loads(
        (Path(__file__).resolve().parents[2] / "schemas" / "policy.schema.json").read_text()
    )
    defs = schema["$defs"]
    assert set(defs["licenseClass"]["enum"]) == {c.value for c in LicenseClass}
    assert set(defs["openness"]["enum"]) == {c.value for c in OpennessClass}
    assert set(defs["format"]["enum"]) <= {f.value for f in Format}
