"""Our RFC 3987 IRI checks agree with rfc3987-syntax (the checker jsonschema would use), and
keep jsonschema's slow import out of start-up."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supplychain._internal.iri import is_iri, is_iri_reference

reference = pytest.importorskip("rfc3987_syntax")

# '[' and ']' are left out of generated strings: rfc3987-syntax rejects valid IPv6
# literals (see test_ip_literals), so it cannot be the oracle there.
_ALPHABET = st.sampled_from(
    [*list("abcXYZ0129:/?#@!$&'()*+,;=%-._~ \"<>\\^`{|}"), "é", "漢", "\ue000", "\x7f"]
)


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=_ALPHABET, max_size=24))
def test_agrees_with_rfc3987_syntax(text: str) -> None:
    assert is_iri(text) == reference.is_valid_syntax("iri", text)
    assert is_iri_reference(text) == reference.is_valid_syntax("iri_reference", text)


@pytest.mark.parametrize(
    "text",
    [
        "https://huggingface.co/meta-llama/Llama-3.1-8B",
        "pkg:huggingface/org/name@0123456789abcdef",
        "https://例え.jp/パス?q=値#frag",
        "mailto:security@example.com",
        "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
    ],
)
def test_real_urls(text: str) -> None:
    assert is_iri(text) and is_iri_reference(text)
    assert reference.is_valid_syntax("iri", text)


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("http://[::1]:8080/x", True),
        ("http://[2001:db8::7]/c=GB?objectClass?one", True),
        ("http://[1:2:3:4:5:6:7:8]/", True),
        ("http://[v7.x:y]/", True),
        ("http://[1::2::3]/", False),
        ("http://[::1/", False),
    ],
)
def test_ip_literals(text: str, valid: bool) -> None:
    # RFC 3986 section 3.2.2 (the examples are from RFC 2732 and RFC 3986 itself).
    assert is_iri(text) is valid


def test_relative_references_are_references_only() -> None:
    for text in ("a/b", "../up", "?query", "#frag", "//host/path", ""):
        assert is_iri_reference(text) and not is_iri(text)
    assert not is_iri_reference("http://host/with space")


def test_validating_does_not_import_the_slow_grammar_module() -> None:
    probe = (
        "import sys\n"
        "from supplychain._internal.jsonschemas import validator\n"
        "v = validator({'$schema': 'http://json-schema.org/draft-07/schema#',"
        " 'format': 'iri'}, formats=True)\n"
        "assert not v.is_valid('not an iri'), 'iri format not checked'\n"
        "assert v.is_valid('https://example.com/')\n"
        "print('rfc3987_syntax' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("https://example.com/" + "a/" * 2_500_000, True),
        ("https://example.com/" + "a" * 5_000_000 + " ", False),
        ("a:" * 2_500_000 + " ", False),
        ("http://x?" + "a?" * 2_500_000 + " ", False),
    ],
    ids=["deep-path", "bad-tail", "colons", "query"],
)
def test_megabyte_urls_are_judged_in_linear_time_and_constant_memory(
    text: str, valid: bool
) -> None:
    """A BOM's URLs are attacker input: backtracking kept ~700 MiB of state for 5 MB."""
    import time
    import tracemalloc

    started = time.process_time()
    tracemalloc.start()
    try:
        assert is_iri_reference(text) is valid
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20
    assert time.process_time() - started < 3  # generous: under a second
