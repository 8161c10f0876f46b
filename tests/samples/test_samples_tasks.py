"""Every shipped dev task is a valid task directory in the design.md format, and loads with seaembed.evaluate."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest

from seaembed.evaluate.tasks import METRICS, REQUIRED_FILES, load_task
from seaembed.samples import task_dirs


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]

EXPECTED = {
    "prdect-category-retrieval": ("retrieval", "domain"),
    "prdect-title-queries": ("retrieval", "domain"),
    "prdect-category-clf": ("classification", "domain"),
    "multilingual-product-search": ("retrieval", "domain"),
    "product-query-relevance": ("pair-classification", "domain"),
    "shopee-ph-review-rating": ("classification", "domain"),
    "sib200-topic-clf": ("classification", "general-touched"),
    "talpco-bitext": ("bitext", "general-touched"),
    "nusax-bitext": ("bitext", "general"),
    "nusax-sentiment-clf": ("classification", "general"),
    "emot-emotion-clf": ("classification", "general"),
    "wrete-sentence-retrieval": ("retrieval", "general"),
}
ALL = task_dirs()


def test_the_expected_tasks_are_shipped_in_their_groups():
    assert {d.name: (json.loads((d / "task.json").read_text())["type"], json.loads((d / "task.json").read_text())["group"])
            for d in ALL} == EXPECTED
    assert {d.name for d in task_dirs("domain")} == {n for n, (_, g) in EXPECTED.items() if g == "domain"}
    assert {d.name for d in task_dirs("general")} == {n for n, (_, g) in EXPECTED.items() if g == "general"}


@pytest.mark.parametrize("task_dir", ALL, ids=lambda d: d.name)
def test_task_json_and_files(task_dir: Path):
    meta = json.loads((task_dir / "task.json").read_text(encoding="utf-8"))
    assert meta["name"] == task_dir.name
    assert meta["main_metric"] in METRICS[meta["type"]]
    assert meta["group"] in ("domain", "general", "general-touched")
    # the general group is the merge search's guard: no source of it feeds a training file
    assert meta["touches_training"] is (meta["group"] != "general")
    assert meta["languages"] and all(isinstance(x, str) for x in meta["languages"])
    for rel in REQUIRED_FILES[meta["type"]]:
        assert (task_dir / rel).is_file(), rel
    assert (task_dir / "SOURCE.md").is_file()
    # every language that occurs in the rows is declared
    langs = Counter()
    for f in task_dir.rglob("*.jsonl"):
        for r in read_jsonl(f):
            for key in ("lang", "src_lang", "tgt_lang"):
                if r.get(key):
                    langs[r[key]] += 1
    assert set(langs) <= set(meta["languages"]), set(langs) - set(meta["languages"])


@pytest.mark.parametrize("task_dir", ALL, ids=lambda d: d.name)
def test_task_loads_and_has_real_content(task_dir: Path):
    task = load_task(task_dir)  # raises on unknown qrels ids, one-class labels, empty files
    sizes = task.describe()
    if task.type == "retrieval":
        assert sizes["queries"] >= 20 and sizes["corpus"] >= 100
        assert all(any(s > 0 for s in rel.values()) for rel in task.qrels.values())
        assert set(task.queries) == set(task.qrels)  # no query without a judgement
    elif task.type == "classification":
        assert len({e.label for e in task.train}) >= 2 and len({e.label for e in task.test}) >= 2
        assert {e.label for e in task.test} <= {e.label for e in task.train}
    elif task.type == "pair-classification":
        assert task.dev is not None and {p.label for p in task.dev} == {0, 1} == {p.label for p in task.test}
    elif task.type == "bitext":
        assert len({p.tgt_lang for p in task.pairs}) >= 5


@pytest.mark.parametrize("task_dir", [d for d in ALL if (d / "qrels" / "test.tsv").exists()], ids=lambda d: d.name)
def test_qrels_header_and_ids(task_dir: Path):
    with open(task_dir / "qrels" / "test.tsv", encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t"))
    assert rows[0] == ["query-id", "corpus-id", "score"]
    corpus = {r["_id"] for r in read_jsonl(task_dir / "corpus.jsonl")}
    queries = {r["_id"] for r in read_jsonl(task_dir / "queries.jsonl")}
    for q, d, s in rows[1:]:
        assert q in queries and d in corpus and int(s) > 0


def test_multilingual_search_covers_english_to_thai_vietnamese_indonesian():
    d = next(d for d in ALL if d.name == "multilingual-product-search")
    corpus = {r["_id"]: r for r in read_jsonl(d / "corpus.jsonl")}
    queries = {r["_id"]: r for r in read_jsonl(d / "queries.jsonl")}
    pairs = set()
    with open(d / "qrels" / "test.tsv", encoding="utf-8") as f:
        for line in list(f)[1:]:
            q, doc, s = line.rstrip("\n").split("\t")
            pairs.add((queries[q]["lang"], corpus[doc]["lang"]))
    for lang in ("th", "vi", "id"):
        assert ("en", lang) in pairs


def test_eval_budget_texts():
    """All tasks together stay small enough for the real model to evaluate in minutes on 2 cores."""
    n = 0
    for d in ALL:
        t = load_task(d)
        if t.type == "retrieval":
            n += len(t.corpus) + len(t.queries)
        elif t.type == "classification":
            n += len(t.train) + len(t.test)
        elif t.type == "pair-classification":
            n += len({x for p in t.test + (t.dev or []) for x in (p.text1, p.text2)})
        elif t.type == "bitext":
            n += len({x for p in t.pairs for x in (p.src, p.tgt)})
    assert 5_000 < n <= 30_000, n
