"""The opt-in incremental hashing cache: skip files whose on-disk identity did not change.

A cached digest is reused only when the file's (device, inode, size,
mtime_ns, ctime_ns) all match what they were when it was hashed. Entries for
files modified within :data:`RACY_WINDOW_NS` of the hash are never stored: a
write in the same timestamp tick could otherwise leave the identity unchanged
(git's "racily clean" problem). One JSON file per model root lives in the user
cache directory, is rewritten atomically and holds only the current files.

Signing may use the cache; verification never does unless explicitly asked,
because whoever can write the cache file can choose the digests.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from pathlib import Path

from supplychain._internal.atomic import write_bytes_atomic
from supplychain.errors import InputError
from supplychain.model.tree import FileIdentity

FORMAT = "supplychain-hash-cache/1"
#: Coarse file timestamps (ext4 jiffies, FAT 2 s) make recent writes ambiguous.
RACY_WINDOW_NS = 1_000_000_000


def cache_dir() -> Path:
    """``$SUPPLYCHAIN_CACHE_DIR``, else ``$XDG_CACHE_HOME/supplychain``, else ``~/.cache``."""
    explicit = os.environ.get("SUPPLYCHAIN_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "supplychain"


def _identity_key(identity: FileIdentity) -> str:
    return (
        f"{identity.device}:{identity.inode}:{identity.size}:"
        f"{identity.mtime_ns}:{identity.ctime_ns}"
    )


class HashCache:
    """Digests of one model root, keyed by file identity and range spec."""

    def __init__(self, root: Path, directory: Path | None = None) -> None:
        self.root = root
        directory = directory or cache_dir()
        digest = hashlib.sha256(os.fsencode(os.path.realpath(root))).hexdigest()[:32]
        self.path = directory / "hashes" / f"{digest}.json"
        self._old: dict[str, dict[str, str]] = {}
        self._new: dict[str, dict[str, str]] = {}
        self.started_ns = time.time_ns()
        self.hits = 0
        self.misses = 0
        self._load()

    def _load(self) -> None:
        from supplychain._internal.safeopen import HASH_CACHE, read_json

        # A cache that is absent, special, oversized or corrupt is simply empty.
        with contextlib.suppress(InputError):
            data = read_json(self.path, HASH_CACHE)
            if (
                isinstance(data, dict)
                and data.get("format") == FORMAT
                and data.get("root") == os.path.realpath(self.root)
                and isinstance(data.get("entries"), dict)
            ):
                self._old = {
                    k: v
                    for k, v in data["entries"].items()
                    if isinstance(v, dict) and all(isinstance(x, str) for x in v.values())
                }

    def get(self, identity: FileIdentity, spec: str) -> bytes | None:
        key = _identity_key(identity)
        hexdigest = self._old.get(key, {}).get(spec)
        if hexdigest is None:
            self.misses += 1
            return None
        try:
            digest = bytes.fromhex(hexdigest)
        except ValueError:
            self.misses += 1
            return None
        self.hits += 1
        self._new.setdefault(key, {})[spec] = hexdigest
        return digest

    def put(self, identity: FileIdentity, spec: str, digest: bytes) -> None:
        if self._is_racy(identity):
            return
        self._new.setdefault(_identity_key(identity), {})[spec] = digest.hex()

    def _is_racy(self, identity: FileIdentity) -> bool:
        newest = max(identity.mtime_ns, identity.ctime_ns)
        return newest >= self.started_ns - RACY_WINDOW_NS

    def save(self) -> None:
        """Write the entries used or computed in this run (stale ones are dropped)."""
        if self._new == self._old:
            return
        payload = {
            "format": FORMAT,
            "root": os.path.realpath(self.root),
            "entries": self._new,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_bytes_atomic(
            self.path,
            json.dumps(payload, sort_keys=True, separators=(",", ":")).encode(),
            mode=0o600,
        )
