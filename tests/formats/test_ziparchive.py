"""The zip reader reads an archive as every loader would, and says when they disagree."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from supplychain.formats.ziparchive import ZipFormatError, member_source, read_zip
from tests.formats import zipcraft


def _payloads(data: bytes) -> dict[str, set[bytes]]:
    """Every (name -> contents) some reading of ``data`` loads."""
    archive = read_zip(io.BytesIO(data))
    found: dict[str, set[bytes]] = {}
    handle = io.BytesIO(data)
    for reading in archive.readings:
        for member in reading.members:
            content = member_source(handle, member, cap=1 << 20).read(1 << 20)
            found.setdefault(member.name, set()).add(content)
    return found


def test_an_ordinary_archive_is_read_alike_by_every_reader() -> None:
    data = zipcraft.torch_zip({"archive/data.pkl": zipcraft.BENIGN, "archive/version": b"3\n"})
    archive = read_zip(io.BytesIO(data))
    assert not archive.problems and not archive.readers_disagree
    assert len(archive.readings) == 1
    assert "torch (miniz)" in archive.readings[0].readers
    assert "zipfile (numpy)" in archive.readings[0].readers


@pytest.mark.parametrize("fool_zipfile", [False, True])
def test_a_fake_end_record_in_the_comment_is_read_as_torch_reads_it(fool_zipfile: bool) -> None:
    data = zipcraft.fake_eocd_attack(fool_zipfile=fool_zipfile)
    archive = read_zip(io.BytesIO(data))
    assert archive.readers_disagree
    assert any("zip readers disagree" in problem for _, problem in archive.problems)
    # torch's view comes first: its data.pkl is the payload hidden in a storage record
    torch_view = archive.readings[0]
    assert torch_view.readers.startswith("torch (miniz)")
    assert ("zipfile (numpy)" in torch_view.readers) is fool_zipfile
    assert zipcraft.PAYLOAD in _payloads(data)["archive/data.pkl"]
    assert zipcraft.BENIGN in _payloads(data)["archive/data.pkl"]


def test_a_zip64_locator_pointing_elsewhere_is_followed_and_reported() -> None:
    data = zipcraft.zip64_locator_attack()
    archive = read_zip(io.BytesIO(data))
    assert archive.readers_disagree
    readers = {r.readers: {m.name for m in r.members} for r in archive.readings}
    assert readers["zipfile (numpy)"] == {"archive/data.pkl", "archive/version", "archive/data/0"}
    assert _payloads(data)["archive/data.pkl"] == {zipcraft.PAYLOAD, zipcraft.BENIGN}


def test_a_truncated_last_end_record_is_a_disagreement() -> None:
    # zipfile takes the last signature and refuses it; torch takes the previous, complete one
    data = zipcraft.torch_zip({"archive/version": b"3\n"}) + b"PK\x05\x06" + b"\0" * 6
    archive = read_zip(io.BytesIO(data))
    assert [m.name for m in archive.members] == ["archive/version"]
    assert any("zipfile (numpy) cannot read" in problem for _, problem in archive.problems)


def test_duplicate_names_are_all_kept() -> None:
    buffer = io.BytesIO()
    with pytest.warns(UserWarning), zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", zipcraft.BENIGN)
        archive.writestr("archive/data.pkl", zipcraft.PAYLOAD)
    data = buffer.getvalue()
    assert _payloads(data)["archive/data.pkl"] == {zipcraft.BENIGN, zipcraft.PAYLOAD}
    assert ("archive/data.pkl", "the name appears twice in the central directory") in (
        read_zip(io.BytesIO(data)).problems
    )


def test_no_reader_can_read_it() -> None:
    with pytest.raises(ZipFormatError, match="no zip reader can read the archive"):
        read_zip(io.BytesIO(b"PK\x03\x04" + b"\0" * 100))


def test_agrees_with_torchs_reader_on_the_attacks(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    attacks = {
        "eocd": zipcraft.fake_eocd_attack(fool_zipfile=False),
        "eocd-zipfile": zipcraft.fake_eocd_attack(fool_zipfile=True),
        "zip64": zipcraft.zip64_locator_attack(),
    }
    for label, data in attacks.items():
        path = tmp_path / f"{label}.pt"
        path.write_bytes(data)
        reader = torch._C.PyTorchFileReader(str(path))
        assert bytes(reader.get_record("data.pkl")) == zipcraft.PAYLOAD, label
        ours = read_zip(io.BytesIO(data)).readings[0]
        assert {m.name for m in ours.members} == {
            f"archive/{name}" for name in reader.get_all_records()
        }


def test_a_zip_stored_in_a_zip_is_not_a_disagreement() -> None:
    inner = zipcraft.torch_zip({"archive/data.pkl": zipcraft.PAYLOAD, "archive/version": b"3\n"})
    data = zipcraft.torch_zip({"model/pytorch_model.bin": inner})
    archive = read_zip(io.BytesIO(data))
    assert not archive.problems
    # its end record is another candidate: its members are read too (the scanner also recurses)
    assert zipcraft.PAYLOAD in _payloads(data)["archive/data.pkl"]


def test_every_other_end_record_in_the_tail_is_followed() -> None:
    # a self-contained archive first, then a benign one whose offsets zipfile shifts past it
    hidden = zipcraft.hidden_archive(
        0, [(b"archive/version", b"3\n"), (b"archive/data.pkl", zipcraft.PAYLOAD)], comment_len=0
    )
    benign = zipcraft.torch_zip({"archive/data.pkl": zipcraft.BENIGN, "archive/version": b"3\n"})
    archive = read_zip(io.BytesIO(hidden + benign))
    assert [m.name for m in archive.members] == ["archive/data.pkl", "archive/version"]
    assert any("end record at offset" in problem for _, problem in archive.problems)
    assert _payloads(hidden + benign)["archive/data.pkl"] == {zipcraft.BENIGN, zipcraft.PAYLOAD}
