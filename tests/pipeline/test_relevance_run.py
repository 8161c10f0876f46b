"""`seaembed run` with `relevance: {enabled: true}` on the tiny model: the cross-encoder is trained from the data
section's relevance sources as its own stage, scored on a relevance task's report half (thresholds from the select
half) beside the bi-encoder cosine baselines and the all-positive floor; the table is in run.json, the results files
and the summary; the serve command names the reranker; both stages resume by content."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from seaembed.errors import ConfigError
from seaembed.pipeline.config import load_run_config
from seaembed.pipeline.run import run_pipeline

QUERIES = {"sepatu lari": ("Fashion > Sepatu", "Sepatu Running Ringan"), "tas ransel": ("Fashion > Tas", "Tas Ransel Laptop"),
           "kaos polos": ("Fashion > Kaos", "Kaos Polos Hitam"), "minyak goreng": ("Makanan > Minyak", "Minyak Sawit 2L"),
           "running shoes": ("Fashion > Sepatu", "Men's Running Shoes"), "laptop bag": ("Fashion > Tas", "Laptop Backpack")}


def _write_inputs(root: Path) -> None:
    """A catalog, CIKM-shaped QC / QI CSVs (the QI targets are catalog ids) and a relevance task."""
    catalog = [{"id": f"p{i}", "title": title, "category_path": cat, "lang": "id"}
               for i, (cat, title) in enumerate(QUERIES.values())]
    (root / "catalog.jsonl").write_text("".join(json.dumps(r) + "\n" for r in catalog), encoding="utf-8")
    qs = list(QUERIES)
    with open(root / "qc.csv", "w", newline="", encoding="utf-8") as f, \
            open(root / "qi.csv", "w", newline="", encoding="utf-8") as g:
        qc, qi = csv.writer(f), csv.writer(g)
        qc.writerow(["language", "origin_query", "category_path", "label"])
        qi.writerow(["language", "origin_query", "item_id", "label"])
        for i, q in enumerate(qs):
            other = qs[(i + 3) % len(qs)]
            lang = "en" if q in ("running shoes", "laptop bag") else "id"
            qc.writerows([[lang, q, QUERIES[q][0], 1], [lang, q, QUERIES[other][0], 0]])
            qi.writerows([[lang, q, f"p{i}", 1], [lang, q, f"p{(i + 3) % len(qs)}", 0]])
    task = root / "rel-task"
    task.mkdir()
    (task / "task.json").write_text(json.dumps({"name": "tiny-relevance", "type": "pair-classification",
                                                "languages": ["id", "en"], "main_metric": "f1"}), encoding="utf-8")
    rows = []
    for i, q in enumerate(qs):
        lang = "en" if q in ("running shoes", "laptop bag") else "id"
        for j, (cat, title) in enumerate(QUERIES.values()):
            if j in (i, (i + 1) % len(qs), (i + 2) % len(qs)):
                rows.append({"text1": q, "text2": cat, "label": int(j == i), "lang": lang, "kind": "query-category"})
                rows.append({"text1": q, "text2": title, "label": int(j == i), "lang": lang, "kind": "query-item"})
    (task / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def _config(root: Path, base_model: Path, **relevance) -> Path:
    cfg = {
        "base_model": str(base_model),
        "data": {"sources": {"catalogs": [{"path": "catalog.jsonl", "fields": {"category": "category_path"}}],
                             "relevance": [
                                 {"path": "qc.csv", "kind": "category",
                                  "fields": {"query": "origin_query", "target": "category_path", "lang": "language"}},
                                 {"path": "qi.csv", "kind": "item",
                                  "fields": {"query": "origin_query", "target": "item_id", "lang": "language"}}]},
                 "pairs": {"rules": ["relevance", "title-category"]}, "langid": {"enabled": False},
                 "translate": {"enabled": False}, "self_validation": {"enabled": False},
                 "synthetic": {"templates": {"enabled": False}, "consistency": {"enabled": False}},
                 "hard_negatives": {"enabled": False}},
        "train": {"batch_size": 4, "max_steps": 2, "checkpoint_steps": 2, "logging_steps": 1, "max_seq_length": 32},
        "merge": {"enabled": False},
        "eval": {"domain_tasks": ["rel-task"], "general_tasks": [], "baselines": []},
        "export": {"formats": []},
        "index": {"enabled": False},
        "relevance": {"enabled": True, "max_steps": 3, "batch_size": 4, "max_length": 32, "eval_task": "rel-task",
                      **relevance},
    }
    path = root / "run.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


@pytest.mark.slow
def test_run_trains_and_reports_the_relevance_model_then_resumes(tmp_path, tiny_model_dir):
    from seaembed.evaluate.metrics.pair_classification import at_threshold, best_threshold
    from seaembed.pipeline.relevance import relevance_halves
    from seaembed.pipeline.summary import summarise
    from seaembed.serve.rerank import load_reranker
    from seaembed.train.cross_encoder import load_cross_encoder, score_pairs

    _write_inputs(tmp_path)
    cfg, base = load_run_config(_config(tmp_path, tiny_model_dir))
    out = tmp_path / "run"
    logs: list[str] = []
    manifest = run_pipeline(cfg, base, out, log=logs.append)

    assert list(manifest["stages"]) == ["data", "train", "relevance-train", "eval", "relevance-eval"]
    # 12 QC + 12 QI pairs from the CSVs; the QI targets (catalog ids) became titles
    assert manifest["stages"]["relevance-train"]["pairs"] == 24
    assert manifest["stages"]["relevance-train"]["class_balance"] == {"query-category": {"pos": 6, "neg": 6},
                                                                       "query-item": {"pos": 6, "neg": 6}}
    model_dir = manifest["relevance_model"]
    assert load_reranker(model_dir).name == "cross-encoder-torch"  # what `seaembed serve --reranker` loads

    rel = manifest["relevance"]
    assert rel["task"] == "tiny-relevance" and rel["split_seed"] == 0
    assert set(rel["systems"]) == {"cross-encoder", "bi-encoder cosine (final)", "bi-encoder cosine (base)"}
    # each group's threshold is the best one on the select half; its F1 is measured on the report half
    select, report = relevance_halves(tmp_path / "rel-task", seed=0)
    assert (len(select), len(report)) == (rel["rows"]["select"], rel["rows"]["report"]) and len(report) >= 16
    model = load_cross_encoder(model_dir)
    for group, kind in (("QC", "query-category"), ("QI", "query-item")):
        sel = [p for p in select if p.kind == kind]
        rep = [p for p in report if p.kind == kind]
        thr, _ = best_threshold(score_pairs(model, sel), [p.label for p in sel])
        want = at_threshold(score_pairs(model, rep), [p.label for p in rep], thr)
        got = rel["systems"]["cross-encoder"]["groups"][group]
        assert got["threshold"] == pytest.approx(thr, abs=1e-6) and got["f1"] == pytest.approx(want["f1"])
        share = np.mean([p.label for p in rep])
        assert got["f1_floor"] == pytest.approx(2 * share / (1 + share))  # calling every pair relevant
    assert "| all-positive floor |" in rel["table"] and "| bi-encoder cosine (final) |" in rel["table"]

    saved = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert saved == manifest
    md = Path(manifest["relevance_report"]).read_text(encoding="utf-8")
    assert rel["table"] in md and "threshold chosen on the select half" in md
    assert json.loads(Path(manifest["relevance_results"]).read_text(encoding="utf-8"))["systems"] == rel["systems"]
    # the eval stage's HTML report (and results.json / .md) carries the relevance table too
    evaluated = json.loads(Path(manifest["eval_results"]).read_text(encoding="utf-8"))
    assert evaluated["relevance"] == rel and "tiny-relevance:report" in evaluated["tasks"]
    html = Path(manifest["eval_report"]).read_text(encoding="utf-8")
    ce_row = rel["table"].splitlines()[2].strip("| ").split(" | ")  # the cross-encoder's markdown row
    assert "<h2>Relevance: cross-encoder vs bi-encoder cosine (tiny-relevance)</h2>" in html
    assert "<tr>" + "".join(f"<td>{c}</td>" for c in ce_row) + "</tr>" in html
    text = summarise(manifest, out)
    assert "Relevance (tiny-relevance;" in text and "  | cross-encoder |" in text
    assert manifest["serve_command"].endswith(f"--reranker {model_dir}")
    assert f"--reranker {model_dir}" in text

    # unchanged: every stage skipped, the table still in the manifest
    again = run_pipeline(cfg, base, out, log=logs.append)
    assert all(st["skipped"] for st in again["stages"].values()) and again["relevance"] == rel
    # a relevance setting retrains and rescores the cross-encoder only
    cfg3, _ = load_run_config(_config(tmp_path, tiny_model_dir, max_steps=4))
    third = run_pipeline(cfg3, base, out, log=logs.append)
    assert [s for s, st in third["stages"].items() if not st["skipped"]] == ["relevance-train", "relevance-eval"]
    # the skipped eval stage's report now shows the new table
    assert json.loads(Path(third["eval_results"]).read_text(encoding="utf-8"))["relevance"] == third["relevance"]


def test_relevance_without_pairs_or_with_a_missing_file_fails_before_any_stage(tmp_path, tiny_model_dir):
    _write_inputs(tmp_path)
    path = _config(tmp_path, tiny_model_dir)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    del raw["data"]["sources"]["relevance"]
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    cfg, base = load_run_config(path)
    with pytest.raises(ConfigError, match="no files and the data section has no sources.relevance"):
        run_pipeline(cfg, base, tmp_path / "a", log=lambda m: None)
    cfg, base = load_run_config(path, overrides={"relevance": {"files": ["missing.jsonl"]}})
    with pytest.raises(ConfigError, match=r"relevance\] files\[0\]: no such file"):
        run_pipeline(cfg, base, tmp_path / "b", log=lambda m: None)
    with pytest.raises(ConfigError, match="relevance.files"):  # a CSV's kind is a pair kind, not the data section's
        load_run_config(path, overrides={"relevance": {"files": [{"path": "qc.csv", "kind": "category"}]}})
    assert not (tmp_path / "a" / "stages" / "data.json").exists()


@pytest.mark.slow
def test_run_exports_the_cross_encoder_to_int8_and_serves_the_export_when_faithful(tmp_path, tiny_model_dir,
                                                                                   monkeypatch):
    """With onnx-int8 among the run's exports, `relevance-export` writes the cross-encoder's int8 export; the serve
    command passes it to --reranker while its parity passes, else the torch dir, saying why; a rerun skips it."""
    import seaembed.export.cross_encoder as ce_export
    from seaembed.export.cross_encoder import OnnxScorer, parity_pairs
    from seaembed.pipeline.summary import summarise
    from seaembed.serve.rerank import load_reranker
    from seaembed.train.cross_encoder import load_cross_encoder

    _write_inputs(tmp_path)
    # enough training for the scores to spread (a near-constant model's int8 export does not keep its order)
    path = _config(tmp_path, tiny_model_dir, max_steps=200, learning_rate=1e-3, freeze_embeddings=False)
    cfg, base = load_run_config(path, overrides={"export": {"formats": ["onnx-int8"]}})
    out = tmp_path / "run"
    logs: list[str] = []
    manifest = run_pipeline(cfg, base, out, log=logs.append)

    assert list(manifest["stages"]) == ["data", "train", "relevance-train", "eval", "relevance-eval",
                                        "export-onnx-int8", "relevance-export"]
    export_dir = out / "export" / "reranker-onnx-int8"
    assert manifest["relevance_export"] == str(export_dir)
    meta = json.loads((export_dir / "cross_encoder.json").read_text(encoding="utf-8"))
    assert meta["format"] == "onnx-int8" and meta["source"] == manifest["relevance_model"]
    assert (export_dir / "model.onnx").is_file() and (export_dir / "parity.json").is_file()
    # the recorded parity is real: the int8 scores of the bundled pairs correlate with the torch model's
    pairs = parity_pairs()
    ref = load_cross_encoder(manifest["relevance_model"]).predict(pairs, show_progress_bar=False)
    got = OnnxScorer(export_dir).score(pairs)
    pearson = float(np.corrcoef(ref, got)[0, 1])
    stage = manifest["stages"]["relevance-export"]
    assert np.std(ref) > 1e-3 and pearson > 0.99  # an untrained one: std ~1e-5, Pearson ~0.5
    assert stage["parity"]["pearson"] == pytest.approx(pearson, abs=1e-6) == meta["parity"]["pearson"]
    assert "parity_problem" not in stage
    assert manifest["serve_command"].endswith(f"--reranker {export_dir}")
    assert load_reranker(export_dir).name == "cross-encoder-onnx-int8"
    assert f"relevance_export   {export_dir}" in summarise(manifest, out)

    again = run_pipeline(cfg, base, out, log=logs.append)
    assert all(st["skipped"] for st in again["stages"].values()) and again["serve_command"] == manifest["serve_command"]

    # a stricter parity bar: nothing reruns, the torch cross-encoder is served and the log says why in one line
    monkeypatch.setattr(ce_export, "PARITY_MIN_PEARSON", 1.01)
    logs.clear()
    strict = run_pipeline(cfg, base, out, log=logs.append)
    assert all(st["skipped"] for st in strict["stages"].values())
    assert strict["serve_command"].endswith(f"--reranker {manifest['relevance_model']}")
    why = [line for line in logs if line.startswith("[relevance-export] not a drop-in")]
    assert len(why) == 1 and "needs >= 1.01" in why[0] and "--reranker is the torch model" in why[0]
    assert strict["stages"]["relevance-export"]["parity_problem"] in why[0]
