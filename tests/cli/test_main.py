"""The CLI shell: version, help, lazy imports, error reporting and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from supplychain import __version__
from tests.conftest import RunCli, supplychain_cmd


def test_version(run_cli: RunCli) -> None:
    result = run_cli("--version")
    assert result.exit_code == 0 and __version__ in result.stdout


def test_help_lists_commands_with_examples(run_cli: RunCli) -> None:
    result = run_cli("--help")
    assert result.exit_code == 0
    for command in ("hash", "digest", "demo"):
        assert command in result.stdout
    assert "Examples:" in result.stdout and "Exit codes:" in result.stdout


def test_help_does_not_import_heavy_libraries() -> None:
    # Start-up speed is a benchmark matter; what keeps it fast is testable:
    # listing every command's help must not pull in the heavy dependencies.
    probe = (
        "import sys\n"
        "from supplychain.cli import cli\n"
        "try:\n"
        "    cli.main(['--help'], standalone_mode=False)\n"
        "except SystemExit:\n"
        "    pass\n"
        "for name in list(cli.list_commands(None)):\n"
        "    cli.get_command(None, name)\n"
        "heavy = ('sigstore', 'cyclonedx', 'numpy', 'rich', 'torch', 'cryptography',\n"
        "         'safetensors')\n"
        "print(sorted({m.split('.')[0] for m in sys.modules if m.split('.')[0] in heavy}))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_python_dash_m_entry_point() -> None:
    out = subprocess.run(supplychain_cmd("--version"), capture_output=True, text=True)
    assert out.returncode == 0 and __version__ in out.stdout


def test_expected_errors_print_diagnostics_without_traceback(
    run_cli: RunCli, tmp_path: Path
) -> None:
    (tmp_path / "real").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    result = run_cli("hash", tmp_path)
    assert result.exit_code == 2
    assert "error:" in result.stderr and str(tmp_path / "link") in result.stderr
    assert "hint:" in result.stderr and "Traceback" not in result.stderr


def test_usage_error_exits_2(run_cli: RunCli) -> None:
    result = run_cli("hash")
    assert result.exit_code == 2 and "Missing argument" in result.stderr
    assert run_cli("no-such-command").exit_code == 2


def test_hash_json_document(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "a.bin").write_bytes(b"abc")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "c.bin").write_bytes(b"")
    result = run_cli("hash", tmp_path, "--json")
    assert result.exit_code == 0, result
    doc = json.loads(result.stdout)
    assert [r["name"] for r in doc["resources"]] == ["a.bin", "b/c.bin"]
    assert doc["resources"][0] == {
        "name": "a.bin",
        "algorithm": "sha256",
        "digest": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    }
    assert doc["serialization"]["method"] == "files"
    assert doc["root_digest"].startswith("sha256:") and doc["stats"]["files"] == 2


def test_hash_text_and_shard_size_units(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "w.bin").write_bytes(b"x" * 2500)
    result = run_cli("hash", tmp_path, "--shard-size", "1KB", "-a", "blake2b")
    assert result.exit_code == 0, result
    lines = result.stdout.splitlines()
    assert [line.split()[1] for line in lines[:-1]] == [
        "w.bin:0:1000",
        "w.bin:1000:2000",
        "w.bin:2000:2500",
    ]
    assert lines[0].startswith("blake2b-sharded-1000:") and lines[-1].startswith("root  sha256:")
    assert run_cli("hash", tmp_path, "--shard-size", "lots").exit_code == 2


def test_blake3_with_shards_is_refused_clearly(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "w.bin").write_bytes(b"x")
    result = run_cli("hash", tmp_path, "-a", "blake3", "--shard-size", "1000")
    assert result.exit_code == 2 and "blake3 is not sharded" in result.stderr


def test_quiet_hides_the_summary_line(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "w.bin").write_bytes(b"x")
    assert "files," in run_cli("hash", tmp_path).stderr
    assert run_cli("-q", "hash", tmp_path).stderr == ""
