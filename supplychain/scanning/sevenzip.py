"""7z archives, through py7zr (an optional dependency: ``pip install 'supplychain[7z]'``).

7z is how the nullifAI samples slipped a torch checkpoint past scanners that
only looked at members with a pickle extension; every member is scanned by
content here. Without py7zr a 7z file is "could not scan", never clean.
Members are extracted to memory: capped each and in all (``max_spool``), and
charged to the scanned file's decompression budget.
"""

from __future__ import annotations

import io
from functools import partial
from typing import Any

from supplychain.formats.compression import DecompressionBudget
from supplychain.picklevm import Source
from supplychain.picklevm.source import SourceLimit
from supplychain.scanning.blob import Blob, TooLargeToSpool
from supplychain.scanning.containers.archives import decompression_budget
from supplychain.scanning.results import Finding, Severity
from supplychain.scanning.scanner import FileScan


class _Held:
    """Bytes all members of one archive hold in memory together, refused past ``cap``."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.total = 0

    def add(self, count: int) -> None:
        self.total += count
        if self.total > self.cap:
            raise TooLargeToSpool(f"the members expand past {self.cap} bytes in all")


class _CappedWriter:
    """An in-memory member that refuses to grow past the cap (py7zr's own truncates silently)."""

    def __init__(self, cap: int, held: _Held, budget: DecompressionBudget) -> None:
        self.cap = cap
        self.held = held
        self.budget = budget
        self.buffer = io.BytesIO()
        self.overflow = False

    def write(self, data: bytes | bytearray) -> int:
        if self.buffer.tell() + len(data) > self.cap:
            self.overflow = True
            raise TooLargeToSpool(f"a member expands past {self.cap} bytes")
        self.held.add(len(data))
        try:
            self.budget.charge(len(data), "7z archive")
        except SourceLimit as exc:
            raise TooLargeToSpool(str(exc)) from None
        return self.buffer.write(data)

    def read(self, size: int | None = None) -> bytes:
        return self.buffer.read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.buffer.seek(offset, whence)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def size(self) -> int:
        return self.buffer.getbuffer().nbytes


def _factory(cap: int, budget: DecompressionBudget) -> Any:
    from py7zr.io import WriterFactory

    held = _Held(cap)

    class Factory(WriterFactory):
        def __init__(self) -> None:
            self.products: dict[str, _CappedWriter] = {}

        def create(self, filename: str) -> _CappedWriter:  # type: ignore[override]
            product = _CappedWriter(cap, held, budget)
            self.products[filename] = product
            return product

    return Factory()


def scan(file_scan: FileScan, blob: Blob) -> None:
    try:
        import py7zr
    except ImportError:
        file_scan.could_not_scan(blob, "7z archives need py7zr (pip install 'supplychain[7z]')")
        return
    cap = file_scan.options.max_spool
    try:
        handle = blob.binary(file_scan.options.max_spool)
        with py7zr.SevenZipFile(handle, mode="r") as archive:  # type: ignore[arg-type]
            if archive.needs_password():
                file_scan.could_not_scan(blob, "the 7z archive is encrypted")
                return
            infos = [i for i in archive.list() if not i.is_directory]
            too_big = [i.filename for i in infos if (i.uncompressed or 0) > cap]
            if too_big:
                file_scan.could_not_scan(
                    blob, f"7z members larger than {cap} bytes: {', '.join(too_big[:3])}"
                )
                return
            factory = _factory(cap, decompression_budget(file_scan))
            archive.extractall(factory=factory)
    except TooLargeToSpool as exc:
        file_scan.could_not_scan(blob, f"7z archive too large to scan in memory ({exc})")
        return
    except Exception as exc:
        file_scan.add(
            Finding(
                "container.malformed",
                Severity.MEDIUM,
                f"unreadable 7z archive: {exc}",
                blob.location,
            )
        )
        file_scan.could_not_scan(blob, f"unreadable 7z archive: {exc}")
        return
    for name, product in sorted(factory.products.items()):
        data = product.buffer.getvalue()
        child = blob.child(
            name, name.rsplit("/", 1)[-1], len(data), partial(Source.from_bytes, data), True
        )
        file_scan.scan_blob(child)
