"""Dev evaluation during training: per-task retrieval of each dev example's positive among all dev targets.

A dev file is in the training-example format. For every task, its queries search a corpus of that task's positives
and hard negatives (deduplicated by text); the relevant document is the positive. For label-space tasks (title ->
category) that corpus is the set of class names, so accuracy@1 is nearest-class accuracy. This uses
sentence-transformers' `InformationRetrievalEvaluator` (one per task, run in sequence).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from seaembed.data.schema import read_examples


def build_dev_evaluator(path: str | Path, *, max_queries: int = 500, query_prompt: str | None = None,
                        passage_prompt: str | None = None, batch_size: int = 64):
    """A `SequentialEvaluator` of one `InformationRetrievalEvaluator` per task of the dev file."""
    from sentence_transformers.evaluation import InformationRetrievalEvaluator, SequentialEvaluator

    by_task: dict[str, list] = defaultdict(list)
    for ex in read_examples(path):
        by_task[ex.task].append(ex)
    evaluators = []
    for task, examples in sorted(by_task.items()):
        ids: dict[str, str] = {}  # text -> corpus id
        doc_id = _interner(ids)
        queries, relevant = {}, {}
        for i, ex in enumerate(examples[:max_queries]):
            queries[f"q{i}"] = ex.query
            relevant[f"q{i}"] = {doc_id(ex.positive)}
            for n in ex.negatives:
                doc_id(n)
        for ex in examples[max_queries:]:  # more targets make the ranking honest even when queries are capped
            doc_id(ex.positive)
        corpus = {i: text for text, i in ids.items()}
        evaluators.append(InformationRetrievalEvaluator(
            queries, corpus, relevant, name=f"dev_{task}", query_prompt=query_prompt, corpus_prompt=passage_prompt,
            batch_size=batch_size, write_csv=False, accuracy_at_k=[1, 10], precision_recall_at_k=[10],
            map_at_k=[10], show_progress_bar=False))
    if not evaluators:
        return None
    return SequentialEvaluator(evaluators, main_score_function=lambda scores: sum(scores) / len(scores))


def _interner(ids: dict[str, str]):
    """A function giving each distinct text a stable id `d<n>`, recorded in `ids`."""

    def doc_id(text: str) -> str:
        return ids.setdefault(text, f"d{len(ids)}")

    return doc_id
