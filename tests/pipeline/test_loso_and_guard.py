"""Leave-one-source-out (data.exclude_sources) and the guard-overlap check of `seaembed run`."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import yaml

from seaembed.errors import ConfigError
from seaembed.pipeline.config import load_run_config
from seaembed.pipeline.loso import (
    ECOMMERCE_SOURCES,
    config_excluding,
    filter_sources,
    source_tasks,
    training_sources,
    unseen_tasks,
)
from seaembed.pipeline.run import guard_overlap, resolve_tasks, run_pipeline
from seaembed.samples import sample_path, task_dirs


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


SAMPLE_SOURCES = {"catalogs": [{"path": "sample:catalog.jsonl"}], "reviews": [{"path": "sample:reviews.jsonl"}],
                  "query_logs": [{"path": "sample:queries.jsonl"}], "parallel": [{"path": "sample:parallel.jsonl"}]}


def test_exclude_removes_every_row_of_the_source(tmp_path):
    before = {k: Counter(r.get("source") for r in _rows(sample_path(v[0]["path"].split(":", 1)[1])))
              for k, v in SAMPLE_SOURCES.items()}
    assert before["catalogs"]["prdect-id"] > 0 and before["reviews"]["prdect-id"] > 0
    out, info = filter_sources(SAMPLE_SOURCES, ["prdect-id"], base=None, work_dir=tmp_path)
    after = {k: Counter(r.get("source") for r in _rows(Path(v[0]["path"]))) for k, v in out.items()}
    for kind in SAMPLE_SOURCES:
        assert after[kind]["prdect-id"] == 0
        assert {s: n for s, n in after[kind].items()} == {s: n for s, n in before[kind].items() if s != "prdect-id"}
    assert info["dropped"] == {"prdect-id": before["catalogs"]["prdect-id"] + before["reviews"]["prdect-id"]}
    prdect_ids = {r["id"] for r in _rows(sample_path("catalog.jsonl")) if r["source"] == "prdect-id"}
    queries = _rows(Path(out["query_logs"][0]["path"]))
    assert queries and not {i for q in queries for i in q["item_ids"]} & prdect_ids
    assert info["dropped_item_refs"] > 0  # the hand-written queries also listed same-need PRDECT-ID products
    assert "prdect-id" not in training_sources(out, None)


def test_config_excluding_and_the_unseen_tasks():
    cfg, _ = load_run_config(None, profile="quick")
    loso = config_excluding(cfg, "filipino-shopee-reviews")
    assert loso.data["exclude_sources"] == ["filipino-shopee-reviews"] and "exclude_sources" not in cfg.data
    assert loso.eval.domain_tasks == ["domain"]  # the domain group already holds the source's task
    raw = config_excluding({"eval": {"domain_tasks": ["sample:tasks/prdect-category-clf"]}}, "prdect-id")
    assert raw["eval"]["domain_tasks"][0] == "sample:tasks/prdect-category-clf"
    assert "sample:tasks/prdect-title-queries" in raw["eval"]["domain_tasks"]
    assert unseen_tasks(["filipino-shopee-reviews"]) == ["shopee-ph-review-rating"]
    assert set(unseen_tasks(["prdect-id", "seaembed-handwritten"])) == set(ECOMMERCE_SOURCES["prdect-id"])
    domain = {json.loads((d / "task.json").read_text())["name"] for d in task_dirs("domain")}
    for source in ECOMMERCE_SOURCES:
        assert set(source_tasks(source)) <= domain
    with pytest.raises(ConfigError, match="unknown e-commerce source"):
        source_tasks("amazon")


def test_the_default_guard_does_not_touch_training_sources():
    cfg, base = load_run_config(None, profile="quick")
    train = training_sources({k: v for k, v in cfg.data["sources"].items()}, base)
    assert {"prdect-id", "talpco", "sib200", "indonlu-smsa"} <= train
    assert guard_overlap(resolve_tasks(cfg.eval.general_tasks, base), train) == []
    flagged = guard_overlap([str(sample_path("tasks/talpco-bitext")), str(sample_path("tasks/sib200-topic-clf"))],
                            train)
    assert [(f["task"], f["shared_sources"]) for f in flagged] == [("talpco-bitext", ["talpco"]),
                                                                   ("sib200-topic-clf", ["sib200"])]


def _guard_config(root: Path, base_model: Path, mode: str) -> Path:
    (root / "parallel.jsonl").write_text(json.dumps({"src": "good morning", "tgt": "selamat pagi", "src_lang": "en",
                                                     "tgt_lang": "id", "source": "talpco"}) + "\n", encoding="utf-8")
    cfg = {"base_model": str(base_model),
           "data": {"sources": {"parallel": [{"path": "parallel.jsonl"}]}, "translate": {"enabled": False}},
           "merge": {"guard_overlap": mode},
           "eval": {"domain_tasks": [str(sample_path("tasks/prdect-category-retrieval"))],
                    "general_tasks": [str(sample_path("tasks/talpco-bitext"))]}}
    path = root / "run.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


def test_a_guard_task_touching_a_training_source_is_refused_before_training(tmp_path, tiny_model_dir):
    cfg, base = load_run_config(_guard_config(tmp_path, tiny_model_dir, "error"))
    with pytest.raises(ConfigError, match="talpco-bitext \\(talpco\\)"):
        run_pipeline(cfg, base, tmp_path / "run", log=lambda _m: None)
    assert not (tmp_path / "run" / "data").exists()  # refused before the data stage ran


def test_data_stage_settings_carry_the_exclusion(tmp_path, tiny_model_dir):
    from seaembed.pipeline.run import _data_stage

    cfg, base = load_run_config(None, profile="quick", overrides={
        "base_model": str(tiny_model_dir), "data": {"exclude_sources": ["prdect-id"]}})
    logs: list[str] = []
    _fn, settings, _inputs, info = _data_stage(cfg, base, tmp_path, logs.append)
    assert settings["exclude_sources"] == ["prdect-id"] and "prdect-id" not in info["training_sources"]
    assert info["loso"]["dropped"]["prdect-id"] > 0
    assert any("training without prdect-id" in line for line in logs)
    for src in settings["sources"]["catalogs"]:
        assert all(r.get("source") != "prdect-id" for r in _rows(Path(src["path"])))
    with pytest.raises(ConfigError, match="exclude_sources"):
        bad, b = load_run_config(None, overrides={"data": {"exclude_sources": "prdect-id"}})
        _data_stage(bad, b, tmp_path, logs.append)
