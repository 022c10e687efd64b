"""RFC 3987 IRI and IRI-reference syntax, as regular expressions.

JSON Schema's ``iri`` and ``iri-reference`` formats (CycloneDX uses them for
every URL) are checked by jsonschema through ``rfc3987-syntax``, which
compiles ~40 grammars at import and costs over a second of start-up. These
expressions are the RFC 3987 ABNF written out; a test compares their verdicts
with ``rfc3987-syntax`` on generated strings.

Matching is linear in time with constant memory, because a BOM's URLs are
attacker input (the plain ABNF transcription, one alternation per character
with backtracking, took seconds and hundreds of MiB on a 1 MB URL):

- a ``%XX`` escape is valid exactly where the character U+00A0 (a ``ucschar``)
  is, so escapes are checked and replaced by that one character first, and
  every run becomes a single character class;
- ``*( "/" isegment )`` is "empty, or ``/`` followed by segment characters and
  slashes", so paths are single character classes too;
- every run is atomic (a lookahead that captures it, then a backreference:
  Python 3.10 has no possessive quantifiers), so a failure after a long run
  does not retry each shorter one. Atomic is exact here because no run's class
  contains the delimiter that follows it (``/``, ``?``, ``#``, ``@``, ``:`` or
  the end).
"""

from __future__ import annotations

import itertools
import re

_UCSCHAR = (
    "\u00a0-\ud7ff\uf900-\ufdcf\ufdf0-\uffef"
    "\U00010000-\U0001fffd\U00020000-\U0002fffd\U00030000-\U0003fffd\U00040000-\U0004fffd"
    "\U00050000-\U0005fffd\U00060000-\U0006fffd\U00070000-\U0007fffd\U00080000-\U0008fffd"
    "\U00090000-\U0009fffd\U000a0000-\U000afffd\U000b0000-\U000bfffd\U000c0000-\U000cfffd"
    "\U000d0000-\U000dfffd\U000e1000-\U000efffd"
)
_IPRIVATE = "\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd"
_UNRESERVED = r"A-Za-z0-9\-._~"
_SUB_DELIMS = r"!$&'()*+,;="
_PCT = r"%[0-9A-Fa-f]{2}"

_IUNRESERVED = f"{_UNRESERVED}{_UCSCHAR}"  # character-class contents, not a class
_IPCHAR = f"{_IUNRESERVED}{_SUB_DELIMS}:@"


#: What a valid ``%XX`` escape becomes before matching: a ucschar, so it is allowed
#: exactly where an escape is (segments, names, user info, query, fragment).
_ESCAPE_STAND_IN = "\u00a0"
_ESCAPE = re.compile(_PCT)


_group_names = itertools.count()


def _run(chars: str, quantifier: str) -> str:
    """An atomic run of the class ``chars`` (escapes included, as their stand-in).

    Each call names its own group: a name may appear once per expression.
    """
    name = f"run{next(_group_names)}"
    return f"(?=(?P<{name}>[{chars}]{quantifier}))(?P={name})"


_ISEGMENT_NZ_NC = _run(f"{_IUNRESERVED}{_SUB_DELIMS}@", "+")


def _segments() -> str:
    """Segment characters or "/": what follows the first "/" of a path."""
    return _run(f"{_IPCHAR}/", "*")


_DEC_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_IPV4 = rf"{_DEC_OCTET}\.{_DEC_OCTET}\.{_DEC_OCTET}\.{_DEC_OCTET}"
_H16 = r"[0-9A-Fa-f]{1,4}"
_LS32 = rf"(?:{_H16}:{_H16}|{_IPV4})"
_IPV6 = "|".join(
    [
        rf"(?:{_H16}:){{6}}{_LS32}",
        rf"::(?:{_H16}:){{5}}{_LS32}",
        rf"(?:{_H16})?::(?:{_H16}:){{4}}{_LS32}",
        rf"(?:(?:{_H16}:){{0,1}}{_H16})?::(?:{_H16}:){{3}}{_LS32}",
        rf"(?:(?:{_H16}:){{0,2}}{_H16})?::(?:{_H16}:){{2}}{_LS32}",
        rf"(?:(?:{_H16}:){{0,3}}{_H16})?::{_H16}:{_LS32}",
        rf"(?:(?:{_H16}:){{0,4}}{_H16})?::{_LS32}",
        rf"(?:(?:{_H16}:){{0,5}}{_H16})?::{_H16}",
        rf"(?:(?:{_H16}:){{0,6}}{_H16})?::",
    ]
)
_IPVFUTURE = rf"v[0-9A-Fa-f]+\.[{_UNRESERVED}{_SUB_DELIMS}:]+"
_IP_LITERAL = rf"\[(?:{_IPV6}|{_IPVFUTURE})\]"
_IREG_NAME = _run(f"{_IUNRESERVED}{_SUB_DELIMS}", "*")
_IHOST = f"(?:{_IP_LITERAL}|{_IPV4}|{_IREG_NAME})"
_IUSERINFO = _run(f"{_IUNRESERVED}{_SUB_DELIMS}:", "*")
_IAUTHORITY = f"(?:{_IUSERINFO}@)?{_IHOST}(?::[0-9]*)?"

_IPATH_ABSOLUTE = f"/(?:[{_IPCHAR}]{_segments()})?"
_IPATH_NOSCHEME = f"{_ISEGMENT_NZ_NC}(?:/{_segments()})?"
_IPATH_ROOTLESS = f"[{_IPCHAR}]{_segments()}"

_IQUERY = _run(f"{_IPCHAR}{_IPRIVATE}/?", "*")
_IFRAGMENT = _run(f"{_IPCHAR}/?", "*")
_SCHEME = r"[A-Za-z][A-Za-z0-9+\-.]*"

_IHIER_PART = f"(?://{_IAUTHORITY}(?:/{_segments()})?|{_IPATH_ABSOLUTE}|{_IPATH_ROOTLESS}|)"
_IRELATIVE_PART = f"(?://{_IAUTHORITY}(?:/{_segments()})?|{_IPATH_ABSOLUTE}|{_IPATH_NOSCHEME}|)"

IRI = re.compile(f"{_SCHEME}:{_IHIER_PART}(?:\\?{_IQUERY})?(?:#{_IFRAGMENT})?")
IRELATIVE_REF = re.compile(f"{_IRELATIVE_PART}(?:\\?{_IQUERY})?(?:#{_IFRAGMENT})?")


def _escapes_replaced(text: str) -> str | None:
    """``text`` with every ``%XX`` as its stand-in; None if a ``%`` starts no escape."""
    replaced = _ESCAPE.sub(_ESCAPE_STAND_IN, text)
    return None if "%" in replaced else replaced


def is_iri(text: str) -> bool:
    plain = _escapes_replaced(text)
    return plain is not None and IRI.fullmatch(plain) is not None


def is_iri_reference(text: str) -> bool:
    plain = _escapes_replaced(text)
    return plain is not None and (
        IRI.fullmatch(plain) is not None or IRELATIVE_REF.fullmatch(plain) is not None
    )
