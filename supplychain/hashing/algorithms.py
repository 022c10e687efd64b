"""The hash algorithms OMS knows, under exactly the names model-signing writes."""

from __future__ import annotations

import hashlib
from typing import Protocol

from supplychain.errors import InputError

SHA256 = "sha256"
BLAKE2B = "blake2b"
BLAKE3 = "blake3"

#: Names accepted from users and signatures, mapped to the canonical OMS name.
ALIASES: dict[str, str] = {
    "sha256": SHA256,
    "sha-256": SHA256,
    "blake2b": BLAKE2B,
    "blake2": BLAKE2B,  # model-signing's API spelling; it records "blake2b"
    "blake3": BLAKE3,
}
ALGORITHMS: tuple[str, ...] = (SHA256, BLAKE2B, BLAKE3)

#: Digest length in bytes (blake2b is hashlib's default, 64 bytes, as in model-signing).
DIGEST_SIZES: dict[str, int] = {SHA256: 32, BLAKE2B: 64, BLAKE3: 32}


class Hasher(Protocol):
    def update(self, data: bytes | bytearray | memoryview, /) -> object: ...
    def digest(self) -> bytes: ...


def canonical(name: str) -> str:
    """The OMS name of an algorithm, or a clear error listing the choices."""
    try:
        return ALIASES[name.lower()]
    except KeyError:
        raise InputError(
            f"unknown hash algorithm {name!r}",
            hint=f"choose one of: {', '.join(ALGORITHMS)}",
        ) from None


def new_hasher(algorithm: str, *, threads: int = 1) -> Hasher:
    """A fresh streaming hasher; ``threads`` only matters for blake3."""
    if algorithm == SHA256:
        return hashlib.sha256()
    if algorithm == BLAKE2B:
        return hashlib.blake2b()
    if algorithm == BLAKE3:
        import blake3  # imported lazily: only blake3 users pay for it

        return blake3.blake3(max_threads=blake3.blake3.AUTO if threads > 1 else 1)
    raise InputError(f"unknown hash algorithm {algorithm!r}")


def sharded_name(algorithm: str, shard_size: int) -> str:
    """The per-resource algorithm string model-signing writes in shards mode."""
    return f"{algorithm}-sharded-{shard_size}"
