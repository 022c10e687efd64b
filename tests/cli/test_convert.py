"""``supplychain convert``: what a user sees (exit codes, messages, JSON, the record, files)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest

from tests.conftest import RunCli
from tests.conversion.pickles import OD, dumps, floats, open_marker, tensor, torch_zip

FIXTURES = Path(__file__).resolve().parents[1] / "conversion" / "fixtures"
ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "schemas" / "conversion-record.schema.json"


def _checkpoint(directory: Path, name: str = "pytorch_model.bin", **extra: object) -> Path:
    items = (("w", tensor("0", 4, (2, 2), (2, 1))), *extra.items())
    return torch_zip(directory / name, dumps(OD(tuple(items))), {"0": floats(1, 2, 3, 4)})


def test_converts_beside_the_source_with_the_hugging_face_name(
    tmp_path: Path, run_cli: RunCli
) -> None:
    source = _checkpoint(tmp_path)
    result = run_cli("convert", source)
    assert result.exit_code == 0, result
    assert (tmp_path / "model.safetensors").is_file()
    assert "pytorch_model.bin (pytorch-zip) -> model.safetensors" in result.stdout
    assert "verified: 1 tensors read back with safetensors" in result.stdout
    assert "converted 1 file(s)" in result.stderr


def test_json_report(tmp_path: Path, run_cli: RunCli) -> None:
    source = _checkpoint(tmp_path, step=7)
    result = run_cli("convert", source, "-o", tmp_path / "w.safetensors", "--json")
    assert result.exit_code == 0, result
    document = json.loads(result.stdout)
    (conversion,) = document["files"]
    assert document["outcome"] == "converted"
    assert conversion["output"]["name"] == "w.safetensors"
    assert [t["name"] for t in conversion["tensors"]] == ["w"]
    assert conversion["tensors"][0]["digest"].startswith("blake3:")
    assert conversion["skipped"] == [{"path": "step", "type": "int", "reason": "not a tensor"}]
    assert conversion["self_check"]["tensors"] == 1


def test_record_is_written_and_matches_its_schema(tmp_path: Path, run_cli: RunCli) -> None:
    model = tmp_path / "model"
    shutil.copytree(FIXTURES / "sharded", model)
    record = tmp_path / "record.json"
    result = run_cli("convert", model, "--record", record)
    assert result.exit_code == 0, result
    document = json.loads(record.read_text())
    jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text())).validate(document)
    names = [(c["source"]["name"], c["output"]["name"]) for c in document["conversions"]]
    assert names == [
        ("pytorch_model-00001-of-00002.bin", "model-00001-of-00002.safetensors"),
        ("pytorch_model-00002-of-00002.bin", "model-00002-of-00002.safetensors"),
    ]
    assert document["conversions"][0]["aliases"] == {"lm_head.weight": "embed.weight"}
    assert document["indexes"][0]["output"]["name"] == "model.safetensors.index.json"


def test_refused_as_unsafe_exits_1_and_writes_nothing(tmp_path: Path, run_cli: RunCli) -> None:
    marker = tmp_path / "RAN"
    source = _checkpoint(tmp_path, config=open_marker(marker))
    result = run_cli("convert", source)
    assert result.exit_code == 1, result
    assert "critical finding" in result.stderr and "builtins.open" in result.stderr
    assert "hint:" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "model.safetensors").exists() and not marker.exists()
    result = run_cli("convert", source, "--json")
    document = json.loads(result.stdout)
    assert result.exit_code == 1 and document["outcome"] == "refused"
    assert document["findings"][0]["rule"] == "pickle.gadget"
    dropped = run_cli("convert", source, "--drop-non-tensors")
    assert dropped.exit_code == 0, dropped
    assert "left out: config" in dropped.stdout and not marker.exists()


def test_input_errors_exit_2(tmp_path: Path, run_cli: RunCli) -> None:
    missing = run_cli("convert", tmp_path / "nope.bin")
    assert missing.exit_code == 2 and "no such file" in missing.stderr
    (tmp_path / "notes.txt").write_text("hello")
    text = run_cli("convert", tmp_path / "notes.txt")
    assert text.exit_code == 2 and "not a checkpoint" in text.stderr
    source = _checkpoint(tmp_path)
    assert run_cli("convert", source).exit_code == 0
    again = run_cli("convert", source)
    assert again.exit_code == 2 and "already exists" in again.stderr
    assert "--overwrite" in again.stderr
    assert run_cli("convert", source, "--overwrite").exit_code == 0
    key = run_cli("convert", source, "--key", "nope", "--overwrite")
    assert key.exit_code == 2 and "has no key 'nope'" in key.stderr and "'w'" in key.stderr


def test_unsupported_content_exits_3(tmp_path: Path, run_cli: RunCli) -> None:
    source = torch_zip(
        tmp_path / "c.pt",
        dumps(OD((("c", tensor("0", 1, (1,), (1,), storage="ComplexDoubleStorage")),))),
        {"0": bytes(16)},
    )
    result = run_cli("convert", source)
    assert result.exit_code == 3, result
    assert "complex128" in result.stderr


def test_help_lists_examples_and_exit_codes(run_cli: RunCli) -> None:
    result = run_cli("convert", "--help")
    assert result.exit_code == 0
    for text in (
        "Examples:",
        "Exit codes:",
        "--drop-non-tensors",
        "--verify-with-torch",
        "--record",
        "--key",
        "4 the output did not",
    ):
        assert text in result.stdout


def test_verify_with_torch_needs_torch(
    tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from supplychain.conversion import torchcheck

    monkeypatch.setattr(torchcheck, "torch_available", lambda: False)
    result = run_cli("convert", _checkpoint(tmp_path), "--verify-with-torch")
    assert result.exit_code == 2 and "needs torch" in result.stderr
    assert not (tmp_path / "model.safetensors").exists()


def test_directory_with_nothing_to_convert(tmp_path: Path, run_cli: RunCli) -> None:
    (tmp_path / "config.json").write_text("{}")
    result = run_cli("convert", tmp_path)
    assert result.exit_code == 2 and "no PyTorch or numpy checkpoint" in result.stderr


def _directory_of_three(model: Path) -> Path:
    """good.pt converts; evil.pt would run code; choose.pt holds two state dicts beside a step."""
    model.mkdir()
    marker = model.parent / "pwned"
    _checkpoint(model, "good.pt")
    _checkpoint(model, "evil.pt", config=open_marker(marker))
    two = OD(
        (
            ("model", OD((("w", tensor("0", 4, (4,), (1,))),))),
            ("ema", OD((("w", tensor("0", 4, (4,), (1,))),))),
            ("step", 3),
        )
    )
    torch_zip(model / "choose.pt", dumps(two), {"0": floats(1, 2, 3, 4)})
    return marker


def test_directory_converts_what_it_can_and_lists_each_refusal(
    tmp_path: Path, run_cli: RunCli
) -> None:
    model = tmp_path / "model"
    marker = _directory_of_three(model)
    result = run_cli("convert", model, "-o", tmp_path / "out")
    assert result.exit_code == 5, result
    assert (tmp_path / "out" / "good.safetensors").is_file()
    assert not (tmp_path / "out" / "evil.safetensors").exists()
    assert not (tmp_path / "out" / "choose.safetensors").exists()
    assert not marker.exists()
    assert "good.pt (pytorch-zip) -> good.safetensors" in result.stdout
    assert "refused evil.pt (exit 1): refused: " in result.stdout
    assert "refused choose.pt (exit 2): " in result.stdout and "--key model" in result.stdout
    assert "converted 1 file(s), refused 2" in result.stderr


def test_directory_json_summary_lists_each_outcome(tmp_path: Path, run_cli: RunCli) -> None:
    model = tmp_path / "model"
    _directory_of_three(model)
    result = run_cli("convert", model, "-o", tmp_path / "out", "--json")
    assert result.exit_code == 5, result
    document = json.loads(result.stdout)
    assert document["outcome"] == "partial" and document["exit_code"] == 5
    assert [f["source"]["name"] for f in document["files"]] == ["good.pt"]
    refused = {r["name"]: r for r in document["refused_files"]}
    assert sorted(refused) == ["choose.pt", "evil.pt"]
    assert refused["evil.pt"]["exit_code"] == 1 and "builtins.open" in refused["evil.pt"]["error"]
    assert refused["choose.pt"]["exit_code"] == 2


def test_directory_where_nothing_converts_exits_with_the_refusal(
    tmp_path: Path, run_cli: RunCli
) -> None:
    model = tmp_path / "model"
    model.mkdir()
    _checkpoint(model, "evil.pt", config=open_marker(tmp_path / "pwned"))
    result = run_cli("convert", model)
    assert result.exit_code == 1 and "builtins.open" in result.stderr
    assert not (model / "evil.safetensors").exists()


def test_dataparallel_prefix_is_removed_unless_kept(tmp_path: Path, run_cli: RunCli) -> None:
    state = OD((("module.w", tensor("0", 4, (4,), (1,))), ("module.b", tensor("0", 4, (2,), (1,)))))
    source = torch_zip(tmp_path / "dp.pt", dumps(state), {"0": floats(1, 2, 3, 4)})
    stripped = run_cli("convert", source, "-o", tmp_path / "a.safetensors", "--json")
    assert stripped.exit_code == 0, stripped
    (conversion,) = json.loads(stripped.stdout)["files"]
    assert [t["name"] for t in conversion["tensors"]] == ["b", "w"]
    assert conversion["stripped_prefix"] == "module."
    kept = run_cli(
        "convert", source, "-o", tmp_path / "b.safetensors", "--json", "--keep-module-prefix"
    )
    assert kept.exit_code == 0, kept
    (conversion,) = json.loads(kept.stdout)["files"]
    assert [t["name"] for t in conversion["tensors"]] == ["module.b", "module.w"]


def test_help_documents_directory_mode_and_its_exit_code(run_cli: RunCli) -> None:
    result = run_cli("convert", "--help")
    text = " ".join(result.stdout.split())
    assert "5 a model directory was converted in part" in text
    assert "refused_files" in text and "--keep-module-prefix" in text


def test_symbolic_links_are_followed_only_when_allowed(tmp_path: Path, run_cli: RunCli) -> None:
    blobs, snapshot = tmp_path / "blobs", tmp_path / "snapshot"
    blobs.mkdir()
    snapshot.mkdir()
    _checkpoint(blobs, "abc123")
    (snapshot / "pytorch_model.bin").symlink_to(blobs / "abc123")
    refused = run_cli("convert", snapshot, "-o", tmp_path / "out")
    assert refused.exit_code == 2 and "link" in refused.stderr
    allowed = run_cli(
        "convert",
        tmp_path / "snapshot" / "pytorch_model.bin",
        "-o",
        tmp_path / "model.safetensors",
        "--allow-symlinks",
    )
    assert allowed.exit_code == 0, allowed
    assert (tmp_path / "model.safetensors").is_file()


# -- killed mid-write -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def big_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 256 MiB checkpoint: long enough to write that a signal lands mid-write."""
    n = 64 << 20
    state = dumps(OD((("w", tensor("0", n, (n,), (1,))),)))
    return torch_zip(tmp_path_factory.mktemp("big") / "big.pt", state, {"0": bytes(4 * n)})


