"""XGBoost (UBJSON, legacy binary), LightGBM, fastText and legacy GGML, identified by structure."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supplychain.formats import fasttext, ggml, lightgbm, xgboost
from supplychain.formats.sniff import Format, sniff, sniff_bytes
from supplychain.scanning import scan_file
from supplychain.scanning.results import Severity


def _dmlc(text: bytes) -> bytes:
    return struct.pack("<Q", len(text)) + text


def xgboost_legacy(objective: bytes = b"binary:logistic", booster: bytes = b"gbtree") -> bytes:
    """What XGBoost < 2 wrote with save_raw(): ``binf``, the parameter block, two names."""
    param = struct.pack("<fIiiiIIIi", 0.5, 4, 0, 1, 0, 1, 7, 1, 1) + bytes(25 * 4)
    assert len(param) == 136
    return b"binf" + param + _dmlc(objective) + _dmlc(booster) + bytes(64)


def fasttext_model(version: int = 12) -> bytes:
    return struct.pack("<ii", fasttext.MAGIC, version) + struct.pack("<12i", *range(12))


SAMPLES = {
    "model.ubj": (b"{L" + struct.pack(">q", 7) + b"learner{L" + bytes(16), Format.XGBOOST_UBJ),
    "short.ubj": (b"{i\x07version[$i#i\x03\x02\x01\x03}", Format.XGBOOST_UBJ),
    "model.bin": (xgboost_legacy(), Format.XGBOOST_BINARY),
    "old.model": (xgboost_legacy()[4:], Format.XGBOOST_BINARY),
    "lgb.txt": (b"tree\nversion=v4\nnum_class=1\n", Format.LIGHTGBM),
    "crlf.txt": (b"tree\r\nversion=v3\r\nnum_class=1\r\n", Format.LIGHTGBM),
    "cc.en.300.bin": (fasttext_model(), Format.FASTTEXT),
    "lid.176.ftz": (fasttext_model(11), Format.FASTTEXT),
    "ggml-model.bin": (b"lmgg" + struct.pack("<7i", *range(7)), Format.GGML),
    "ggmf.bin": (b"fmgg" + struct.pack("<I", 1) + bytes(28), Format.GGML),
    "ggjt.bin": (b"tjgg" + struct.pack("<I", 3) + bytes(28), Format.GGML),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_identified_and_clean(tmp_path: Path, name: str) -> None:
    data, expected = SAMPLES[name]
    path = tmp_path / name
    path.write_bytes(data)
    assert sniff(path) is expected
    result = scan_file(path)
    assert result.format == expected.value
    assert result.clean and not result.findings


CONFUSABLES = {
    "plain.json": (b'{"learner": {}}', Format.JSON),
    "other-ubj.ubj": (b"{i\x04name", Format.JSON),  # not XGBoost: left as before
    "wrong-booster.bin": (xgboost_legacy(booster=b"gbforest"), Format.UNKNOWN),
    "bad-objective.bin": (xgboost_legacy(objective=b"\x00\x01"), Format.UNKNOWN),
    "tree-prose.txt": (b"tree\nversion=latest\n", Format.TEXT),
    "ft-future.bin": (fasttext_model(99), Format.UNKNOWN),
    "ggjt-v9.bin": (b"tjgg" + struct.pack("<I", 9) + bytes(28), Format.UNKNOWN),
}


@pytest.mark.parametrize("name", sorted(CONFUSABLES))
def test_near_misses_are_not_claimed(name: str) -> None:
    data, expected = CONFUSABLES[name]
    assert sniff_bytes(data, len(data)) is expected


def test_a_pickle_named_like_a_tree_model_is_still_a_pickle(tmp_path: Path) -> None:
    payload = b"\x80\x04\x8c\x05posix\x8c\x06system\x93\x8c\x02id\x85R."
    path = tmp_path / "model.ubj"
    path.write_bytes(payload + b"tree\nversion=v4\n")
    result = scan_file(path)
    assert result.format == Format.PICKLE.value
    assert result.max_severity is not None and result.max_severity >= Severity.HIGH


def test_a_lightgbm_header_does_not_hide_a_pickle_call(tmp_path: Path) -> None:
    # "t" (TUPLE) needs a MARK, so a LightGBM header can never start a working pickle:
    # the probe still runs on the claimed file and finds nothing to report.
    path = tmp_path / "model.txt"
    path.write_bytes(b"tree\nversion=v4\n" + b"cos\nsystem\n(S'id'\ntR.")
    result = scan_file(path)
    assert result.format == Format.LIGHTGBM.value and result.clean


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    prefix=st.sampled_from([b"{L", b"{i", b"binf", b"tree\nversion=v", b"lmgg", b"tjgg", b""]),
    body=st.binary(max_size=300),
)
def test_fuzz_identifiers_never_crash(prefix: bytes, body: bytes) -> None:
    head = prefix + body
    for check in (
        xgboost.is_ubjson_model,
        xgboost.is_legacy_binary,
        lightgbm.is_text_model,
        fasttext.is_model,
        ggml.is_model,
    ):
        assert check(head) in (True, False)
    assert isinstance(sniff_bytes(head, len(head)), Format)
