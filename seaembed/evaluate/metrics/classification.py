"""Classification: logistic regression on embeddings, as MTEB does (fixed seed), scored by accuracy and macro-F1.

Two probes are reported. The main one (`accuracy`, `f1_macro`) is MTEB's: logistic regression on the raw
embeddings. Its L2 penalty acts on raw coordinates, so a change of the embedding space's isotropy (contrastive
fine-tuning spreads or shrinks the cloud) moves the score without any change in what the features separate.
The second (`accuracy_std`, `f1_macro_std`) fits the same classifier after StandardScaler (an sklearn Pipeline),
which is invariant to per-dimension scale and so to much of that effect; a real loss of information moves both.

Unlike MTEB's default (8 samples per label, 10 undersampled experiments) the classifier is trained once on the
whole train split: dev tasks here are small, and one fit on all data is less noisy than ten fits on 8 per label.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from seaembed.evaluate.metrics.grouping import lang_groups


def scores(y_true: Sequence[str], y_pred: Sequence[str]) -> dict[str, float]:
    """Accuracy and macro-F1 (over the labels present in `y_true` or `y_pred`)."""
    return {"accuracy": float(accuracy_score(y_true, y_pred)),
            "f1_macro": float(f1_score(y_true, y_pred, average="macro", zero_division=0)), "n": len(y_true)}


def classification_metrics(
    train_x: np.ndarray, train_y: Sequence[str], test_x: np.ndarray, test_y: Sequence[str],
    test_langs: Sequence[str | None] | None = None, *, seed: int = 42, max_iter: int = 1000,
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Fit on train embeddings, predict test; metrics overall and per test-row language.

    Keys: `accuracy`, `f1_macro` (the MTEB-style probe on raw embeddings), `accuracy_std`, `f1_macro_std` (the
    same probe on standardised features), `n`.
    """
    train_y = list(train_y)
    clf = LogisticRegression(max_iter=max_iter, random_state=seed)
    clf.fit(train_x, train_y)
    pred = clf.predict(test_x)
    std = make_pipeline(StandardScaler(), LogisticRegression(max_iter=max_iter, random_state=seed))
    std.fit(train_x, train_y)
    pred_std = std.predict(test_x)
    test_y = np.asarray(list(test_y), dtype=object)

    def both(idx) -> dict[str, float]:
        raw, st = scores(test_y[idx], pred[idx]), scores(test_y[idx], pred_std[idx])
        return {**raw, "accuracy_std": st["accuracy"], "f1_macro_std": st["f1_macro"]}

    overall = both(slice(None))
    per_lang = {lang: both(idx) for lang, idx in lang_groups(test_langs or []).items()}
    return overall, per_lang
