"""Untrusted names and text made safe to print on a terminal, quoted the way git quotes paths.

File, member and path names come from the model, the archive or the
signature, so an attacker chooses them. Printed raw, a newline forges extra
output lines (``verified: model matches model.sig``) and an ANSI escape
rewrites the screen. Like git (``core.quotePath``), a name that holds a
control or other non-printable character, a double quote or a backslash is
printed in double quotes with C escapes (``\\n``, ``\\t``, ``\\"``,
``\\\\``, and the UTF-8 bytes of anything else in octal, ``\\033``). Unlike
git's default, printable non-ASCII letters (``é.bin``) stay readable.

JSON and SARIF output keep the raw strings: JSON escapes control
characters itself, and a machine reader needs the exact name.
"""

from __future__ import annotations

import os

_C_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\v": "\\v",
    "\f": "\\f",
    "\r": "\\r",
    '"': '\\"',
    "\\": "\\\\",
}


def quote_name(name: str | os.PathLike[str]) -> str:
    """``name`` as is when it is plain, else double-quoted with C escapes (git style)."""
    text = os.fspath(name)
    if text.isprintable() and '"' not in text and "\\" not in text:
        return text
    return '"' + "".join(_escape(char, quote=True) for char in text) + '"'


def escape_text(text: str) -> str:
    """Free text that may embed untrusted names, with every non-printable character escaped.

    Quotes and backslashes are kept (messages use them); what could move the
    cursor, start a line or colour the terminal never reaches it raw.
    """
    if text.isprintable():
        return text
    return "".join(_escape(char, quote=False) for char in text)


def _escape(char: str, *, quote: bool) -> str:
    if char.isprintable() and not (quote and char in '"\\'):
        return char
    if char in _C_ESCAPES:
        return _C_ESCAPES[char]
    return "".join(f"\\{byte:03o}" for byte in _utf8(char))


def _utf8(char: str) -> bytes:
    # os.fsdecode turns undecodable bytes into lone surrogates; print the original byte.
    try:
        return char.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return char.encode("utf-8", "surrogatepass")
