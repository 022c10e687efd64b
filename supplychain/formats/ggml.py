"""Legacy GGML model files (before GGUF): a uint32 magic written little-endian.

``ggml`` (unversioned), ``ggmf`` and ``ggjt`` (versioned) appear on disk as
``lmgg``, ``fmgg`` and ``tjgg``. They hold hyperparameters, a vocabulary and
tensors, and carry no chat template or code.
"""

from __future__ import annotations

#: Magic bytes as they appear at offset 0, and whether a uint32 version follows.
_MAGICS = {b"lmgg": False, b"fmgg": True, b"tjgg": True}
#: Versions llama.cpp wrote for the versioned magics (ggmf v1, ggjt v1-v3).
_VERSIONS = range(1, 4)


def is_model(head: bytes) -> bool:
    versioned = _MAGICS.get(head[:4])
    if versioned is None:
        return False
    if not versioned:
        return len(head) >= 8
    return len(head) >= 8 and int.from_bytes(head[4:8], "little") in _VERSIONS
