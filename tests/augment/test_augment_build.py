import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from seaembed.augment.build import build_dataset
from seaembed.augment.config import DataConfig, load_data_config
from seaembed.data.schema import read_examples

HAS_APERTIUM = shutil.which("apertium") is not None


@pytest.fixture
def built(sources, make_config, tiny_model_dir, tmp_path):
    raw = make_config(str(tiny_model_dir))
    if HAS_APERTIUM:
        raw["translate"] = {"enabled": True, "backend": {"kind": "apertium"}, "target_langs": ["ms"],
                            "min_share": 0.5, "fields": ["query", "positive"]}
    logs: list[str] = []
    cfg = DataConfig.model_validate(raw)
    out = tmp_path / "out" / "train.jsonl"
    result = build_dataset(cfg, base_dir=sources, out=out, work_dir=tmp_path / "work", show_progress=False,
                           log=logs.append)
    return cfg, result, logs, tmp_path


def test_build_writes_valid_examples_and_a_report(built):
    cfg, result, _, tmp = built
    rows = list(read_examples(result.out))
    assert len(rows) == result.examples > 20
    tasks = {r.task for r in rows}
    assert {"title-category", "title-description", "query-category", "query-item", "bitext", "classification",
            "review-item"} <= tasks
    assert all(r.lang for r in rows if r.task != "bitext")
    assert any(r.source == "synthetic-query:template" for r in rows)
    if HAS_APERTIUM:
        assert any(r.source and "translate:apertium" in r.source and r.lang == "ms" for r in rows)
    report = json.loads((result.report_dir / "report.json").read_text())
    assert report["examples"] == len(rows)
    assert report["counts"]["task"]["query-item"] == sum(r.task == "query-item" for r in rows)
    wheres = {m["where"] for m in report["malformed_rows"]}
    assert any(w.endswith("catalog.jsonl:4") for w in wheres) and any(w.endswith("catalog.jsonl:8") for w in wheres)
    assert report["dropped"]["per_reason"]["read: malformed row"] == 3
    assert report["lengths"]["query"]["count"] == len(rows)
    md = (result.report_dir / "report.md").read_text()
    assert "## Per language" in md and "catalog.jsonl:4" in md
    assert set(report["stages"]) == {"read", "pairs", "translate", "synthetic", "filter", "self-validation",
                                     "hard-negatives"}


def test_rerun_skips_every_stage_and_a_changed_section_reruns_from_there(built, sources):
    cfg, result, logs, tmp = built
    first = result.out.read_text()
    again: list[str] = []
    build_dataset(cfg, base_dir=sources, out=result.out, work_dir=tmp / "work", show_progress=False, log=again.append)
    assert sum("skipped" in m for m in again) == 7 and result.out.read_text() == first
    changed = cfg.model_copy(update={"hard_negatives": cfg.hard_negatives.model_copy(update={"num_negatives": 1})})
    third: list[str] = []
    build_dataset(changed, base_dir=sources, out=result.out, work_dir=tmp / "work", show_progress=False,
                  log=third.append)
    assert [m for m in third if m.endswith("running")] == ["[hard-negatives] running"]
    assert all(len(r.negatives) <= 1 or r.model_extra.get("given_negatives") for r in read_examples(result.out))


def test_cli_builds_and_reports_bad_config_in_one_line(sources, make_config, tiny_model_dir, tmp_path):
    raw = make_config(str(tiny_model_dir))
    raw.update(out=str(tmp_path / "o.jsonl"), work_dir=str(tmp_path / "w"),
               hard_negatives={"enabled": False}, self_validation={"enabled": False},
               synthetic={"consistency": {"enabled": False}})
    cfg_path = sources / "data.yaml"
    cfg_path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    assert load_data_config(cfg_path).out == str(tmp_path / "o.jsonl")
    exe = [sys.executable, "-m", "seaembed.cli"]
    done = subprocess.run(exe + ["data", "build", str(cfg_path), "--report", str(tmp_path / "rep"), "--no-progress"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "o.jsonl").exists() and (tmp_path / "rep" / "report.md").exists()
    raw["hard_negatives"] = {"range_min": 9, "range_max": 3}
    cfg_path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    bad = subprocess.run(exe + ["data", "build", str(cfg_path)], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "hard_negatives" in bad.stderr and "Traceback" not in bad.stderr


def test_example_config_validates():
    path = Path(__file__).resolve().parents[2] / "seaembed" / "augment" / "example_config.yaml"
    cfg = load_data_config(path)
    assert cfg.sources.catalogs and cfg.hard_negatives.fn_ratio == 0.95
