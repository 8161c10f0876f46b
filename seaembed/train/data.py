"""Turn TrainingExample JSONL files into the datasets and collator the trainer consumes.

Rows are grouped by task (or source) and by hard-negative count, one `datasets.Dataset` per group in a `DatasetDict`,
so every batch is drawn from one group and has a fixed set of columns: `query`, `positive`, `negative_1..k`, then
`label` (the class key, which sentence-transformers hands the loss as `labels`) and `example_idx` (the example's
0-based position across the training files, used for the consumed-examples log; the collator keeps it away from the
tokenizer). When some example has a `weight` other than 1 (e.g. down-weighted by self-validation), every group also
has a `weight` column; the collator folds it into `labels` as (class key, weight) rows, the one per-row tensor
sentence-transformers passes a loss, and the CAM losses weight each row's term by it (`seaembed.train.losses`).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from sentence_transformers.sentence_transformer.data_collator import SentenceTransformerDataCollator

from seaembed.data.schema import TrainingExample, read_examples
from seaembed.errors import InputError
from seaembed.train.class_keys import ClassKeys

logger = logging.getLogger(__name__)


@dataclass
class TrainingData:
    """The grouped training set: rows per group name, the class-key map, counts for the model card."""

    groups: dict[str, dict[str, list[Any]]]
    class_keys: ClassKeys
    n_examples: int
    trimmed_negatives: int = 0
    tasks: dict[str, int] = field(default_factory=dict)

    def to_dataset_dict(self):
        from datasets import Dataset, DatasetDict

        return DatasetDict({name: Dataset.from_dict(cols) for name, cols in sorted(self.groups.items())})

    def negative_columns(self) -> list[str]:
        k = max((sum(c.startswith("negative_") for c in cols) for cols in self.groups.values()), default=0)
        return [f"negative_{i + 1}" for i in range(k)]


def _group_name(ex: TrainingExample, group_by: str, n_neg: int) -> str:
    base = (ex.source or ex.task) if group_by == "source" else ex.task
    return base if n_neg == 0 else f"{base}+{n_neg}neg"


def load_training_data(paths: list[str | Path], *, group_by: str = "task", max_negatives: int = 7,
                       class_keys: ClassKeys | None = None) -> TrainingData:
    """Read the training files (errors name file:line:field) into per-group columns."""
    class_keys = class_keys or ClassKeys()
    groups: dict[str, dict[str, list[Any]]] = {}
    tasks: dict[str, int] = defaultdict(int)
    idx, trimmed = 0, 0
    weights: dict[str, list[float]] = defaultdict(list)
    for path in paths:
        n_file = 0
        for ex in read_examples(path):
            negatives = [n for n in ex.negatives if n and n.strip()]
            if len(negatives) > max_negatives:
                trimmed += len(negatives) - max_negatives
                negatives = negatives[:max_negatives]
            name = _group_name(ex, group_by, len(negatives))
            cols = groups.setdefault(name, {"query": [], "positive": [],
                                            **{f"negative_{i + 1}": [] for i in range(len(negatives))},
                                            "label": [], "example_idx": []})
            cols["query"].append(ex.query)
            cols["positive"].append(ex.positive)
            for i, n in enumerate(negatives):
                cols[f"negative_{i + 1}"].append(n)
            cols["label"].append(class_keys.key(ex.task, ex.label))
            cols["example_idx"].append(idx)
            weights[name].append(float(ex.weight))
            tasks[ex.task] += 1
            idx += 1
            n_file += 1
        if n_file == 0:
            raise InputError(path, "no training examples in the file")
    if any(w != 1.0 for ws in weights.values() for w in ws):
        for name, cols in groups.items():
            cols["weight"] = weights[name]
    if trimmed:
        logger.warning("kept the first %d hard negatives per example; %d extra negatives were not used",
                       max_negatives, trimmed)
    return TrainingData(groups=groups, class_keys=class_keys, n_examples=idx, trimmed_negatives=trimmed,
                        tasks=dict(tasks))


def column_prompts(columns: list[str], query_prompt: str | None, passage_prompt: str | None) -> dict[str, str]:
    """Per-column prompts for the trainer: the query column gets the query prompt, every other text column the
    passage prompt."""
    out: dict[str, str] = {}
    for c in columns:
        p = query_prompt if c == "query" else passage_prompt
        if p:
            out[c] = p
    return out


@dataclass
class ExampleTrackingCollator(SentenceTransformerDataCollator):
    """sentence-transformers' collator that passes `example_idx` through as a tensor instead of tokenizing it, and
    folds a `weight` column into the labels: (rows, 2) float64 (class key, weight), read by the CAM losses."""

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        ids = weights = None
        if features and "example_idx" in features[0]:
            ids = torch.tensor([int(f["example_idx"]) for f in features], dtype=torch.long)
        if features and "weight" in features[0]:
            weights = torch.tensor([float(f["weight"]) for f in features], dtype=torch.float64)
        if ids is not None or weights is not None:
            features = [{k: v for k, v in f.items() if k not in ("example_idx", "weight")} for f in features]
        batch = super().__call__(features)
        if ids is not None:
            batch["example_idx"] = ids
        if weights is not None:
            keys = batch.get("label")
            keys = torch.full((len(features),), -1, dtype=torch.long) if keys is None else keys
            batch["label"] = torch.stack([keys.to(torch.float64), weights], dim=1)
        return batch
