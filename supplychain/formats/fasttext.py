"""fastText ``.bin``/``.ftz`` models: an int32 magic and an int32 version, little-endian.

fastText's C++ loader (FastText::checkModel) accepts exactly this magic and
versions up to its own; the rest is arguments, dictionary and matrices, which
run no code.
"""

from __future__ import annotations

import struct

#: FASTTEXT_FILEFORMAT_MAGIC_INT32.
MAGIC = 793712314
#: Versions fastText has written (11 before 0.9, 12 since).
_VERSIONS = range(1, 13)


def is_model(head: bytes) -> bool:
    if len(head) < 8:
        return False
    magic, version = struct.unpack("<ii", head[:8])
    return magic == MAGIC and version in _VERSIONS
