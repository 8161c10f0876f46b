"""The data build on a user's fresh machine: only Python and pip, no Debian tools (apertium, FreeDict) on PATH."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from seaembed.augment.build import build_dataset
from seaembed.augment.config import BackendConfig, DataConfig
from seaembed.augment.translate import backend_unavailable
from seaembed.errors import ConfigError

DEFAULT_RUN = Path(__file__).resolve().parents[2] / "seaembed" / "pipeline" / "default.yaml"


def _python_only_path(tmp_path: Path) -> str:
    """A PATH holding only this Python, as on a machine with nothing but Python and pip."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name in ("python", "python3"):
        link = bin_dir / name
        if not link.exists():
            link.symlink_to(sys.executable)
    return str(bin_dir)


def _default_translate() -> dict:
    """The translate section of the embedded default run, as shipped."""
    return yaml.safe_load(DEFAULT_RUN.read_text(encoding="utf-8"))["data"]["translate"]


def test_apertium_is_reported_unavailable_without_it_on_path(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", _python_only_path(tmp_path))
    why = backend_unavailable(BackendConfig(kind="apertium"))
    assert why is not None and "apertium" in why and "apt-get install" in why
    assert backend_unavailable(BackendConfig(kind="dictionary", dict_path=str(tmp_path / "none.index")))
    assert backend_unavailable(BackendConfig(kind="openai")) is None


def test_default_translate_section_builds_without_apertium_and_says_so(sources, make_config, tiny_model_dir,
                                                                      tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", _python_only_path(tmp_path))
    raw = make_config(str(tiny_model_dir))
    raw["translate"] = {**_default_translate(), "min_share": 0.5}
    cfg = DataConfig.model_validate(raw)
    logs: list[str] = []
    result = build_dataset(cfg, base_dir=sources, out=tmp_path / "out" / "train.jsonl", work_dir=tmp_path / "w",
                           show_progress=False, log=logs.append)
    assert result.examples > 20
    skipped = [m for m in logs if m.startswith("translate: SKIPPED")]
    assert len(skipped) == 1 and "apertium" in skipped[0]
    assert any(m.startswith("note: stage translate did not run") for m in logs)  # repeated at the end
    stage = result.report["stages"]["translate"]
    assert "apertium" in stage["not_run"] and stage["examples"] == 0
    assert "apertium is not on PATH" in (result.report_dir / "report.md").read_text()


def test_explicit_apertium_config_without_it_is_one_clear_error(sources, make_config, tiny_model_dir, tmp_path,
                                                                 monkeypatch):
    monkeypatch.setenv("PATH", _python_only_path(tmp_path))
    raw = make_config(str(tiny_model_dir))
    raw["translate"] = {"enabled": True, "backend": {"kind": "apertium"}, "target_langs": ["ms"]}
    cfg = DataConfig.model_validate(raw)
    with pytest.raises(ConfigError, match=r"translate\.backend: apertium is not on PATH.*if_unavailable: skip"):
        build_dataset(cfg, base_dir=sources, out=tmp_path / "o.jsonl", work_dir=tmp_path / "w",
                      show_progress=False, log=lambda m: None)


def test_cli_exits_2_with_one_line_without_apertium(sources, make_config, tiny_model_dir, tmp_path):
    raw = make_config(str(tiny_model_dir))
    raw.update(out=str(tmp_path / "o.jsonl"), work_dir=str(tmp_path / "w"))
    raw["translate"] = {"enabled": True, "backend": {"kind": "apertium"}, "target_langs": ["ms"]}
    cfg_path = sources / "data.yaml"
    cfg_path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    env = {"PATH": _python_only_path(tmp_path), "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "seaembed.cli", "data", "build", str(cfg_path), "--no-progress"],
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 2, done.stderr
    assert "apertium is not on PATH" in done.stderr and "Traceback" not in done.stderr
