"""Retrieval metrics agree with pytrec_eval (trec_eval) on random cases; exact top-k agrees with a full sort."""

from __future__ import annotations

import numpy as np
import pytest

from seaembed.evaluate.metrics import query_metrics, retrieval_metrics, top_k

pytrec_eval = pytest.importorskip("pytrec_eval")

TOL = 1e-9


def _random_case(rng: np.random.Generator, n_queries: int = 30, n_docs: int = 150):
    qrels, run = {}, {}
    docs = [f"d{i}" for i in range(n_docs)]
    for q in range(n_queries):
        judged = rng.choice(n_docs, size=rng.integers(1, 15), replace=False)
        grades = rng.integers(0, 4, size=len(judged))
        grades[0] = max(grades[0], 1)  # at least one relevant document
        qrels[f"q{q}"] = {docs[j]: int(g) for j, g in zip(judged, grades, strict=True)}
        # scores biased towards judged documents so that relevant ones land at varied ranks
        scores = rng.random(n_docs) + np.isin(np.arange(n_docs), judged) * rng.random() * 1.5
        run[f"q{q}"] = {docs[j]: float(scores[j]) for j in range(n_docs)}
    return qrels, run


@pytest.mark.parametrize("seed", range(5))
def test_parity_with_pytrec_eval(seed: int):
    rng = np.random.default_rng(seed)
    qrels, run = _random_case(rng)
    ranked = {q: sorted(s, key=lambda d: -s[d]) for q, s in run.items()}
    ours, _ = retrieval_metrics(ranked, qrels)

    ref = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "recall.10,100"}).evaluate(run)
    top10 = {q: {d: run[q][d] for d in ranked[q][:10]} for q in run}
    ref_rr = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(top10)
    for q in qrels:
        mine = query_metrics(ranked[q], qrels[q])
        assert mine["ndcg_at_10"] == pytest.approx(ref[q]["ndcg_cut_10"], abs=TOL)
        assert mine["recall_at_10"] == pytest.approx(ref[q]["recall_10"], abs=TOL)
        assert mine["recall_at_100"] == pytest.approx(ref[q]["recall_100"], abs=TOL)
        assert mine["mrr_at_10"] == pytest.approx(ref_rr[q]["recip_rank"], abs=TOL)
    assert ours["ndcg_at_10"] == pytest.approx(np.mean([ref[q]["ndcg_cut_10"] for q in qrels]), abs=TOL)
    assert 0 < ours["ndcg_at_10"] < 1  # a non-trivial case


def test_per_language_means_are_over_that_language_only():
    rng = np.random.default_rng(7)
    qrels, run = _random_case(rng, n_queries=12)
    ranked = {q: sorted(s, key=lambda d: -s[d]) for q, s in run.items()}
    langs = {q: ("th" if i % 3 == 0 else "id") for i, q in enumerate(sorted(qrels))}
    overall, per_lang = retrieval_metrics(ranked, qrels, langs)
    for lang in ("th", "id"):
        qs = [q for q in qrels if langs[q] == lang]
        assert per_lang[lang]["n_queries"] == len(qs)
        assert per_lang[lang]["ndcg_at_10"] == pytest.approx(np.mean([query_metrics(ranked[q], qrels[q])["ndcg_at_10"]
                                                                       for q in qs]))
    n_th, n_id = per_lang["th"]["n_queries"], per_lang["id"]["n_queries"]
    assert overall["mrr_at_10"] == pytest.approx(
        (per_lang["th"]["mrr_at_10"] * n_th + per_lang["id"]["mrr_at_10"] * n_id) / (n_th + n_id))


def test_top_k_matches_full_sort():
    rng = np.random.default_rng(0)
    q = rng.normal(size=(37, 16)).astype(np.float32)
    c = rng.normal(size=(300, 16)).astype(np.float32)
    idx, scores = top_k(q, c, 25, chunk=10)
    full = np.argsort(-(q @ c.T), axis=1, kind="stable")[:, :25]
    np.testing.assert_array_equal(idx, full)
    np.testing.assert_allclose(scores, np.take_along_axis(q @ c.T, full, axis=1), rtol=1e-6)
    idx_small, _ = top_k(q, c[:5], 25)
    assert idx_small.shape == (37, 5)


def test_map_at_10_equals_trec_eval_map_cut_10():
    """MAP@10 is trec_eval's map_cut_10 per query and in the mean: random queries, plus one with 14 relevant
    documents (more than 10: the denominator is all of them), one whose run retrieves no relevant document, and
    one with an empty run (scores 0; pytrec_eval leaves a query without a run out, so compare it on its own)."""
    rng = np.random.default_rng(11)
    qrels, run = _random_case(rng, n_queries=20)
    docs = [f"d{i}" for i in range(150)]
    qrels["many"] = {d: int(rng.integers(1, 3)) for d in docs[:14]}
    run["many"] = {d: float(s) for d, s in zip(docs, rng.random(150) + np.r_[np.full(14, 0.6), np.zeros(136)],
                                              strict=True)}
    qrels["miss"] = {"d0": 1, "d1": 2}
    run["miss"] = {d: float(s) for d, s in zip(docs[2:], rng.random(148), strict=True)}
    ranked = {q: sorted(s, key=lambda d: -s[d]) for q, s in run.items()}
    ref = pytrec_eval.RelevanceEvaluator(qrels, {"map_cut.10"}).evaluate(run)
    for q in qrels:
        assert query_metrics(ranked[q], qrels[q])["map_at_10"] == pytest.approx(ref[q]["map_cut_10"], abs=TOL)
    assert ref["miss"]["map_cut_10"] == 0.0 and 0 < ref["many"]["map_cut_10"] < 1
    rel_top10 = sum(d in qrels["many"] for d in ranked["many"][:10])
    assert ref["many"]["map_cut_10"] <= rel_top10 / 14 + TOL  # over all 14 relevant, not over 10
    ours, _ = retrieval_metrics(ranked, qrels)
    assert ours["map_at_10"] == pytest.approx(np.mean([ref[q]["map_cut_10"] for q in qrels]), abs=TOL)
    qrels["unretrieved"] = {"d5": 1}
    with_missing, _ = retrieval_metrics(ranked, qrels)  # judged but absent from the run: 0
    assert with_missing["map_at_10"] == pytest.approx(ours["map_at_10"] * (len(qrels) - 1) / len(qrels), abs=TOL)
