"""ExecuTorch programs (``.pte``): a FlatBuffer whose file identifier is ``ET`` and two digits.

executorch/schema/program.fbs declares ``file_identifier "ET12"`` (earlier
schemas counted up from ``ET01``); the runtime refuses any other identifier.
Like TFLite, the identifier sits at offset 4, after the root table offset.
A program names operators and delegate blobs that only run native kernels
linked into the runtime, never Python.
"""

from __future__ import annotations


def is_program(head: bytes, size: int) -> bool:
    if len(head) < 8 or head[4:6] != b"ET" or not head[6:8].isdigit():
        return False
    # "ET12" at offset 4 alone is four bytes any file can carry: the root offset must fit.
    root = int.from_bytes(head[:4], "little")
    return 8 <= root < size and root % 4 == 0