def _output_temp_open(pid: int, out: Path) -> bool:
    """The process holds a file in ``out`` open (an unnamed O_TMPFILE file or a named temp)."""
    if os.listdir(out):
        return True
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/{pid}/fd/{fd}").startswith(f"{out}/"):
                    return True
    return False


def _convert_and_kill(source: Path, out: Path, signum: int) -> subprocess.CompletedProcess[str]:
    out.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "supplychain",
            "convert",
            str(source),
            "-o",
            str(out / "w.safetensors"),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not _output_temp_open(process.pid, out):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the output temp never appeared"
        time.sleep(0.01)
    time.sleep(0.05)  # into the write
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc to time the signal")
def test_sigterm_mid_write_leaves_nothing(big_checkpoint: Path, tmp_path: Path) -> None:
    result = _convert_and_kill(big_checkpoint, tmp_path / "out", signal.SIGTERM)
    assert result.returncode == 143, result
    assert "stopped by SIGTERM while writing" in result.stderr
    assert "Traceback" not in result.stderr
    assert os.listdir(tmp_path / "out") == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="O_TMPFILE is Linux-only")
def test_sigkill_mid_write_leaves_nothing(big_checkpoint: Path, tmp_path: Path) -> None:
    result = _convert_and_kill(big_checkpoint, tmp_path / "out", signal.SIGKILL)
    assert result.returncode == -signal.SIGKILL
    assert os.listdir(tmp_path / "out") == []


