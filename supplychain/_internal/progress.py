"""Progress bars on stderr for long work; silent when stderr is not a terminal."""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Iterator

#: Work smaller than this finishes before a bar would be worth drawing.
MIN_BYTES = 256 << 20


def wanted(total: int, enabled: bool | None) -> bool:
    """``enabled=None`` means automatic: a terminal on stderr and enough work."""
    if enabled is not None:
        return enabled
    return total >= MIN_BYTES and sys.stderr.isatty()


@contextlib.contextmanager
def byte_progress(
    total: int, label: str, *, enabled: bool | None = None
) -> Iterator[Callable[[int], None]]:
    """Yield a thread-safe ``advance(nbytes)`` callback drawing a transient bar."""
    if not wanted(total, enabled):
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import (  # lazy: rich costs start-up time
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    lock = threading.Lock()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=total)

        def advance(n: int) -> None:
            with lock:
                bar.advance(task, n)

        yield advance
