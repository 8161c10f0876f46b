"""The relevance table (#17) the way the CIKM AnalytiCup 2025 scores QC and QI: positive-class F1 for QC and QI
separately and their mean, overall and per language, the threshold chosen on a select split and applied to a
separate report split; beside each F1 the all-positive floor and the threshold-free AP. Several systems (the
cross-encoder, the bi-encoder cosine baseline) are scored on the same rows in the same run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from seaembed.evaluate.metrics.pair_classification import at_threshold, best_threshold

GROUPS = {"QC": ("query-category",), "QI": ("query-item",), "TC": ("title-category",)}


def _group_idx(kinds: Sequence[str], group: str) -> np.ndarray:
    return np.asarray([i for i, k in enumerate(kinds) if k in GROUPS[group]], dtype=int)


def relevance_metrics(select: tuple[np.ndarray, Sequence[int], Sequence[str]],
                      report: tuple[np.ndarray, Sequence[int], Sequence[str], Sequence[str | None]]
                      ) -> dict[str, Any]:
    """One system's table. `select` = (scores, labels, kinds), `report` = (scores, labels, kinds, langs).
    Each group (QC, QI, TC) gets its own threshold, chosen on its select rows; `mean` is (QC F1 + QI F1) / 2."""
    s_scores, s_labels, s_kinds = select
    r_scores, r_labels, r_kinds, r_langs = report
    s_scores, r_scores = np.asarray(s_scores, dtype=float), np.asarray(r_scores, dtype=float)
    s_labels, r_labels = np.asarray(s_labels), np.asarray(r_labels)
    out: dict[str, Any] = {"groups": {}}
    for g in GROUPS:
        si, ri = _group_idx(s_kinds, g), _group_idx(r_kinds, g)
        if not len(si) or not len(ri):
            continue
        thr, _ = best_threshold(s_scores[si], s_labels[si])
        res = at_threshold(r_scores[ri], r_labels[ri], thr) | {"threshold": thr}
        langs = np.asarray([r_langs[i] or "" for i in ri])
        res["per_lang"] = {lang: at_threshold(r_scores[ri][langs == lang], r_labels[ri][langs == lang], thr)
                           for lang in sorted(set(langs))}
        out["groups"][g] = res
    if "QC" in out["groups"] and "QI" in out["groups"]:
        qc, qi = out["groups"]["QC"], out["groups"]["QI"]
        out["mean_f1"] = (qc["f1"] + qi["f1"]) / 2
        out["mean_floor"] = (qc["f1_floor"] + qi["f1_floor"]) / 2
        langs = sorted(set(qc["per_lang"]) | set(qi["per_lang"]))
        out["mean_per_lang"] = {lang: float(np.nanmean([g["per_lang"][lang]["f1"] for g in (qc, qi)
                                                        if lang in g["per_lang"]])) for lang in langs}
    return out


def bootstrap_ci(scores: np.ndarray, labels: Sequence[int], threshold: float, *, n: int = 1000, seed: int = 0
                 ) -> tuple[float, float]:
    """95% percentile-bootstrap interval of positive-class F1 at a fixed threshold (rows resampled)."""
    rng = np.random.default_rng(seed)
    scores, labels = np.asarray(scores), np.asarray(labels)
    vals = []
    for _ in range(n):
        i = rng.integers(0, len(scores), len(scores))
        vals.append(at_threshold(scores[i], labels[i], threshold)["f1"])
    lo, hi = np.percentile(vals, [2.5, 97.5])
    return float(lo), float(hi)


def table_rows(systems: Mapping[str, dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the relevance table: one row per system, QC / QI F1 (AP), their mean and TC F1 (x100,
    one decimal; `-` where a group is missing), then the all-positive floor."""
    header = ["system", "QC F1", "QC AP", "QI F1", "QI AP", "mean F1", "TC F1"]
    rows = []
    floor = None
    for name, m in systems.items():
        g = m["groups"]
        cell = lambda k, f, g=g: f"{100 * g[k][f]:.1f}" if k in g else "-"  # noqa: E731
        rows.append([name, cell("QC", "f1"), cell("QC", "ap"), cell("QI", "f1"), cell("QI", "ap"),
                     f"{100 * m.get('mean_f1', float('nan')):.1f}", cell("TC", "f1")])
        floor = floor or g
    if floor:
        cell = lambda k: f"{100 * floor[k]['f1_floor']:.1f}" if k in floor else "-"  # noqa: E731
        rows.append(["all-positive floor", cell("QC"), "-", cell("QI"), "-",
                     f"{100 * (floor['QC']['f1_floor'] + floor['QI']['f1_floor']) / 2:.1f}", cell("TC")])
    return header, rows


def format_table(systems: Mapping[str, dict[str, Any]]) -> str:
    """A markdown table: one row per system, QC / QI F1 (AP), their mean, and the all-positive floor."""
    header, rows = table_rows(systems)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def format_per_lang(systems: Mapping[str, dict[str, Any]]) -> str:
    """A markdown table of the QC/QI mean F1 per language, one column per system."""
    names = list(systems)
    langs = sorted({lang for m in systems.values() for lang in m.get("mean_per_lang", {})})
    lines = ["| lang | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for lang in langs:
        lines.append(f"| {lang} | " + " | ".join(f"{100 * systems[n]['mean_per_lang'].get(lang, float('nan')):.1f}"
                                                 for n in names) + " |")
    return "\n".join(lines)


def cosine_scorer(encoder: Any, query_prompt: str | None = "query", target_prompt: str | None = "query"
                  ) -> Callable[[Sequence[Any]], np.ndarray]:
    """Scores of relevance pairs by a bi-encoder (an `evaluate.encoders.Encoder`): the cosine of query and target,
    each encoded with its prompt (the task's, as the eval stage encodes its pairs)."""
    def score(pairs: Sequence[Any]) -> np.ndarray:
        a = encoder.encode([p.query for p in pairs], query_prompt)
        b = encoder.encode([p.target for p in pairs], target_prompt)
        return np.sum(a * b, axis=1)

    return score


def score_systems(select: Sequence[Any], report: Sequence[Any],
                  scorers: Mapping[str, Callable[[Sequence[Any]], np.ndarray]]) -> dict[str, dict[str, Any]]:
    """`relevance_metrics` of every scorer (pairs -> scores) on the same select / report pairs."""
    out = {}
    for name, score in scorers.items():
        out[name] = relevance_metrics((score(select), [p.label for p in select], [p.kind for p in select]),
                                      (score(report), [p.label for p in report], [p.kind for p in report],
                                       [p.lang for p in report]))
    return out
