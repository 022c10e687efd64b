"""Attacker-chosen file names never reach the terminal raw (git-style quoting), in every command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import RunCli
from tests.gate.test_end_to_end import prepare
from tests.signing.conftest import write_key_pair

FORGED = "verified: model matches model.sig"
#: File names an attacker adds to a downloaded model, and how they must be printed.
HOSTILE = {
    f"x\n{FORGED}": f'"x\\n{FORGED}"',
    "\x1b[2Jclear": '"\\033[2Jclear"',
    "title\x1b]0;owned\x07": '"title\\033]0;owned\\a"',
    "csi\x9b31m": '"csi\\302\\23331m"',
}


def terminal_safe(text: str) -> bool:
    """No character that moves the cursor, colours the screen or starts a line of its own."""
    return all(c == "\n" or c.isprintable() for c in text)


@pytest.fixture
def signed_then_extended(run_cli: RunCli, tmp_path: Path) -> tuple[Path, Path]:
    """A signed model, plus files with hostile names added afterwards."""
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.bin").write_bytes(b"w" * 100)
    pair = write_key_pair(tmp_path)
    assert run_cli("sign", model, "--key", pair.private).exit_code == 0
    for name in HOSTILE:
        (model / name).write_bytes(b"extra")
    return model, pair.public


def test_verify_quotes_extra_files_and_forges_nothing(
    run_cli: RunCli, signed_then_extended: tuple[Path, Path]
) -> None:
    model, public = signed_then_extended
    result = run_cli("verify", model, "--public-key", public)
    assert result.exit_code == 1, result
    assert terminal_safe(result.stdout) and terminal_safe(result.stderr)
    assert FORGED not in result.stdout.splitlines()
    assert not any(line.startswith("verified:") for line in result.stdout.splitlines())
    for shown in HOSTILE.values():
        assert shown in result.stdout
    document = json.loads(run_cli("verify", model, "--public-key", public, "--json").stdout)
    assert sorted(document["integrity"]["extra"]) == sorted(HOSTILE)


def test_hash_quotes_names_and_json_keeps_them(
    run_cli: RunCli, signed_then_extended: tuple[Path, Path]
) -> None:
    model, _ = signed_then_extended
    result = run_cli("hash", model)
    assert result.exit_code == 0, result
    assert terminal_safe(result.stdout)
    assert FORGED not in result.stdout.splitlines()
    lines = result.stdout.splitlines()
    for shown in HOSTILE.values():
        assert any(line.endswith(f"  {shown}") for line in lines), shown
    document = json.loads(run_cli("hash", model, "--json").stdout)
    assert set(HOSTILE) <= {r["name"] for r in document["resources"]}


def test_scan_table_quotes_names_and_json_keeps_them(
    run_cli: RunCli, signed_then_extended: tuple[Path, Path]
) -> None:
    model, _ = signed_then_extended
    result = run_cli("scan", model)
    assert terminal_safe(result.stdout), result
    for name, shown in HOSTILE.items():
        assert f'"model/{shown[1:]}' in result.stdout, name
    for flag in ("--json", "--sarif"):
        assert terminal_safe(run_cli("scan", model, flag).stdout)
    document = json.loads(run_cli("scan", model, "--json").stdout)
    names = {Path(f["path"]).name for f in document["files"]}
    assert set(HOSTILE) <= names


def test_check_render_quotes_names(run_cli: RunCli, tmp_path: Path) -> None:
    release = prepare(tmp_path)
    for name in HOSTILE:
        (release.model / name).write_text("added after signing")
    result = run_cli("check", release.model, "--policy", release.policy)
    assert result.exit_code != 0
    assert terminal_safe(result.stdout), result
    assert FORGED not in result.stdout.splitlines()
    assert HOSTILE[f"x\n{FORGED}"] in result.stdout


def test_bom_show_and_diff_escape_names(run_cli: RunCli, tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    old = tmp_path / "old.json"
    assert run_cli("bom", model, "-o", old, "--no-scan").exit_code == 0
    for name in HOSTILE:
        (model / name).write_bytes(b"x")
    new = tmp_path / "new.json"
    assert run_cli("bom", model, "-o", new, "--no-scan").exit_code == 0
    for args in (("show", new), ("diff", old, new)):
        result = run_cli("bom", *args)
        assert terminal_safe(result.stdout), result
        assert FORGED not in result.stdout.splitlines()
        assert HOSTILE[f"x\n{FORGED}"] in result.stdout


def test_error_messages_quote_the_path(run_cli: RunCli, tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.bin").write_bytes(b"w")
    (model / f"link\n{FORGED}").symlink_to("/etc/hostname")
    result = run_cli("hash", model)
    assert result.exit_code == 2, result
    assert terminal_safe(result.stderr)
    assert not any(line.startswith("verified:") for line in result.stderr.splitlines())
    assert f'"{model}/link\\n{FORGED}": is a symbolic link' in result.stderr


def test_bom_on_stdout_escapes_c1_controls(run_cli: RunCli, tmp_path: Path) -> None:
    """json.dumps(ensure_ascii=False) leaves U+009B (a one-byte CSI) raw; our JSON does not."""
    model = tmp_path / "model"
    model.mkdir()
    (model / "csi\x9b31m.json").write_text("{}")
    result = run_cli("-q", "bom", model, "--no-scan")
    assert result.exit_code == 0, result
    assert "\x9b" not in result.stdout and "csi\\u009b31m.json" in result.stdout
    assert any(c["name"] == "csi\x9b31m.json" for c in _files(json.loads(result.stdout)))


def _files(document: dict[str, object]) -> list[dict[str, str]]:
    metadata = document["metadata"]
    assert isinstance(metadata, dict)
    return list(metadata["component"]["components"])


def test_convert_quotes_file_and_tensor_names(run_cli: RunCli, tmp_path: Path) -> None:
    """Checkpoint file names and the keys inside it are the checkpoint author's choice."""
    from tests.conversion.pickles import OD, dumps, floats, tensor, torch_zip

    name = f"x\n{FORGED}.bin"
    items = ((f"w\n{FORGED}", tensor("0", 4, (2, 2), (2, 1))), ("step\x1b[2J", 7))
    torch_zip(tmp_path / name, dumps(OD(items)), {"0": floats(1, 2, 3, 4)})
    result = run_cli("convert", tmp_path / name, "-o", tmp_path / "out.safetensors")
    assert result.exit_code == 0, result
    assert terminal_safe(result.stdout) and terminal_safe(result.stderr)
    assert not any(line.startswith("verified: model") for line in result.stdout.splitlines())
    assert f'"x\\n{FORGED}.bin" (pytorch-zip) -> out.safetensors' in result.stdout
    assert 'left out: "step\\033[2J": int' in result.stdout
