"""Training resume keyed by content (#15 items 1-2): other train files, base weights or settings stop the resume
with an error naming what changed; `--restart` starts over."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seaembed.errors import ConfigError
from seaembed.train.checkpoints import FINGERPRINT_FILE, check_resume, mark_complete, resume_mismatch
from seaembed.train.config import TrainConfig


def _cfg(tmp_path: Path, model: Path, **kw) -> TrainConfig:
    train = tmp_path / "train.jsonl"
    if not train.exists():
        train.write_text('{"query": "a", "positive": "b"}\n{"query": "c", "positive": "d"}\n')
    return TrainConfig(model=str(model), train_files=[train], output_dir=tmp_path / "out", batch_size=4, **kw)


def _fake_checkpoint(cfg: TrainConfig) -> None:
    ckpt = Path(cfg.output_dir) / "checkpoints" / "checkpoint-2"
    ckpt.mkdir(parents=True)
    mark_complete(ckpt)


def test_resume_with_the_same_run_passes(tmp_path, tiny_model_dir):
    cfg = _cfg(tmp_path, tiny_model_dir)
    first = check_resume(cfg)
    _fake_checkpoint(cfg)
    assert check_resume(cfg.model_copy(update={"logging_steps": 1, "torch_threads": 1})) == first
    assert json.loads((Path(cfg.output_dir) / FINGERPRINT_FILE).read_text()) == first


def test_other_batch_size_or_train_file_content_names_what_changed(tmp_path, tiny_model_dir):
    cfg = _cfg(tmp_path, tiny_model_dir)
    check_resume(cfg)
    _fake_checkpoint(cfg)
    assert resume_mismatch(cfg.model_copy(update={"batch_size": 8})) == ["batch_size (4 -> 8)"]
    with pytest.raises(ConfigError, match=r"changed: batch_size \(4 -> 8\).*--restart"):
        check_resume(cfg.model_copy(update={"batch_size": 8}))
    cfg.train_files[0].write_text('{"query": "a", "positive": "b"}\n')  # same path, other content
    with pytest.raises(ConfigError, match=r"changed: train_files content \(train.jsonl\)"):
        check_resume(cfg)
    check_resume(cfg.model_copy(update={"resume": False}))  # --restart: no error, and the new fingerprint counts
    check_resume(cfg)


def test_other_weights_at_the_same_model_path(tmp_path, tiny_model_dir):
    import shutil

    from seaembed.testing import build_tiny_model

    model = tmp_path / "base"
    shutil.copytree(tiny_model_dir, model)
    cfg = _cfg(tmp_path, model)
    check_resume(cfg)
    _fake_checkpoint(cfg)
    shutil.rmtree(model)
    build_tiny_model(model, seed=5)
    with pytest.raises(ConfigError, match="the base model's weights"):
        check_resume(cfg)


def test_prepare_run_stops_a_mismatched_resume_before_loading(tmp_path, tiny_model_dir, monkeypatch):
    import seaembed.models as models
    from seaembed.train.trainer import prepare_run

    cfg = _cfg(tmp_path, tiny_model_dir)
    check_resume(cfg)  # as the first run did
    _fake_checkpoint(cfg)
    monkeypatch.setattr(models, "load_model", lambda *a, **k: pytest.fail("loaded the model before the check"))
    with pytest.raises(ConfigError, match=r"batch_size \(4 -> 16\)"):
        prepare_run(cfg.model_copy(update={"batch_size": 16}), progress=False)


def test_cli_restart_flag(tmp_path, tiny_model_dir, monkeypatch):
    import yaml
    from typer.testing import CliRunner

    import seaembed.train.trainer as trainer
    from seaembed.cli import app

    seen = {}
    monkeypatch.setattr(trainer, "train", lambda cfg: seen.setdefault("resume", cfg.resume) or "m")
    cfg = tmp_path / "t.yaml"
    (tmp_path / "train.jsonl").write_text('{"query": "a", "positive": "b"}\n')
    cfg.write_text(yaml.safe_dump({"model": str(tiny_model_dir), "train_files": ["train.jsonl"], "output_dir": "o"}))
    r = CliRunner().invoke(app, ["train", str(cfg), "--restart"])
    assert r.exit_code == 0, r.output
    assert seen["resume"] is False
