"""Self-validation filtering: score every example with models that did not see it, and drop (or down-weight) the
ones whose label is confidently contradicted.

- Label-space rows (examples with a `label`, per task): k folds; a logistic regression on frozen guide-model
  embeddings of the query is trained on k-1 folds and predicts the held-out fold. The folds are grouped by origin
  (`origin_id`: the source row a translated or synthetic copy came from; a row without one is its own origin), so a
  row and its copies are always held out together: this stage runs after translation and synthetic augmentation,
  and a mislabelled row's copies in the training folds would otherwise teach the model its wrong label. A row is contradicted when
  P(given label) < `given_below` and some other label has P > `other_above`.
- Pair rows (no label), only when `pair_max_rank` is set (off by default): the guide model ranks the example's
  positive among all positives of its task; a row whose positive ranks at `pair_max_rank` or worse is flagged. This
  judge is not out-of-fold: it is the untrained base guide, weakest exactly where training is needed (Khmer,
  Burmese, cross-lingual rows), so by default pair rows are not dropped on its word.

Each flagged row is reported with its reason and scores.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from seaembed.augment.config import SelfValidationConfig
from seaembed.augment.guide import unique_encode
from seaembed.augment.records import DropLog
from seaembed.data.schema import TrainingExample

STAGE = "self-validation"


@dataclass
class Verdict:
    index: int
    reason: str
    detail: str


def origin_of(ex: TrainingExample, index: int) -> str:
    """The origin id of an example: its `origin_id` (kept by translated and synthetic copies), else its own row."""
    origin = (ex.model_extra or {}).get("origin_id")
    return str(origin) if origin not in (None, "") else f"row:{index}"


def origin_folds(labels: list[str] | None, groups: list[str], n_splits: int, *, seed: int = 0
                 ) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) index arrays of k folds in which every group (origin) lies in one fold: stratified by label
    (`StratifiedGroupKFold`) when there are labels, `GroupKFold` otherwise. Fewer groups than `n_splits` give as
    many folds as groups."""
    from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

    g = np.asarray(groups)
    n_splits = min(n_splits, len(set(groups)))
    if n_splits < 2:
        return []
    x = np.zeros((len(g), 1))
    if labels is None:
        return list(GroupKFold(n_splits=n_splits).split(x, groups=g))
    folds = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return list(folds.split(x, np.asarray(labels), groups=g))


def label_verdicts(embeddings: np.ndarray, labels: list[str], cfg: SelfValidationConfig, *, seed: int = 0,
                   offset: int = 0, groups: list[str] | None = None) -> tuple[list[Verdict], np.ndarray]:
    """Contradicted rows of one label-space task, and P(given label) per row (NaN where not judged). `groups`: the
    origin of each row (default: every row its own); rows of one origin are always in the same fold."""
    from sklearn.linear_model import LogisticRegression

    y = np.asarray(labels)
    g = np.asarray(groups if groups is not None else [f"row:{i}" for i in range(len(labels))])
    counts = defaultdict(int)
    for label in labels:
        counts[label] += 1
    judged = np.array([counts[label] >= cfg.min_rows_per_label for label in labels])
    p_given = np.full(len(labels), np.nan)
    verdicts: list[Verdict] = []
    if len(set(y[judged])) < 2:
        return verdicts, p_given
    n_splits = max(2, min(cfg.folds, min(counts[label] for label in set(y[judged]))))
    idx = np.flatnonzero(judged)
    for train, test in origin_folds([str(v) for v in y[idx]], [str(v) for v in g[idx]], n_splits, seed=seed):
        tr, te = idx[train], idx[test]
        if len(set(y[tr])) < 2:  # a fold whose training part has one label cannot judge
            continue
        clf = LogisticRegression(max_iter=1000, C=10.0)
        clf.fit(embeddings[tr], y[tr])
        proba = clf.predict_proba(embeddings[te])
        classes = list(clf.classes_)
        for row, p in zip(te, proba, strict=True):
            given = classes.index(y[row]) if y[row] in classes else None
            pg = float(p[given]) if given is not None else 0.0
            p_given[row] = pg
            others = p.copy()
            if given is not None:
                others[given] = -1.0
            best = int(np.argmax(others))
            if pg < cfg.given_below and others[best] > cfg.other_above:
                verdicts.append(Verdict(offset + int(row), "label contradicted",
                                        f"P({str(y[row])!r})={pg:.2f}, P({str(classes[best])!r})={others[best]:.2f}"))
    return verdicts, p_given


