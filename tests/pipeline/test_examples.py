"""Every example run config validates against the models the run uses; (a) and (b) build data on the tiny model."""

from __future__ import annotations

from pathlib import Path

import pytest

from seaembed.augment.config import DataConfig
from seaembed.config import validate
from seaembed.pipeline.config import load_run_config
from seaembed.pipeline.run import resolve_tasks, serve_command
from seaembed.train.config import TrainConfig

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CONFIGS = sorted(EXAMPLES.glob("*.yaml"))


def test_there_are_three_examples():
    assert {p.name for p in CONFIGS} == {"marketplace.yaml", "qc_qi_relevance.yaml", "multi_gpu_vllm.yaml"}


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_example_validates(path, tmp_path):
    cfg, base = load_run_config(path)
    validate(DataConfig, cfg.data, source=f"{path} [data]")
    validate(TrainConfig, {**cfg.train, "train_files": [tmp_path / "t.jsonl"], "output_dir": tmp_path / "o"},
             source=f"{path} [train]")
    if path.stem != "multi_gpu_vllm":  # its task dirs live on the user's machines
        assert resolve_tasks(cfg.eval.domain_tasks, base) and resolve_tasks(cfg.eval.general_tasks, base)


def test_gpu_example_prints_a_vllm_fp8_serve_command():
    cfg, _ = load_run_config(EXAMPLES / "multi_gpu_vllm.yaml")
    cmd = serve_command(cfg, {"final_model": "/m", "index": "/i"})
    assert cmd == "seaembed serve --model /m --index /i --backend vllm --quantization fp8"


@pytest.mark.parametrize("name", ["marketplace", "qc_qi_relevance"])
def test_example_data_stage_runs_on_tiny_model(name, tmp_path, tiny_model_dir):
    from seaembed.augment.build import build_dataset
    from seaembed.data.schema import read_examples

    cfg, base = load_run_config(EXAMPLES / f"{name}.yaml")
    raw = {**cfg.data, "guide_model": str(tiny_model_dir),
           "translate": {**cfg.data.get("translate", {}), "enabled": False},
           "self_validation": {"enabled": False}}
    data_cfg = validate(DataConfig, raw)
    res = build_dataset(data_cfg, base_dir=base, out=tmp_path / "train.jsonl", work_dir=tmp_path / "work",
                        report_dir=tmp_path / "report", show_progress=False, log=lambda m: None)
    rows = list(read_examples(res.out))
    assert len(rows) == res.examples > 0
    tasks = {r.task for r in rows}
    if name == "qc_qi_relevance":
        assert {"query-item", "query-category"} <= tasks
        assert any(r.negatives for r in rows if r.source and "cikm" in r.source)
    else:
        assert "query-item" in tasks and "title-category" in tasks


def test_qc_qi_example_trains_the_relevance_model_on_its_cikm_labels():
    from seaembed.augment.config import DataConfig
    from seaembed.pipeline.run import resolve_source
    from seaembed.train.cross_encoder import class_balance
    from seaembed.train.cross_encoder_data import pairs_from_data_config

    cfg, base = load_run_config(EXAMPLES / "qc_qi_relevance.yaml")
    assert cfg.relevance.enabled and cfg.relevance.files is None  # the data section's sources.relevance
    assert (Path(resolve_source(cfg.relevance.eval_task, base)) / "test.jsonl").is_file()
    pairs, dropped = pairs_from_data_config(validate(DataConfig, cfg.data), base)
    assert dropped == {} and class_balance(pairs) == {"query-category": {"pos": 10, "neg": 10},
                                                      "query-item": {"pos": 10, "neg": 10}}
    assert {p.lang for p in pairs} >= {"id"} and all(p.query and p.target for p in pairs)
    default, _ = load_run_config(None)
    assert not default.relevance.enabled  # the default quick run stays as fast as it was
