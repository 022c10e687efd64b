"""What a file's name claims: double suffixes such as torch's ``.pth.tar``."""

from __future__ import annotations

from supplychain.formats.sniff import Format, expected_formats, extension_mismatch


def test_pth_tar_is_whatever_torch_save_wrote() -> None:
    for actual in (Format.TORCH_ZIP, Format.TORCH_LEGACY, Format.TORCH_TAR, Format.TAR):
        assert not extension_mismatch("checkpoint.pth.tar", actual), actual
        assert not extension_mismatch("runs/BEST.PTH.TAR", actual), actual


def test_pth_tar_still_refuses_what_torch_never_writes() -> None:
    assert extension_mismatch("checkpoint.pth.tar", Format.SAFETENSORS)
    assert extension_mismatch("checkpoint.pth.tar", Format.GZIP)


def test_a_plain_tar_keeps_its_meaning() -> None:
    assert expected_formats("data.tar") == frozenset({Format.TAR, Format.TORCH_TAR})
    assert extension_mismatch("data.tar", Format.TORCH_ZIP)
