"""Hostile checkpoints: refused with the scanner's finding or a precise error, nothing ever runs,
nothing is written, the source is untouched. Built by hand: no torch needed."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from supplychain.conversion import (
    CheckpointFormatError,
    ConvertExit,
    UnsafeCheckpointError,
    UnsupportedContentError,
    convert,
)
from supplychain.conversion import converter as converter_module
from supplychain.conversion import select as select_module
from supplychain.conversion import writer as writer_module
from supplychain.errors import SupplychainError
from tests.conversion.pickles import (
    OD,
    Call,
    G,
    Pid,
    dumps,
    floats,
    open_marker,
    tensor,
    torch_zip,
)
from tests.scanning import scan_corpus


def _listing(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir()}


def _good_tensor() -> Call:
    return tensor("0", 4, (2, 2), (2, 1))


def _zip(
    tmp_path: Path, state: object, records: dict[str, bytes] | None = None, name: str = "model.pt"
) -> Path:
    return torch_zip(
        tmp_path / name, dumps(state), records if records is not None else {"0": floats(1, 2, 3, 4)}
    )


def test_a_clean_hand_made_checkpoint_converts(tmp_path: Path) -> None:
    source = _zip(tmp_path, OD((("w", _good_tensor()),)))
    report = convert(source, tmp_path / "out.safetensors")
    assert [t.name for t in report.files[0].tensors] == ["w"]


def test_every_malicious_corpus_sample_is_refused_and_nothing_runs(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    samples = [s for s in scan_corpus.build(tmp_path / "corpus") if s.kind == scan_corpus.MALICIOUS]
    assert len(samples) > 20
    out = tmp_path / "out"
    out.mkdir()
    for sample in samples:
        before = hashlib.sha256(sample.path.read_bytes()).hexdigest()
        with pytest.raises(SupplychainError) as refused:
            convert(sample.path, out / "x.safetensors")
        assert refused.value.exit_code != 0, sample.name
        assert sample.marker is not None and not sample.marker.exists(), sample.name
        assert _listing(out) == set(), sample.name
        assert hashlib.sha256(sample.path.read_bytes()).hexdigest() == before


def test_a_payload_beside_the_tensors_is_refused_with_the_scanner_finding(tmp_path: Path) -> None:
    marker = tmp_path / "PAYLOAD-RAN"
    source = _zip(tmp_path, OD((("w", _good_tensor()), ("config", open_marker(marker)))))
    before = _listing(tmp_path)

    with pytest.raises(UnsafeCheckpointError) as refused:
        convert(source, tmp_path / "out.safetensors")

    error = refused.value
    assert error.exit_code == ConvertExit.REFUSED_UNSAFE
    assert "builtins.open" in error.problem and "[pickle.gadget]" in error.problem
    assert [f.symbol for f in error.findings] == ["builtins.open"]
    assert "--drop-non-tensors" in (error.hint or "")
    assert _listing(tmp_path) == before and not marker.exists()


def test_drop_non_tensors_converts_the_tensors_and_lists_what_was_dropped(tmp_path: Path) -> None:
    marker = tmp_path / "PAYLOAD-RAN"
    source = _zip(tmp_path, OD((("w", _good_tensor()), ("config", open_marker(marker)))))
    report = convert(source, tmp_path / "out.safetensors", drop_non_tensors=True)
    conversion = report.files[0]
    assert [t.name for t in conversion.tensors] == ["w"]
    assert [f.symbol for f in conversion.waived] == ["builtins.open"]
    (skipped,) = conversion.skipped
    assert skipped.path == "config" and "builtins.open" in skipped.what
    assert not marker.exists()


def test_a_tensor_built_by_a_foreign_function_is_refused_even_when_dropping(tmp_path: Path) -> None:
    evil = tensor("0", 4, (4,), (1,), rebuild=G("my_module", "rebuild"))
    source = _zip(tmp_path, OD((("w", evil),)))
    with pytest.raises(UnsafeCheckpointError, match=r"my_module\.rebuild"):
        convert(source, tmp_path / "out.safetensors")
    with pytest.raises(UnsupportedContentError, match="no tensors"):
        convert(source, tmp_path / "out.safetensors", drop_non_tensors=True)


def test_objects_mutated_in_place_are_never_waived(tmp_path: Path) -> None:
    # BUILD on the imported rebuild function itself (a loader would patch torch), POP, then
    # an ordinary state dict
    pickle_bytes = (
        b"\x80\x02"
        + b"ctorch._utils\n_rebuild_tensor_v2\n"
        + b"}X\x03\x00\x00\x00abc"
        + b"K\x01sb0"
        + dumps(OD((("w", _good_tensor()),)))[2:]
    )
    source = torch_zip(tmp_path / "model.pt", pickle_bytes, {"0": floats(1, 2, 3, 4)})
    for drop in (False, True):
        with pytest.raises(UnsafeCheckpointError, match=r"pickle\.mutates-imported-object"):
            convert(source, tmp_path / "out.safetensors", drop_non_tensors=drop)


def test_a_checkpoint_named_like_safetensors_is_refused(tmp_path: Path) -> None:
    source = _zip(tmp_path, OD((("w", _good_tensor()),)), name="weights.safetensors")
    with pytest.raises(UnsafeCheckpointError, match=r"file\.extension-mismatch"):
        convert(source, tmp_path / "out.safetensors", drop_non_tensors=True)


def test_persistent_ids_must_be_storage_tuples(tmp_path: Path) -> None:
    rebuilt = Call(
        G("torch._utils", "_rebuild_tensor_v2"),
        (Pid("give me something"), 0, (1,), (1,), False, OD(())),
    )
    state = OD((("w", rebuilt),))
    with pytest.raises(UnsafeCheckpointError, match="not a storage tuple"):
        convert(_zip(tmp_path, state), tmp_path / "out.safetensors")


@pytest.mark.parametrize(
    ("view", "records", "message"),
    [
        (tensor("0", 4, (100,), (1,)), {"0": floats(1, 2, 3, 4)}, "reaches byte 400 of a 16-byte"),
        (tensor("0", 4, (2,), (3,), offset=2), {"0": floats(1, 2, 3, 4)}, "reaches byte 24"),
        (tensor("0", 4, (2,), (-1,), offset=3), {"0": floats(1, 2, 3, 4)}, "negative"),
        (tensor("0", 4, (2, 2), (2,)), {"0": floats(1, 2, 3, 4)}, "differ in length"),
        (
            tensor("0", 8, (2,), (1,)),
            {"0": floats(1, 2, 3, 4)},
            "holds 16 bytes but the pickle declares 32",
        ),
        (tensor("7", 4, (2,), (1,)), {"0": floats(1, 2, 3, 4)}, "no record archive/data/7"),
    ],
)
def test_inconsistent_storage_metadata_fails_closed(
    tmp_path: Path, view: Call, records: dict[str, bytes], message: str
) -> None:
    source = _zip(tmp_path, OD((("w", view),)), records)
    with pytest.raises(CheckpointFormatError, match=message) as refused:
        convert(source, tmp_path / "out.safetensors")
    assert refused.value.exit_code == ConvertExit.INPUT_ERROR
    assert not (tmp_path / "out.safetensors").exists()


def test_a_container_that_contains_itself_is_an_error(tmp_path: Path) -> None:
    cyclic = b"\x80\x02]q\x00h\x00a."  # a list appended to itself
    source = torch_zip(tmp_path / "cycle.pt", cyclic, {})
    with pytest.raises(CheckpointFormatError, match="contains itself"):
        convert(source, tmp_path / "out.safetensors")


def test_shared_containers_cannot_multiply_names_without_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # each level holds the previous one twice: 2**30 paths to one tensor
    body = b"\x80\x02" + _good_tensor_bytes() + b"q\x00"
    for level in range(1, 31):
        body += b"h" + bytes([level - 1]) + b"h" + bytes([level - 1]) + b"\x86q" + bytes([level])
    source = torch_zip(tmp_path / "bomb.pt", body + b".", {"0": floats(1, 2, 3, 4)})
    monkeypatch.setattr(select_module, "MAX_VISITS", 10_000)
    with pytest.raises(UnsupportedContentError, match="more than 10000 values"):
        convert(source, tmp_path / "out.safetensors")


def _good_tensor_bytes() -> bytes:
    return dumps(_good_tensor())[2:-1]


def test_a_failed_self_check_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _zip(tmp_path, OD((("w", _good_tensor()),)))
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    before = _listing(tmp_path)

    def write_a_wrong_byte(fd: int, chunk: memoryview, position: int) -> None:
        if position > 0:  # tensor data (the header goes to 0): flip its last byte on the way out
            wrong = bytearray(chunk)
            wrong[-1] ^= 1
            chunk = memoryview(wrong)
        original(fd, chunk, position)

    original = writer_module._pwrite_all
    monkeypatch.setattr(writer_module, "_pwrite_all", write_a_wrong_byte)
    with pytest.raises(SupplychainError, match="bytes read back differ") as failed:
        convert(source, tmp_path / "out.safetensors")
    assert failed.value.exit_code == ConvertExit.VERIFICATION_FAILED
    assert _listing(tmp_path) == before
    assert hashlib.sha256(source.read_bytes()).hexdigest() == digest


def test_a_source_changed_during_conversion_is_detected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _zip(tmp_path, OD((("w", _good_tensor()),)))
    original = converter_module.self_check

    def touch_source(path: Path, plan: object, digests: dict[str, str], *more: object) -> object:
        with open(source, "ab") as handle:
            handle.write(b"x")
        return original(path, plan, digests, *more)

    monkeypatch.setattr(converter_module, "self_check", touch_source)
    with pytest.raises(SupplychainError, match="changed"):
        convert(source, tmp_path / "out.safetensors")
    assert not (tmp_path / "out.safetensors").exists()
