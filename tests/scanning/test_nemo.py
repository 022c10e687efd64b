"""``supplychain scan`` on NeMo archives: Hydra targets outside the reviewed list are caught."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

from tests.conftest import RunCli
from tests.conversion.pickles import OD, dumps, floats, tensor, torch_zip
from tests.formats.test_nemo import CONFIG


def _nemo(path: Path, config: str, *, gzip: bool = False) -> Path:
    """A .nemo as NeMo's save_to writes it: ./model_config.yaml and ./model_weights.ckpt.

    The weights are torch.save's zip layout built by hand, so this runs without torch.
    """
    state = OD((("encoder.weight", tensor("0", 4, (2, 2), (2, 1))),))
    ckpt = torch_zip(path.with_suffix(".ckpt"), dumps(state), {"0": floats(0, 0, 0, 0)})
    weights = io.BytesIO(ckpt.read_bytes())
    ckpt.unlink()
    with tarfile.open(path, "w:gz" if gzip else "w") as archive:
        for name, data in (
            ("./model_config.yaml", config.encode()),
            ("./model_weights.ckpt", weights.getvalue()),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def _scan(run_cli: RunCli, path: Path) -> tuple[int, dict[str, object]]:
    result = run_cli("scan", "--json", path)
    return result.exit_code, json.loads(result.stdout)["files"][0]


def test_an_os_system_target_is_critical(run_cli: RunCli, tmp_path: Path) -> None:
    evil = CONFIG + "callbacks:\n  - _target_: os.system\n    command: touch /tmp/pwned\n"
    code, result = _scan(run_cli, _nemo(tmp_path / "asr.nemo", evil))
    assert code == 1 and result["format"] == "nemo" and result["max_severity"] == "critical"
    findings = result["findings"]
    assert isinstance(findings, list)
    assert findings[0]["rule"] == "hydra.untrusted-target"
    assert "os.system" in findings[0]["message"] and "model_config.yaml" in findings[0]["location"]


def test_an_unreviewed_target_is_high(run_cli: RunCli, tmp_path: Path) -> None:
    evil = CONFIG.replace("nemo.collections.asr.modules.ConvASRDecoder", "evilpkg.Decoder")
    code, result = _scan(run_cli, _nemo(tmp_path / "asr.nemo", evil))
    assert code == 1 and result["max_severity"] == "high"


def test_a_gzipped_archive_is_checked_too(run_cli: RunCli, tmp_path: Path) -> None:
    evil = CONFIG + "x:\n  _target_: subprocess.Popen\n"
    code, result = _scan(run_cli, _nemo(tmp_path / "asr.nemo", evil, gzip=True))
    assert code == 1 and result["max_severity"] == "critical"


def test_a_real_shaped_archive_is_clean(run_cli: RunCli, tmp_path: Path) -> None:
    code, result = _scan(run_cli, _nemo(tmp_path / "asr.nemo", CONFIG))
    assert code == 0, result
    assert result["format"] == "nemo" and result["findings"] == []


def test_a_standalone_hydra_config_is_checked(run_cli: RunCli, tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("model:\n  _target_: builtins.eval\n  _args_: ['1+1']\n")
    code, result = _scan(run_cli, path)
    assert code == 1 and result["max_severity"] == "critical"


def test_a_zip_appended_after_the_tar_is_still_a_polyglot(run_cli: RunCli, tmp_path: Path) -> None:
    import zipfile

    path = _nemo(tmp_path / "asr.nemo", CONFIG)
    hidden = io.BytesIO()
    with zipfile.ZipFile(hidden, "w") as archive:
        archive.writestr("archive/data.pkl", b"\x80\x02cposix\nsystem\nX\x02\x00\x00\x00id\x85R.")
    path.write_bytes(path.read_bytes() + hidden.getvalue())
    code, result = _scan(run_cli, path)
    assert code == 1 and result["max_severity"] == "critical"


def test_an_aliased_config_is_not_reported_clean(run_cli: RunCli, tmp_path: Path) -> None:
    aliased = CONFIG + "base: &base {_target_: os.system}\ncopy: *base\n"
    code, result = _scan(run_cli, _nemo(tmp_path / "asr.nemo", aliased))
    assert code != 0 and result["status"] != "scanned", result
