"""Semantic hard-negative mining with the guide model and faiss.

For each example, the positives of the other examples of the same task are the candidates. A candidate is taken
as a negative only if it

1. lies in the rank window `[range_min, range_max)` of the guide model's ranking (the positive itself excluded);
2. is not the same text as the positive or the query (normalised);
3. is not of the positive's `group` (the same product, or a known translation of it: parallel rows, translated
   copies) -- `exclude_same_group`;
4. is not a known positive of the same query -- `exclude_same_query_positives`: a query with several relevant
   items is one row per item, each of its own group, so without this rule the other relevant items of the query
   (its siblings) pass rules 2 and 3 and are mined as negatives. Queries are compared normalised (case-folded,
   whitespace collapsed), within the task;
5. does not carry the example's label (label-space tasks: another title of the same category is not a negative)
   -- `exclude_same_label`;
6. scores at most `fn_ratio` x the positive's score (NV-Retriever's "TopK-PercPos": a candidate nearly as close as
   the positive is probably an unlabelled positive) -- `fn_ratio`.

The first `num_negatives` survivors, by score, are kept; negatives the example already had (e.g. the irrelevant
targets of a relevance set) count towards `num_negatives`.

Why not `sentence_transformers.util.mine_hard_negatives`? Its window (`range_min`/`range_max`) and
`relative_margin` (whose `0.05` is exactly rule 5 with `fn_ratio=0.95`: threshold = pos - |pos| x margin, which we
reproduce) are what we need, but it has no per-row exclusion (rules 3 and 4), it deduplicates and regroups rows by
query text so the extra fields of our rows (label, group, origin_id, weight) cannot be carried through, and it does
not say which candidate was dropped by which rule, which the data report and the false-negative experiment need.
So this module keeps its semantics and adds the masks.

`MiningStats` measures the false-negative rate: the share of mined negatives that are a known positive of the
same query (0 with `exclude_same_query_positives`, the rate before the rule with it off), and how many known
positives the rules kept out.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from seaembed.augment.config import HardNegativesConfig
from seaembed.augment.filters import normalise
from seaembed.augment.guide import unique_encode
from seaembed.augment.mining_search import search_in_chunks
from seaembed.data.schema import TrainingExample

REASONS = ("same-text", "same-group", "same-query", "same-label", "fn-ratio")


def query_key(text: str) -> str:
    """The key under which rows are the same query: case-folded, stripped, whitespace collapsed."""
    return " ".join(text.casefold().split())


@dataclass
class MiningStats:
    """What mining saw, per task: candidates in the window, excluded per rule, rows short of negatives."""

    candidates: Counter = field(default_factory=Counter)
    excluded: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    mined: Counter = field(default_factory=Counter)
    short_rows: Counter = field(default_factory=Counter)
    # negatives taken that share the positive's group (only non-zero when exclude_same_group is off)
    same_group_taken: Counter = field(default_factory=Counter)
    # candidates that are a known positive of the same (normalised) query: excluded (by any rule) and taken
    known_positive_excluded: Counter = field(default_factory=Counter)
    known_positive_taken: Counter = field(default_factory=Counter)
    # the same ranking picked without the same-query rule: what the false-negative rate is without it
    mined_without_same_query: Counter = field(default_factory=Counter)
    known_positive_taken_without_same_query: Counter = field(default_factory=Counter)
    # how each task's nearest-neighbour search ran (flat, or IVF-PQ at its calibrated effort and recall)
    search: dict[str, dict] = field(default_factory=dict)

    def false_negative_rate(self, *, without_same_query: bool = False) -> float:
        """Share of mined negatives that are a known positive of the same query (as mined, or as they would be
        without `exclude_same_query_positives`)."""
        if without_same_query:
            mined, fns = self.mined_without_same_query, self.known_positive_taken_without_same_query
        else:
            mined, fns = self.mined, self.known_positive_taken
        total = sum(mined.values())
        return sum(fns.values()) / total if total else 0.0

    def to_json(self) -> dict[str, Any]:
        return {"candidates": dict(self.candidates), "excluded": {t: dict(c) for t, c in self.excluded.items()},
                "mined": dict(self.mined), "rows_short_of_negatives": dict(self.short_rows),
                "same_group_negatives_taken": dict(self.same_group_taken),
                "known_positives_excluded": dict(self.known_positive_excluded),
                "known_positives_taken": dict(self.known_positive_taken),
                "false_negative_rate": round(self.false_negative_rate(), 6),
                "mined_without_same_query_rule": dict(self.mined_without_same_query),
                "false_negative_rate_without_same_query_rule":
                    round(self.false_negative_rate(without_same_query=True), 6),
                "search": dict(self.search)}


def _extra(ex: TrainingExample, name: str) -> Any:
    return (ex.model_extra or {}).get(name)


def mine_task(examples: list[TrainingExample], model: Any, cfg: HardNegativesConfig, *, task: str,
              stats: MiningStats, batch_size: int = 64, show_progress: bool = False) -> list[list[str]]:
    """Mined negatives (texts) for each example of one task."""
    corpus = list(dict.fromkeys(ex.positive for ex in examples))
    if len(corpus) < 2:
        return [[] for _ in examples]
    where = {text: i for i, text in enumerate(corpus)}
    groups: list[set[str]] = [set() for _ in corpus]
    labels: list[set[str]] = [set() for _ in corpus]
    for ex in examples:
        j = where[ex.positive]
        if _extra(ex, "group"):
            groups[j].add(str(_extra(ex, "group")))
        if ex.label is not None:
            labels[j].add(ex.label)
    # every known positive (corpus index) of each normalised query
    known: dict[str, set[int]] = defaultdict(set)
    for ex in examples:
        known[query_key(ex.query)].add(where[ex.positive])
    norm = [normalise(t) for t in corpus]
    # symmetric tasks (both sides are sentences of the same kind) use the query prompt on both sides
    doc_prompt = "query" if task == "bitext" else "passage"
    # (texts already encoded by an earlier stage come from the in-process memo)
    docs = unique_encode(model, corpus, prompt=doc_prompt, batch_size=batch_size, show_progress=show_progress)
    qs = unique_encode(model, [ex.query for ex in examples], prompt="query", batch_size=batch_size,
                       show_progress=show_progress)
    pos_scores = np.einsum("ij,ij->i", qs, docs[[where[ex.positive] for ex in examples]])
    k = min(len(corpus), cfg.range_max + 1)
    scores, found, how = search_in_chunks(docs, qs, k)
    stats.search[task] = how.to_json()

    def pick(i: int, ex: TrainingExample, *, same_query: bool, record: bool) -> tuple[list[str], int]:
        """Row i's negatives and how many of them are known positives of its query; `record` counts into stats."""
        pos_j = where[ex.positive]
        qn, pn = normalise(ex.query), norm[pos_j]
        group = str(_extra(ex, "group")) if _extra(ex, "group") else None
        siblings = known[query_key(ex.query)]
        have = list(ex.negatives)
        want = max(0, cfg.num_negatives - len(have))
        threshold = None
        if cfg.fn_ratio is not None:
            pos = float(pos_scores[i])
            threshold = pos - abs(pos) * (1.0 - cfg.fn_ratio)
        taken: list[str] = []
        false_negatives = 0
        rank = -1
        for score, j in zip(scores[i], found[i], strict=True):
            if j < 0 or j == pos_j:
                continue
            rank += 1
            if rank < cfg.range_min:
                continue
            if rank >= cfg.range_max or len(taken) >= want:
                break
            reason = None
            sibling = int(j) in siblings
            if norm[j] in (pn, qn) or corpus[j] in have:
                reason = "same-text"
            elif cfg.exclude_same_group and group is not None and group in groups[j]:
                reason = "same-group"
            elif same_query and sibling:
                reason = "same-query"
            elif cfg.exclude_same_label and ex.label is not None and ex.label in labels[j]:
                reason = "same-label"
            elif threshold is not None and float(score) > threshold:
                reason = "fn-ratio"
            if record:
                stats.candidates[task] += 1
                if reason:
                    stats.excluded[task][reason] += 1
                if sibling:
                    (stats.known_positive_excluded if reason else stats.known_positive_taken)[task] += 1
                if not reason and group is not None and group in groups[j]:
                    stats.same_group_taken[task] += 1
            if reason:
                continue
            false_negatives += sibling
            taken.append(corpus[j])
        if record:
            stats.mined[task] += len(taken)
            if len(taken) < want:
                stats.short_rows[task] += 1
        return taken, false_negatives

    out: list[list[str]] = []
    for i, ex in enumerate(examples):
        taken, fns = pick(i, ex, same_query=cfg.exclude_same_query_positives, record=True)
        out.append(taken)
        # the false-negative rate the same-query rule prevents: the same ranking, picked without it (no encoding)
        without = taken
        if cfg.exclude_same_query_positives:
            without, fns = pick(i, ex, same_query=False, record=False)
        stats.mined_without_same_query[task] += len(without)
        stats.known_positive_taken_without_same_query[task] += fns
    return out


def mine_hard_negatives(examples: list[TrainingExample], model: Any, cfg: HardNegativesConfig, *,
                        batch_size: int = 64, show_progress: bool = False) -> tuple[list[TrainingExample], MiningStats]:
    """The examples with mined negatives appended (tasks outside `cfg.tasks` pass through unchanged)."""
    from seaembed.progress import tqdm

    stats = MiningStats()
    by_task: dict[str, list[int]] = defaultdict(list)
    for i, ex in enumerate(examples):
        if ex.task in cfg.tasks:
            by_task[ex.task].append(i)
    result = list(examples)
    for task, idx in tqdm(sorted(by_task.items()), desc="hard negatives", disable=not show_progress):
        rows = [examples[i] for i in idx]
        mined = mine_task(rows, model, cfg, task=task, stats=stats, batch_size=batch_size, show_progress=show_progress)
        for i, negs in zip(idx, mined, strict=True):
            if negs:
                result[i] = examples[i].model_copy(update={"negatives": list(examples[i].negatives) + negs})
    return result, stats