def test_a_tensor_in_two_shards_is_an_input_error(tmp_path: Path, run_cli: RunCli) -> None:
    model = tmp_path / "model"
    model.mkdir()
    for shard in ("pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin"):
        _checkpoint(model, shard)
    index = {"weight_map": {"w": "pytorch_model-00001-of-00002.bin"}}
    index["weight_map"]["v"] = "pytorch_model-00002-of-00002.bin"
    (model / "pytorch_model.bin.index.json").write_text(json.dumps(index))
    result = run_cli("convert", model)
    assert result.exit_code == 2, result
    assert "the tensor 'w' is in two shards" in result.stderr
    assert sorted(os.listdir(model)) == [
        "pytorch_model-00001-of-00002.bin",
        "pytorch_model-00002-of-00002.bin",
        "pytorch_model.bin.index.json",
    ]


def test_expansion_is_refused_with_exit_1_and_allowed_with_the_flag(
    tmp_path: Path, run_cli: RunCli
) -> None:
    state = OD((("w", tensor("0", 1, (1024, 512), (0, 0))),))  # 2 MiB from one float
    source = torch_zip(tmp_path / "b.pt", dumps(state), {"0": floats(1.0)})
    refused = run_cli("convert", source)
    assert refused.exit_code == 1, refused
    assert "'w' 2.0 MiB (float32 [1024, 512], stride [0, 0])" in refused.stderr
    assert "--allow-expansion" in refused.stderr
    assert not (tmp_path / "b.safetensors").exists()
    allowed = run_cli("convert", source, "--allow-expansion")
    assert allowed.exit_code == 0, allowed
    assert (tmp_path / "b.safetensors").stat().st_size > 2 << 20
