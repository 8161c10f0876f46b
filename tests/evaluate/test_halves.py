"""Select/report halves: disjoint, exhaustive, stratified by language, stable under seed and growth."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from seaembed.evaluate.halves import half, split_items, split_task
from seaembed.evaluate.tasks import load_task

TASKS = Path(__file__).resolve().parents[2] / "seaembed" / "samples" / "tasks"


def test_retrieval_halves_split_the_judged_queries_by_language_and_keep_the_corpus() -> None:
    task = load_task(TASKS / "multilingual-product-search")
    sel, rep = split_task(task, seed=0)
    assert sel.name.endswith(":select") and rep.name.endswith(":report")
    assert set(sel.qrels).isdisjoint(rep.qrels)
    assert set(sel.qrels) | set(rep.qrels) == set(task.qrels)
    assert sel.corpus == task.corpus == rep.corpus
    by_lang = Counter(task.queries[q]["lang"] for q in task.qrels)
    for lang, n in by_lang.items():
        n_sel = sum(task.queries[q]["lang"] == lang for q in sel.qrels)
        assert n_sel == n // 2, lang  # an odd stratum gives its extra query to report


def test_classification_halves_split_test_rows_and_keep_the_probe_train_file() -> None:
    task = load_task(TASKS / "prdect-category-clf")
    sel, rep = split_task(task, seed=0)
    assert sel.train == task.train == rep.train
    assert len(sel.test) + len(rep.test) == len(task.test)
    assert not {id(r) for r in sel.test} & {id(r) for r in rep.test}
    assert sel.meta["half"] == "select" and rep.meta["parent_task"] == task.name


def test_the_split_depends_on_the_seed_and_is_reproducible() -> None:
    task = load_task(TASKS / "talpco-bitext")
    a, _ = split_task(task, seed=0)
    b, _ = split_task(task, seed=0)
    c, _ = split_task(task, seed=1)
    assert a.pairs == b.pairs
    assert a.pairs != c.pairs
    assert half(task, "report", seed=1).pairs == split_task(task, seed=1)[1].pairs


def test_growing_the_items_moves_few_of_the_old_ones_between_halves() -> None:
    items = [f"q{i}" for i in range(1000)]
    sel, _ = split_items(items, key=str, stratum=lambda _: 0, seed=3)
    sel2, _ = split_items(items + [f"new{i}" for i in range(50)], key=str, stratum=lambda _: 0, seed=3)
    moved = len(set(sel) ^ (set(sel2) & set(items)))
    assert moved <= 60


def test_a_half_cannot_be_split_again() -> None:
    task = load_task(TASKS / "talpco-bitext")
    with pytest.raises(ValueError, match="already a select half"):
        split_task(split_task(task)[0])
    with pytest.raises(ValueError, match="half must be"):
        half(task, "dev")  # type: ignore[arg-type]
