"""How the unpickler turns the names in a pickle into the module and attribute it imports."""

from __future__ import annotations

# _compat_pickle is the data table CPython's unpickler itself uses for
# fix_imports; reading it imports nothing from the pickle.
from _compat_pickle import IMPORT_MAPPING, NAME_MAPPING

#: PROTO values CPython accepts.
HIGHEST_PROTOCOL = 5


def map_python2_name(module: str, name: str, protocol: int) -> tuple[str, str]:
    """``fix_imports``: protocol < 3 names are Python-2 spellings (``__builtin__``, ``cPickle``)."""
    if protocol >= 3:
        return module, name
    mapped = NAME_MAPPING.get((module, name))
    if mapped is not None:
        return mapped
    return IMPORT_MAPPING.get(module, module), name


def is_dotted_walk(name: str, protocol: int) -> bool:
    """Protocol >= 4 ``find_class`` resolves ``a.b.c`` by walking attributes from the module."""
    return protocol >= 4 and "." in name


def looks_like_pickle(head: bytes) -> bool:
    """Whether bytes plausibly start a pickle (used to find pickles hidden inside data)."""
    if len(head) >= 2 and head[0] == 0x80 and head[1] <= HIGHEST_PROTOCOL:
        return True
    # Protocol 0/1: a GLOBAL/INST line naming a module, or a MARK before one.
    text = head[1:] if head[:1] == b"(" else head
    if text[:1] in (b"c", b"i"):
        line = text[1:].split(b"\n", 1)[0]
        return (
            bool(line)
            and all(48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122 or c in b"._" for c in line)
            and b"\n" in text[1:]
        )
    return False
