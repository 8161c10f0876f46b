"""`seaembed eval` and `seaembed eval make-task` end to end with the tiny model on small task dirs."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from seaembed.cli import app, main
from seaembed.evaluate.tasks import load_task

runner = CliRunner()


def test_eval_end_to_end(tiny_model_dir: Path, task_root: Path, tmp_path: Path):
    out = tmp_path / "out"
    res = runner.invoke(app, ["eval", "--model", str(tiny_model_dir), "--tasks", str(task_root / "retrieval"),
                              "--tasks", str(task_root), "--baseline", "bm25", "--baseline", str(tiny_model_dir),
                              "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    results = json.loads((out / "results.json").read_text())
    assert results["model"] == str(tiny_model_dir)
    assert set(results["tasks"]) == {"toy-retrieval", "toy-classification", "toy-pairs", "toy-bitext",
                                     "toy-clustering"}
    r = results["tasks"]["toy-retrieval"]
    assert r["type"] == "retrieval" and r["main_metric"] == "ndcg_at_10"
    assert set(r["metrics"]) >= {"ndcg_at_10", "recall_at_10", "recall_at_100", "mrr_at_10"}
    assert set(r["per_lang"]) == {"en", "id", "th"}
    assert set(results["tasks"]["toy-bitext"]["per_lang"]) == {"en-id", "en-th"}
    assert results["tasks"]["toy-pairs"]["metrics"]["threshold_source"] == "dev"
    bm25 = results["baselines"]["bm25"]
    assert bm25["model"] == "bm25" and 0 < bm25["tasks"]["toy-retrieval"]["metrics"]["ndcg_at_10"] <= 1
    assert bm25["tasks"]["toy-bitext"]["skipped"]
    # the same model as a baseline reproduces the model's numbers (seeds fixed)
    same = results["baselines"][str(tiny_model_dir)]["tasks"]
    for name, entry in results["tasks"].items():
        assert same[name]["metrics"] == entry["metrics"]
    md = (out / "results.md").read_text()
    assert "| toy-retrieval | retrieval | ndcg_at_10 |" in md and "## Per language" in md
    assert "toy-retrieval" in res.output and "report.html" in res.output


def _write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_make_task_every_type(tmp_path: Path):
    items = [("sepatu lari", "shoes", "id"), ("รองเท้าวิ่ง", "shoes", "th"), ("kaos hitam", "shirt", "id"),
             ("เสื้อยืด", "shirt", "th"), ("tas ransel", "bag", "id"), ("กระเป๋าเป้", "bag", "th")] * 2
    items = [(f"{t} {i}", c, lang) for i, (t, c, lang) in enumerate(items)]
    labelled = _write_csv(tmp_path / "labelled.csv", ["title", "cat", "lang"], [list(x) for x in items])
    for ttype in ("retrieval", "classification", "clustering"):
        res = runner.invoke(app, ["eval", "make-task", "--type", ttype, "--input", str(labelled), "--out",
                                  str(tmp_path / ttype), "--name", f"t-{ttype}", "--text-field", "title",
                                  "--label-field", "cat"])
        assert res.exit_code == 0, res.output
    r = load_task(tmp_path / "retrieval")
    assert sorted(q["text"] for q in r.queries.values()) == ["bag", "shirt", "shoes"]
    assert len(r.corpus) == 12 and all(len(v) == 4 for v in r.qrels.values())
    c = load_task(tmp_path / "classification")
    assert len(c.train) + len(c.test) == 12 and {x.label for x in c.test} == {"shoes", "shirt", "bag"}
    assert c.languages == ["id", "th"]

    qt = _write_csv(tmp_path / "qt.csv", ["q", "title"], [["sepatu", "sepatu lari"], ["sepatu", "sepatu kulit"],
                                                          ["kaos", "kaos hitam"]])
    res = runner.invoke(app, ["eval", "make-task", "--type", "retrieval", "--input", str(qt), "--query-field", "q",
                              "--text-field", "title", "--lang", "id", "--out", str(tmp_path / "qt"), "--name", "qt"])
    assert res.exit_code == 0, res.output
    qt_task = load_task(tmp_path / "qt")
    assert len(qt_task.queries) == 2 and sorted(map(len, qt_task.qrels.values())) == [1, 2]

    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join(json.dumps({"text1": f"q{i}", "text2": f"d{i}", "label": i % 2}) + "\n"
                             for i in range(20)))
    res = runner.invoke(app, ["eval", "make-task", "--type", "pair-classification", "--input", str(pairs),
                              "--text2-field", "text2", "--text-field", "text1", "--out", str(tmp_path / "p"),
                              "--name", "p", "--test-fraction", "0.5"])
    assert res.exit_code == 0, res.output
    p = load_task(tmp_path / "p")
    assert len(p.test) == 10 and len(p.dev) == 10

    (tmp_path / "en.txt").write_text("1\tMy father is a teacher.\n2\tThere is no school.\n3\tHello.\n")
    (tmp_path / "th.txt").write_text("2\tโรงเรียนหยุดครับ\n1\tพ่อเป็นอาจารย์ครับ\n")
    res = runner.invoke(app, ["eval", "make-task", "--type", "bitext", "--input", str(tmp_path / "en.txt"),
                              "--input2", str(tmp_path / "th.txt"), "--src-lang", "en", "--tgt-lang", "th",
                              "--out", str(tmp_path / "b"), "--name", "b"])
    assert res.exit_code == 0, res.output
    b = load_task(tmp_path / "b")
    assert [(x.src, x.tgt) for x in b.pairs] == [("My father is a teacher.", "พ่อเป็นอาจารย์ครับ"),
                                                 ("There is no school.", "โรงเรียนหยุดครับ")]
    assert b.languages == ["en", "th"]


def test_user_errors_exit_2_with_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys):
    one = _write_csv(tmp_path / "one.csv", ["text", "label"], [["a", "x"], ["b", "x"], ["c", "x"]])
    monkeypatch.setattr(sys, "argv", ["seaembed", "eval", "make-task", "--type", "classification", "--input",
                                      str(one), "--out", str(tmp_path / "c"), "--name", "c"])
    with pytest.raises(SystemExit) as e:
        main()
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "one class" in err and str(tmp_path / "c") in err
    assert not (tmp_path / "c").exists()  # nothing half-written
    monkeypatch.setattr(sys, "argv", ["seaembed", "eval", "--model", "x", "--tasks", str(tmp_path)])
    with pytest.raises(SystemExit) as e:
        main()
    assert e.value.code == 2 and "task.json" in capsys.readouterr().err
