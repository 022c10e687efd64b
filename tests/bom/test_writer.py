"""Deterministic, validated output: same input, same bytes; an invalid BOM is never written."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from supplychain.bom import BomValidationError, build_bom, render_cyclonedx, write_cyclonedx
from supplychain.bom.model import Dataset
from supplychain.errors import InputError
from tests.bom.repos import hf_repo


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return hf_repo(tmp_path / "m")


def test_same_model_same_bytes_except_serial_and_timestamp(repo: Path) -> None:
    first = json.loads(render_cyclonedx(build_bom(repo)))
    second = json.loads(render_cyclonedx(build_bom(repo)))

    assert first["serialNumber"] != second["serialNumber"]
    for document in (first, second):
        document.pop("serialNumber")
        document["metadata"].pop("timestamp")
    assert first == second


def test_reproducible_pins_serial_and_timestamp(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    one = render_cyclonedx(build_bom(repo), "1.7", reproducible=True)
    two = render_cyclonedx(build_bom(repo), "1.7", reproducible=True)
    assert one == two
    assert json.loads(one)["metadata"]["timestamp"] == "1970-01-01T00:00:00Z"

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1714560000")
    dated = json.loads(render_cyclonedx(build_bom(repo), "1.7", reproducible=True))
    assert dated["metadata"]["timestamp"] == "2024-05-01T10:40:00Z"
    assert {c["timestamp"] for c in dated["citations"]} == {"2024-05-01T10:40:00Z"}
    assert dated["serialNumber"] != json.loads(one)["serialNumber"]

    (repo / "config.json").write_text("{}")
    changed = json.loads(render_cyclonedx(build_bom(repo), "1.7", reproducible=True))
    assert changed["serialNumber"] != dated["serialNumber"]


def test_bad_source_date_epoch_is_an_input_error(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(InputError, match="SOURCE_DATE_EPOCH"):
        render_cyclonedx(build_bom(repo), reproducible=True)


def test_only_1_7_has_citations(repo: Path) -> None:
    bom = build_bom(repo)
    v16 = json.loads(render_cyclonedx(bom, "1.6"))
    v17 = json.loads(render_cyclonedx(bom, "1.7"))

    assert "citations" not in v16
    notes = {c["note"]: c for c in v17["citations"]}
    licence = notes["licence declared in the README.md front matter"]
    assert licence["pointers"] == ["/metadata/component/licenses/0"]
    assert licence["attributedTo"] == "file:README.md"
    hashes = notes[
        "SHA-256 computed by supplychain from each file's bytes (the digests of the OMS manifest)"
    ]
    assert len(hashes["pointers"]) == len(bom.files)
    assert hashes["attributedTo"] == "tool:supplychain"


def test_an_invalid_bom_is_refused_and_nothing_is_written(repo: Path, tmp_path: Path) -> None:
    bom = build_bom(repo)
    # A hash the schema refuses (not 32/40/64/96/128 hex digits).
    bad = dataclasses.replace(bom, datasets=(Dataset("d", hashes=(("SHA-256", "abc"),)),))
    target = tmp_path / "bom.cdx.json"

    with pytest.raises(BomValidationError) as caught:
        write_cyclonedx(bad, target)

    assert "/components/0/hashes/0/content" in caught.value.problem
    assert not target.exists()
    assert list(tmp_path.glob(".bom.cdx.json.*")) == []


def test_unsupported_spec_version(repo: Path) -> None:
    with pytest.raises(InputError, match=r"CycloneDX 1\.5 is not supported"):
        render_cyclonedx(build_bom(repo), "1.5")
