"""Select and report halves of an evaluation task: a setting is chosen on one half and reported on the other.

Every choice a run makes (the merge weight, the fusion weight, early stopping) reads the `select` half of its dev
tasks; the summary, the HTML report and the README quote the `report` half only. The split is seeded and
stratified by language (and by label where a task has labels), and each item's half depends only on its own key
and the seed, ranked within its stratum: adding rows to a task moves few others between halves, and each stratum
is cut in two equal parts (an odd one gives the extra item to `report`).

What is split, per task type:
- retrieval: the judged queries; both halves search the whole corpus;
- classification: the test rows; both halves train their probe on the whole train file;
- pair-classification: the test pairs; the dev pairs (threshold choice) stay with both;
- bitext: the pairs, per language pair; each half mines among its own targets;
- clustering: the test rows.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from typing import Any, Literal, TypeVar

from seaembed.evaluate.tasks import Task

Half = Literal["select", "report"]
HALVES: tuple[Half, Half] = ("select", "report")
T = TypeVar("T")


def _rank_key(seed: int, key: str) -> str:
    return hashlib.sha256(f"{seed}\x00{key}".encode()).hexdigest()


def split_items(items: Sequence[T], *, key: Callable[[T], str], stratum: Callable[[T], Hashable],
                seed: int = 0) -> tuple[list[T], list[T]]:
    """Split `items` into (select, report), half of each stratum each, in the items' original order."""
    groups: dict[Hashable, list[int]] = defaultdict(list)
    for i, item in enumerate(items):
        groups[stratum(item)].append(i)
    chosen: set[int] = set()
    for idx in groups.values():
        ranked = sorted(idx, key=lambda i: (_rank_key(seed, key(items[i])), i))
        chosen.update(ranked[: len(ranked) // 2])
    select = [it for i, it in enumerate(items) if i in chosen]
    report = [it for i, it in enumerate(items) if i not in chosen]
    return select, report


def _named(task: Task, which: Half, seed: int, **fields: Any) -> Task:
    meta = {**task.meta, "half": which, "split_seed": seed, "parent_task": task.name}
    return dataclasses.replace(task, name=f"{task.name}:{which}", meta=meta, **fields)


def split_task(task: Task, *, seed: int = 0) -> tuple[Task, Task]:
    """Return the (select, report) halves of `task`; their names end in ":select" and ":report"."""
    if task.meta.get("half"):
        raise ValueError(f"task {task.name!r} is already a {task.meta['half']} half")
    if task.type == "retrieval":
        qids = [q for q in task.queries if q in task.qrels]
        sel, rep = split_items(qids, key=str, stratum=lambda q: task.queries[q].get("lang") or "", seed=seed)
        out = []
        for which, part in zip(HALVES, (sel, rep), strict=True):
            keep = set(part)
            out.append(_named(task, which, seed, queries={q: v for q, v in task.queries.items() if q in keep},
                              qrels={q: task.qrels[q] for q in part}))
        return out[0], out[1]
    if task.type == "bitext":
        sel, rep = split_items(task.pairs, key=lambda p: f"{p.src}\x00{p.tgt}",
                               stratum=lambda p: (p.src_lang, p.tgt_lang), seed=seed)
        return _named(task, "select", seed, pairs=sel), _named(task, "report", seed, pairs=rep)
    # classification, pair-classification, clustering: the test rows
    rows = list(task.test)

    def row_key(i: int) -> str:
        r = rows[i]
        text = getattr(r, "text", None) or f"{getattr(r, 'text1', '')}\x00{getattr(r, 'text2', '')}"
        return f"{i}\x00{text}"

    def row_stratum(i: int) -> Hashable:
        r = rows[i]
        return (getattr(r, "lang", None) or "", str(getattr(r, "label", "")))

    sel_i, rep_i = split_items(range(len(rows)), key=row_key, stratum=row_stratum, seed=seed)
    return (_named(task, "select", seed, test=[rows[i] for i in sel_i]),
            _named(task, "report", seed, test=[rows[i] for i in rep_i]))


def half(task: Task, which: Half, *, seed: int = 0) -> Task:
    """One half of `task` (see `split_task`)."""
    if which not in HALVES:
        raise ValueError(f"half must be one of {HALVES}, got {which!r}")
    return split_task(task, seed=seed)[HALVES.index(which)]


def describe_split(task: Task, *, seed: int = 0) -> dict[str, Any]:
    """What `run.json` records of a split: the task, the seed and each half's size."""
    sel, rep = split_task(task, seed=seed)
    return {"task": task.name, "seed": seed, "select": sel.describe(), "report": rep.describe()}
