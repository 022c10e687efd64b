"""Resource budgets checked before a conversion writes a byte: output expansion and free space.

A checkpoint's views may repeat storage bytes: a stride-0 broadcast of one
float declares any size, and a thousand overlapping views of one storage are
each written in full. A few hundred bytes of checkpoint could then plan
terabytes of output and fill the disk, so an output larger than a small
factor of the storages it is made from is refused unless the caller allows
it explicitly. Free space on the output's filesystem is checked too, so a
conversion that cannot fit fails before it starts rather than at ENOSPC.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from supplychain.conversion.errors import OutputBudgetError
from supplychain.conversion.select import Exported
from supplychain.errors import InputError
from supplychain.output import human_bytes

#: Output tensor bytes may be up to this many times the bytes of the storages they use...
EXPANSION_FACTOR = 2
#: ... plus this much (small checkpoints with a broadcast buffer or two stay convertible).
EXPANSION_SLACK = 1 << 20
#: Room kept free beyond the planned outputs (index files, the directory, metadata).
FREE_SPACE_HEADROOM = 1 << 20
#: Storages and tensors named in a refusal.
SHOWN = 3


@dataclass(frozen=True)
class _StorageGrowth:
    key: str
    size: int
    written: int
    #: Biggest first.
    tensors: tuple[Exported, ...]


def check_expansion(
    exported: Iterable[Exported], storage_sizes: dict[str, int], path: Path
) -> None:
    """Refuse tensors whose data exceeds the budget for the storages they read.

    Runs before planning (whose storage-coverage pass costs time per element),
    on the tensors as they will be written: tied names count once.
    """
    unique = {e.view.identity(): e for e in exported}
    growth = _growth(unique.values(), storage_sizes)
    used = sum(g.size for g in growth)
    data_size = sum(g.written for g in growth)
    if data_size <= EXPANSION_FACTOR * used + EXPANSION_SLACK:
        return
    grown = [g for g in growth if g.written > g.size]
    grown.sort(key=lambda g: g.written, reverse=True)
    details = "; ".join(_describe(g) for g in grown[:SHOWN])
    if len(grown) > SHOWN:
        details += f"; and {len(grown) - SHOWN} more storages"
    raise OutputBudgetError(
        f"the output would hold {human_bytes(data_size)} of tensor data made from "
        f"{human_bytes(used)} of storages (the limit is {EXPANSION_FACTOR}x + "
        f"{human_bytes(EXPANSION_SLACK)}): {details}",
        path=path,
        hint="views that repeat storage bytes (stride 0, overlapping views) make the output far "
        "larger than the checkpoint; pass --allow-expansion (allow_expansion=True) to write it "
        "anyway",
    )


def _growth(tensors: Iterable[Exported], storage_sizes: dict[str, int]) -> list[_StorageGrowth]:
    by_storage: dict[str, list[Exported]] = {}
    for tensor in tensors:
        by_storage.setdefault(tensor.view.storage, []).append(tensor)
    return [
        _StorageGrowth(
            key,
            storage_sizes.get(key, 0),
            sum(t.view.nbytes for t in group),
            tuple(sorted(group, key=lambda t: t.view.nbytes, reverse=True)),
        )
        for key, group in by_storage.items()
    ]


def _describe(growth: _StorageGrowth) -> str:
    shown = ", ".join(_tensor(t) for t in growth.tensors[:SHOWN])
    more = len(growth.tensors) - SHOWN
    return (
        f"storage {growth.key} ({human_bytes(growth.size)}) becomes "
        f"{human_bytes(growth.written)} in {len(growth.tensors)} tensor(s): {shown}"
        + (f" and {more} more" if more > 0 else "")
    )


def _tensor(tensor: Exported) -> str:
    view = tensor.view
    return (
        f"{tensor.name!r} {human_bytes(view.nbytes)} ({view.dtype.torch_name} "
        f"{list(view.shape)}, stride {list(view.stride)})"
    )


# -- free space ------------------------------------------------------------------------------------
def free_bytes(directory: Path) -> int:
    """Bytes an unprivileged writer may still use on ``directory``'s filesystem."""
    stats = os.statvfs(directory)
    return stats.f_bavail * stats.f_frsize


def check_free_space(outputs: Iterable[tuple[Path, int]]) -> None:
    """Refuse when the planned ``(output path, size)`` pairs do not fit their filesystems."""
    needed: dict[int, tuple[Path, int]] = {}
    for output, size in outputs:
        directory = _existing_ancestor(output.parent)
        try:
            device = os.stat(directory).st_dev
        except OSError as exc:
            raise InputError(f"cannot write here: {exc.strerror}", path=output) from None
        where, total = needed.get(device, (directory, 0))
        needed[device] = (where, total + size)
    for directory, total in needed.values():
        try:
            free = free_bytes(directory)
        except OSError:
            continue  # no statistics (some network filesystems): ENOSPC is still caught later
        if total + FREE_SPACE_HEADROOM > free:
            raise InputError(
                f"the conversion needs {human_bytes(total)} but only {human_bytes(free)} "
                "are free there",
                path=directory,
                hint="free some space, or write elsewhere with -o; nothing was written",
            )


def _existing_ancestor(directory: Path) -> Path:
    current = directory if str(directory) else Path(".")
    while not current.exists() and current != current.parent:
        current = current.parent
    return current
