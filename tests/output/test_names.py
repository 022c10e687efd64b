"""Untrusted names are quoted like git quotes paths; JSON keeps them exact and terminal-safe."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supplychain.output import json_text
from supplychain.output.names import escape_text, quote_name


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("model.safetensors", "model.safetensors"),
        ("sub dir/é.bin", "sub dir/é.bin"),  # printable: left readable (git quotes é)
        ("x\nverified: model matches model.sig", '"x\\nverified: model matches model.sig"'),
        ("\x1b[2Jclear", '"\\033[2Jclear"'),
        ("tab\there\r", '"tab\\there\\r"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("back\\slash", '"back\\\\slash"'),
        ("del\x7f", '"del\\177"'),
        ("csi\x9b", '"csi\\302\\233"'),  # C1 control: its UTF-8 bytes in octal, as git does
        ("\u202egnp.exe", '"\\342\\200\\256gnp.exe"'),  # bidi override
        ("raw\udcff.bin", '"raw\\377.bin"'),  # an undecodable byte from os.fsdecode
    ],
)
def test_names_are_quoted_like_git(name: str, shown: str) -> None:
    assert quote_name(name) == shown


def test_free_text_keeps_quotes_and_escapes_controls() -> None:
    text = 'member "a\nb" calls \x1b]0;owned\x07'
    assert escape_text(text) == 'member "a\\nb" calls \\033]0;owned\\a'


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_quoted_names_are_one_printable_line(name: str) -> None:
    for shown in (quote_name(name), escape_text(name)):
        assert shown.isprintable()


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_json_round_trips_and_holds_no_raw_control(name: str) -> None:
    text = json_text({"name": name})
    assert json.loads(text) == {"name": name}
    controls = [c for c in text if c != "\n" and (ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F)]
    assert controls == []
