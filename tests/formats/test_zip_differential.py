"""Differential test: what zipfile and torch's reader load, we read too, or we report high.

Hypothesis builds torch-shaped zips and bends them the ways readers disagree
on: prepended bytes, end records hidden in the comment, a truncated last end
record, zip64 records and locators pointing elsewhere, local names that differ
from the central directory's, duplicate names. For each, every member that
``zipfile`` or ``torch._C.PyTorchFileReader`` (which reads records, never
unpickles) would load must be among the versions our reader reads; and when
the two loaders see different archives, our scan reports at least high.
"""

from __future__ import annotations

import io
import warnings
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supplychain.formats.ziparchive import ZipFormatError, member_source, read_zip
from supplychain.scanning import Severity, scan_file
from tests.formats import zipcraft

torch = pytest.importorskip("torch")

_NAMES = ("archive/data.pkl", "archive/data/0", "archive/extra.pkl", "archive/data/1")
_CONTENTS = (zipcraft.BENIGN, zipcraft.PAYLOAD, b"\0" * 64, b"PK\x05\x06" + b"\1" * 40)
_HIDDEN = [(b"archive/version", b"3\n"), (b"archive/data.pkl", zipcraft.PAYLOAD)]
_COMMENT_TRICKS = ("none", "fake-end", "fake-end-fits", "truncated-end")
_ZIP64_TRICKS = ("none", "zip64", "zip64-elsewhere")


@st.composite
def hostile_zips(draw: st.DrawFn) -> bytes:
    extra = st.lists(st.tuples(st.sampled_from(_NAMES), st.sampled_from(_CONTENTS)), max_size=4)
    members = [("archive/version", b"3\n"), *draw(extra)]
    method = draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w", method) as archive:
        warnings.simplefilter("ignore")  # duplicate names are part of the test
        for name, content in members:
            archive.writestr(name, content)
    data = buffer.getvalue()
    if draw(st.booleans()):  # the local header names data.pkl differently (CVE-2025-1944)
        data = data.replace(b"archive/data.pkl", b"archive/data.pk1", 1)
    zip64 = draw(st.sampled_from(_ZIP64_TRICKS))
    if zip64 != "none":
        data = zipcraft.as_zip64(data, hidden=_HIDDEN if zip64 == "zip64-elsewhere" else None)
    elif (trick := draw(st.sampled_from(_COMMENT_TRICKS))) != "none":
        data = _comment_trick(data, trick)
    prefix = draw(st.sampled_from([b"", b"#!/bin/sh\n", b"PK\x03\x04" * 8]))
    return prefix + data


def _comment_trick(data: bytes, trick: str) -> bytes:
    if trick == "truncated-end":
        return zipcraft.with_comment(data, b"PK\x05\x06" + b"\0" * 6)
    comment_at = len(data)
    fits = 0 if trick == "fake-end-fits" else 0xFFFF
    return zipcraft.with_comment(
        data, zipcraft.hidden_archive(comment_at, _HIDDEN, comment_len=fits)
    )


def _zipfile_view(path: Path) -> set[tuple[str, bytes]] | None:
    try:
        with zipfile.ZipFile(path) as archive:
            loaded = set()
            for info in archive.infolist():
                try:
                    loaded.add((info.filename, archive.read(info)))
                except (zipfile.BadZipFile, ValueError, NotImplementedError, OSError):
                    continue  # this member does not load; others may
            return loaded
    except (zipfile.BadZipFile, ValueError, OSError):
        return None


def _torch_view(path: Path) -> set[tuple[str, bytes]] | None:
    try:
        reader = torch._C.PyTorchFileReader(str(path))
        names = reader.get_all_records()
    except RuntimeError:
        return None
    loaded = set()
    for name in names:
        try:
            loaded.add((f"archive/{name}", bytes(reader.get_record(name))))
        except RuntimeError:
            continue
    return loaded


def _our_versions(data: bytes) -> set[tuple[str, bytes]]:
    handle = io.BytesIO(data)
    archive = read_zip(handle)
    versions = set()
    for reading in archive.readings:
        for member in reading.members:
            if member.readable:
                source = member_source(handle, member, cap=1 << 20)
                versions.add((member.name, source.read(1 << 20)))
    return versions


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=hostile_zips())
def test_we_read_what_every_loader_loads(data: bytes, tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    path.write_bytes(data)
    loaders = {"zipfile": _zipfile_view(path), "torch": _torch_view(path)}
    try:
        ours = _our_versions(data)
    except ZipFormatError:
        assert loaders == {"zipfile": None, "torch": None}
        return
    for loader, view in loaders.items():
        if view is not None:
            assert view <= ours, f"{loader} loads what we never read: {view - ours}"
    seen = [view for view in loaders.values() if view is not None]
    result = scan_file(path)
    worst = max((f.severity.rank for f in result.findings), default=0)
    if (len(seen) == 2 and seen[0] != seen[1]) or len(seen) == 1:
        # the loaders disagree (or only one reads it): that alone is high
        assert worst >= Severity.HIGH.rank, result.findings
    unpickled = {c for view in seen for name, c in view if name.endswith(".pkl")}
    if zipcraft.PAYLOAD in unpickled:
        assert any(f.symbol == "posix.system" for f in result.findings), result.findings