def pair_verdicts(model: Any, examples: list[TrainingExample], max_rank: int, *, batch_size: int = 64,
                  show_progress: bool = False) -> list[Verdict]:
    """Rows whose positive ranks at `max_rank` or worse among the task's positives, under the guide model."""
    corpus = list(dict.fromkeys(ex.positive for ex in examples))
    if len(corpus) <= max_rank:
        return []
    where = {t: i for i, t in enumerate(corpus)}
    prompt = "query" if examples[0].task == "bitext" else "passage"
    docs = unique_encode(model, corpus, prompt=prompt, batch_size=batch_size, show_progress=show_progress)
    qs = unique_encode(model, [ex.query for ex in examples], prompt="query", batch_size=batch_size,
                       show_progress=show_progress)
    out = []
    for i in range(0, len(examples), 512):
        sims = qs[i:i + 512] @ docs.T
        for r, ex in enumerate(examples[i:i + 512]):
            pos = sims[r, where[ex.positive]]
            rank = int((sims[r] > pos).sum())
            if rank >= max_rank:
                out.append(Verdict(i + r, "positive ranked low by the guide model",
                                   f"rank {rank + 1} of {len(corpus)} (score {pos:.2f})"))
    return out


def self_validate(examples: list[TrainingExample], model: Any, cfg: SelfValidationConfig, drops: DropLog, *,
                  seed: int = 0, batch_size: int = 64, show_progress: bool = False) -> list[TrainingExample]:
    """The examples with contradicted ones dropped (or down-weighted to `downweight_to`), each logged."""
    by_task: dict[tuple[str, bool], list[int]] = defaultdict(list)
    for i, ex in enumerate(examples):
        if cfg.tasks is None or ex.task in cfg.tasks:
            by_task[(ex.task, ex.label is not None)].append(i)
    verdicts: list[Verdict] = []
    for (_task, has_label), idx in sorted(by_task.items()):
        rows = [examples[i] for i in idx]
        if has_label:
            emb = unique_encode(model, [ex.query for ex in rows], prompt="query", batch_size=batch_size,
                                show_progress=show_progress)
            found, _ = label_verdicts(emb, [str(ex.label) for ex in rows], cfg, seed=seed,
                                      groups=[origin_of(ex, i) for ex, i in zip(rows, idx, strict=True)])
        elif cfg.pair_max_rank is not None:
            found = pair_verdicts(model, rows, cfg.pair_max_rank, batch_size=batch_size, show_progress=show_progress)
        else:
            found = []
        verdicts += [Verdict(idx[v.index], v.reason, v.detail) for v in found]
    flagged = {v.index: v for v in verdicts}
    out = []
    for i, ex in enumerate(examples):
        v = flagged.get(i)
        if v is None:
            out.append(ex)
            continue
        origin = str((ex.model_extra or {}).get("origin_id") or "")
        if cfg.action == "drop":
            drops.add(STAGE, v.reason, where=origin, detail=v.detail, preview=ex.query, lang=ex.lang)
        else:
            drops.add(STAGE + " (down-weighted)", v.reason, where=origin, detail=v.detail, preview=ex.query,
                      lang=ex.lang)
            out.append(ex.model_copy(update={"weight": cfg.downweight_to}))
    return out
