"""Task loading: every type loads; every bad input names its file (and line/field)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eval_task_files import write_all, write_classification, write_clustering, write_pairs, write_retrieval

from seaembed.errors import InputError
from seaembed.evaluate.tasks import find_task_dirs, load_task


def test_every_type_loads(task_root: Path):
    dirs = find_task_dirs([task_root])
    tasks = {load_task(d).type: load_task(d) for d in dirs}
    assert set(tasks) == {"retrieval", "classification", "pair-classification", "bitext", "clustering"}
    r = tasks["retrieval"]
    assert len(r.corpus) == 9 and set(r.qrels) == {"q1", "q2", "q3", "q4"}
    assert r.query_prompt == "query" and r.passage_prompt == "passage"
    assert tasks["clustering"].passage_prompt == "query"  # symmetric tasks: query prompt on both sides
    assert tasks["pair-classification"].dev is not None
    assert {p.tgt_lang for p in tasks["bitext"].pairs} == {"id", "th"}


def test_find_task_dirs_accepts_a_task_and_a_parent(task_root: Path):
    assert find_task_dirs([task_root / "bitext"]) == [task_root / "bitext"]
    assert len(find_task_dirs([task_root, task_root / "bitext"])) == 5  # deduplicated


def test_not_a_task_dir(tmp_path: Path):
    with pytest.raises(InputError, match="task.json"):
        find_task_dirs([tmp_path])
    with pytest.raises(InputError, match="no such task directory"):
        find_task_dirs([tmp_path / "nope"])


def test_missing_files_are_named(tmp_path: Path):
    d = write_retrieval(tmp_path / "r")
    (d / "qrels" / "test.tsv").unlink()
    with pytest.raises(InputError) as e:
        load_task(d)
    assert e.value.path.endswith("qrels/test.tsv") and "qrels/test.tsv" in str(e.value)
    c = write_classification(tmp_path / "c")
    (c / "train.jsonl").unlink()
    with pytest.raises(InputError, match="train.jsonl"):
        load_task(c)


def test_qrels_unknown_ids_give_file_and_line(tmp_path: Path):
    d = write_retrieval(tmp_path / "r")
    qrels = d / "qrels" / "test.tsv"
    lines = qrels.read_text().splitlines()
    qrels.write_text("\n".join(lines[:3] + ["q1\tdoc-missing\t1"] + lines[3:]) + "\n")
    with pytest.raises(InputError) as e:
        load_task(d)
    assert e.value.line == 4 and e.value.field == "corpus-id" and "doc-missing" in str(e.value)
    assert str(e.value).startswith(f"{qrels}:4:")
    qrels.write_text("\n".join(lines[:2] + ["q99\td0\t1"]) + "\n")
    with pytest.raises(InputError, match="query-id 'q99' is not in queries.jsonl") as e:
        load_task(d)
    assert e.value.line == 3


def test_empty_corpus(tmp_path: Path):
    d = write_retrieval(tmp_path / "r")
    (d / "corpus.jsonl").write_text("")
    with pytest.raises(InputError, match="empty corpus") as e:
        load_task(d)
    assert e.value.path.endswith("corpus.jsonl")


def test_one_class_label_column(tmp_path: Path):
    d = write_classification(tmp_path / "c")
    rows = [json.loads(x) for x in (d / "train.jsonl").read_text().splitlines()]
    (d / "train.jsonl").write_text("".join(json.dumps({**r, "label": "shoes"}) + "\n" for r in rows))
    with pytest.raises(InputError, match="one class") as e:
        load_task(d)
    assert e.value.field == "label" and e.value.path.endswith("train.jsonl")
    k = write_clustering(tmp_path / "k")
    (k / "test.jsonl").write_text('{"text": "a", "label": "x"}\n{"text": "b", "label": "x"}\n')
    with pytest.raises(InputError, match="one class"):
        load_task(k)


def test_bad_pair_label_and_unknown_type(tmp_path: Path):
    d = write_pairs(tmp_path / "p")
    with open(d / "test.jsonl", "a") as f:
        f.write('{"text1": "a", "text2": "b", "label": 2}\n')
    n = len((d / "test.jsonl").read_text().splitlines())
    with pytest.raises(InputError, match="expected 0 or 1") as e:
        load_task(d)
    assert e.value.line == n
    (d / "task.json").write_text('{"type": "ranking"}')
    with pytest.raises(InputError, match="must be one of") as e:
        load_task(d)
    assert e.value.field == "type"


def test_main_metric_must_fit_the_type(tmp_path: Path):
    d = write_all(tmp_path / "t") / "bitext"
    (d / "task.json").write_text('{"type": "bitext", "name": "b", "main_metric": "ndcg_at_10"}')
    with pytest.raises(InputError, match="main_metric"):
        load_task(d)
