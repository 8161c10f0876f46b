"""Training files and dev tasks share no product, title, query or sentence; nothing comes from a file named test."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

TRAINING = ("catalog.jsonl", "queries.jsonl", "reviews.jsonl", "parallel.jsonl", "labels/shopee_ph_reviews.jsonl",
            "labels/wisesight_sentiment.jsonl", "labels/smsa_sentiment.jsonl")


def norm(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def training_texts(samples: Path, rows) -> set[str]:
    out = set()
    for r in rows(samples / "catalog.jsonl"):
        out.update(norm(x) for x in (r["title"], r["description"] or "") if x)
    for r in rows(samples / "queries.jsonl"):
        out.add(norm(r["query"]))
    for r in rows(samples / "parallel.jsonl"):
        out.update((norm(r["src"]), norm(r["tgt"])))
    for name in TRAINING[3:]:
        out.update(norm(r.get("text", "")) for r in rows(samples / name) if r.get("text"))
    return out - {""}


def task_texts(samples: Path, rows) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for d in sorted((samples / "tasks").iterdir()):
        texts = set()
        for f in d.rglob("*.jsonl"):
            for r in rows(f):
                for key in ("title", "text", "text1", "src", "tgt"):
                    if r.get(key):
                        texts.add(norm(r[key]))
        out[d.name] = texts - {""}
    return out


def test_no_product_id_of_the_training_files_is_in_a_task(samples, rows):
    train_ids = {r["id"] for r in rows(samples / "catalog.jsonl")}
    for r in rows(samples / "queries.jsonl"):
        assert set(r["item_ids"]) <= train_ids
    assert {r["item_id"] for r in rows(samples / "reviews.jsonl")} <= train_ids
    for d in (samples / "tasks").iterdir():
        ids = set()
        for f in d.rglob("*.jsonl"):
            ids.update(r.get("_id") or r.get("id") for r in rows(f))
        if (d / "qrels" / "test.tsv").exists():
            with open(d / "qrels" / "test.tsv", encoding="utf-8") as f:
                ids.update(row["corpus-id"] for row in csv.DictReader(f, delimiter="\t"))
        assert not (ids & train_ids), (d.name, sorted(ids & train_ids)[:5])


def test_no_training_text_is_in_a_task(samples, rows):
    train = training_texts(samples, rows)
    for name, texts in task_texts(samples, rows).items():
        # category names/paths are labels shared on purpose (the query side of the category tasks), not items
        shared = {t for t in train & texts if len(t.split()) > 3}
        assert not shared, (name, sorted(shared)[:5])


def test_dev_tasks_do_not_overlap_each_other_across_train_and_test(samples, rows):
    for d in (samples / "tasks").iterdir():
        if (d / "train.jsonl").exists():
            train = {norm(r["text"]) for r in rows(d / "train.jsonl")}
            test = {norm(r["text"]) for r in rows(d / "test.jsonl")}
            assert not (train & test), (d.name, sorted(train & test)[:3])
        if (d / "dev.jsonl").exists():
            dev = {norm(r["text1"]) for r in rows(d / "dev.jsonl")}
            test = {norm(r["text1"]) for r in rows(d / "test.jsonl")}
            assert not (dev & test), (d.name, sorted(dev & test)[:3])


def test_handwritten_intents_are_split_whole(samples, rows):
    yaml = pytest.importorskip("yaml")
    src = Path(__file__).resolve().parents[2] / "scripts" / "samples_source" / "handwritten_products.yaml"
    items = yaml.safe_load(src.read_text(encoding="utf-8"))["products"]
    intent = {p["id"]: p["intent"] for p in items}
    in_catalog = {r["id"] for r in rows(samples / "catalog.jsonl") if r["source"] == "seaembed-handwritten"}
    in_task = {r["_id"] for r in rows(samples / "tasks" / "multilingual-product-search" / "corpus.jsonl")
               if r["_id"].startswith("hw-")}
    assert in_catalog and in_task and in_catalog | in_task == set(intent)
    assert not ({intent[i] for i in in_catalog} & {intent[i] for i in in_task})


def test_sample_ids_name_their_source_split(samples, rows):
    for name in TRAINING[4:]:
        assert all("-train-" in r["id"] for r in rows(samples / name)), name
    for name in ("train", "test"):
        assert all(r["id"].startswith("shopee-val-") for r in rows(samples / "tasks/shopee-ph-review-rating" / f"{name}.jsonl"))


def _dataset_test_texts(datasets: Path) -> set[str]:
    """Every text of every file named test in the shared datasets (they are never to be used)."""
    out = set()
    for path in datasets.rglob("*"):
        if not path.is_file() or "test" not in path.stem.lower():
            continue
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            for cell in line.split("\t"):
                if len(cell) > 25:
                    out.add(norm(cell))
    return out


def test_nothing_comes_from_a_file_named_test(samples, rows, datasets):
    held_out = _dataset_test_texts(datasets)
    assert len(held_out) > 1000  # the check really read the test files (SIB-200, IndoNLU, ...)
    found = []
    for f in samples.rglob("*.jsonl"):
        for r in rows(f):
            for key in ("text", "title", "src", "tgt", "text1", "query"):
                if isinstance(r.get(key), str) and norm(r[key]) in held_out:
                    found.append((f.name, r[key][:60]))
    assert not found, found[:5]
