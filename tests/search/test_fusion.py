"""Hybrid-search fusion functions (seaembed.search.fusion) on small hand-computed inputs, and BM25's query bound."""

from __future__ import annotations

import math

import pytest

from seaembed.search.fusion import (
    DEFAULT_ALPHA,
    DEFAULT_FUSION,
    FUSIONS,
    bounded,
    min_max,
    resolve_alpha,
    rrf,
    weighted,
    weighted_rrf,
    z_scores,
    zscore,
)

approx = pytest.approx


def docs(ranked):
    return [d for d, _ in ranked]


# --- reciprocal rank fusion ---------------------------------------------------------------------------------------
def test_rrf_values_and_order():
    fused = rrf([[1, 2, 3], [3, 1]], k=60)
    assert docs(fused) == [1, 3, 2]
    scores = dict(fused)
    assert scores[1] == approx(1 / 61 + 1 / 62)
    assert scores[3] == approx(1 / 63 + 1 / 61)
    assert scores[2] == approx(1 / 62)  # only in the first ranking
    assert dict(rrf([[5, 6]], k=1)) == approx({5: 1 / 2, 6: 1 / 3})


def test_rrf_ties_break_by_doc_id_and_empty_inputs():
    assert rrf([[2], [1]]) == [(1, approx(1 / 61)), (2, approx(1 / 61))]
    assert rrf([[7, 3], [3, 7]]) == [(3, approx(1 / 61 + 1 / 62)), (7, approx(1 / 61 + 1 / 62))]
    assert rrf([]) == [] and rrf([[], []]) == []
    assert docs(rrf([[], [4, 2]])) == [4, 2]


def test_weighted_rrf():
    dense, lexical = [1, 2, 3], [3, 4, 1]
    plain = rrf([dense, lexical])
    half = weighted_rrf(dense, lexical, 0.5)  # alpha 0.5 is plain RRF
    assert docs(half) == docs(plain) and dict(half) == approx(dict(plain))
    scores = dict(rrf([dense, lexical], k=10, weights=[0.5, 1.5]))
    assert scores[1] == approx(0.5 / 11 + 1.5 / 13) and scores[4] == approx(1.5 / 12)
    assert dict(weighted_rrf(dense, lexical, 0.25, k=10)) == approx(scores)
    # extremes: one ranking's order, the other's documents after it in their own order
    assert docs(weighted_rrf(dense, lexical, 1.0)) == [1, 2, 3, 4]
    assert docs(weighted_rrf(dense, lexical, 0.0)) == [3, 4, 1, 2]
    assert weighted_rrf([], [], 0.3) == []
    with pytest.raises(ValueError):
        rrf([[1], [2]], weights=[1.0])
    with pytest.raises(ValueError):
        rrf([[1]], k=0)


# --- normalisations -------------------------------------------------------------------------------------------------
def test_normalisations():
    assert min_max({1: 2.0, 2: 4.0, 3: 3.0}) == approx({1: 0.0, 2: 1.0, 3: 0.5})
    assert min_max({1: 5.0, 2: 5.0}) == {1: 1.0, 2: 1.0} and min_max({}) == {}
    z = z_scores({1: 0.0, 2: 2.0, 3: 4.0})
    assert z == approx({1: -math.sqrt(1.5), 2: 0.0, 3: math.sqrt(1.5)})  # population std sqrt(8/3)
    assert z_scores({1: 3.0, 2: 3.0}) == {1: 0.0, 2: 0.0} and z_scores({}) == {}


# --- score-based convex combinations -------------------------------------------------------------------------------
def test_weighted_min_max_values_and_doc_in_one_list():
    fused = weighted({1: 0.9, 2: 0.5}, {2: 3.0, 3: 1.0}, 0.5)
    # dense minmax {1: 1, 2: 0}, bm25 minmax {2: 1, 3: 0}; a missing score counts as the lowest (0 after minmax)
    assert fused == [(1, approx(0.5)), (2, approx(0.5)), (3, approx(0.0))]
    assert weighted({}, {}, 0.5) == []
    assert weighted({}, {4: 2.0, 5: 1.0}, 0.5) == [(4, approx(0.5)), (5, approx(0.0))]


def test_zscore_values():
    fused = dict(zscore({1: 1.0, 2: 0.0}, {1: 0.0, 2: 2.0, 3: 4.0}, 0.5))
    s = math.sqrt(1.5)
    # dense z {1: 1, 2: -1}, doc 3 missing -> the lowest dense z (-1); bm25 z {1: -s, 2: 0, 3: s}
    assert fused == approx({1: (1 - s) / 2, 2: -0.5, 3: (-1 + s) / 2})
    assert docs(zscore({1: 1.0, 2: 0.0}, {1: 0.0, 2: 2.0, 3: 4.0}, 0.5)) == [3, 1, 2]
    assert zscore({}, {}, 0.5) == []
    assert zscore({1: 0.7, 2: 0.7}, {1: 1.0, 2: 1.0}, 0.5) == [(1, 0.0), (2, 0.0)]  # all tied: by doc id


def test_bounded_values_and_query_adaptive_lexical_weight():
    dense = {1: 0.8, 2: 0.6, 3: 0.7}
    lexical = {2: 5.0, 3: 2.5}  # doc 1 matches no query term: BM25 0
    # dense minmax {1: 1, 2: 0, 3: 0.5}; bm25 / 10 {2: 0.5, 3: 0.25}
    assert bounded(dense, lexical, 0.2, 10.0) == [(2, approx(0.4)), (3, approx(0.3)), (1, approx(0.2))]
    # the same BM25 scores are worth little when the query's bound is high (its rare words matched nowhere)
    assert bounded(dense, lexical, 0.2, 100.0) == [(1, approx(0.2)), (3, approx(0.12)), (2, approx(0.04))]
    # no query tokens (bound 0 or unknown): dense only
    assert docs(bounded(dense, lexical, 0.2, 0.0)) == [1, 3, 2] == docs(bounded(dense, lexical, 0.2, None))
    # a score above the bound is clipped to 1
    assert dict(bounded({1: 0.5}, {1: 20.0}, 0.0, 10.0)) == {1: approx(1.0)}
    assert bounded({}, {}, 0.2, 5.0) == []
    assert bounded({}, {7: 1.0}, 0.2, 4.0) == [(7, approx(0.2))]  # dense side empty: lowest dense = 0


def test_bounded_ties_break_by_doc_id():
    assert docs(bounded({3: 0.5, 1: 0.5, 2: 0.5}, {3: 2.0, 1: 2.0, 2: 2.0}, 0.5, 4.0)) == [1, 2, 3]
    # equal BM25: dense breaks the tie
    assert docs(bounded({3: 0.9, 1: 0.5, 2: 0.7}, {3: 2.0, 1: 2.0, 2: 2.0}, 0.2, 4.0)) == [3, 2, 1]


@pytest.mark.parametrize("fuse", [
    weighted,
    zscore,
    lambda d, lex, a: bounded(d, lex, a, 20.0),
])
def test_score_fusions_alpha_extremes(fuse):
    # both maps over the same candidates (as the serving index scores them), distinct scores
    dense = {1: 0.91, 2: 0.85, 3: 0.88, 4: 0.80, 5: 0.83}
    lexical = {1: 0.0, 2: 7.5, 3: 1.2, 4: 9.0, 5: 3.3}
    by = lambda m: sorted(m, key=lambda d: -m[d])  # noqa: E731
    assert docs(fuse(dense, lexical, 1.0)) == by(dense)
    assert docs(fuse(dense, lexical, 0.0)) == by(lexical)
    # ties of the weighted side go to the other one, not to the doc id (alpha 0: BM25 non-matches in dense order)
    no_match = {1: 0.0, 2: 0.0, 3: 0.0, 4: 9.0, 5: 0.0}
    assert docs(fuse(dense, no_match, 0.0)) == [4, 1, 3, 2, 5]
    assert docs(fuse({d: 0.5 for d in dense}, lexical, 1.0)) == by(lexical)
    for a in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError):
            fuse(dense, lexical, a)


def test_resolve_alpha_and_defaults():
    assert DEFAULT_FUSION in FUSIONS and set(DEFAULT_ALPHA) == set(FUSIONS) - {"rrf"}
    assert resolve_alpha("rrf") is None
    assert resolve_alpha("bounded") == DEFAULT_ALPHA["bounded"]
    assert resolve_alpha("bounded", 0.7) == 0.7
    assert resolve_alpha("weighted", None, {"fusion": "weighted", "alpha": 0.3}) == 0.3
    # an index written earlier with the defaults of then ({"fusion": "rrf", "alpha": 0.5}): its alpha was rrf's
    assert resolve_alpha("bounded", None, {"fusion": "rrf", "alpha": 0.5}) == DEFAULT_ALPHA["bounded"]
    with pytest.raises(ValueError, match="unknown fusion"):
        resolve_alpha("combmnz")
    with pytest.raises(ValueError):
        resolve_alpha("bounded", 2.0)


# --- BM25's query bound -----------------------------------------------------------------------------------------------
def test_bm25_max_score_bounds_the_scores():
    from seaembed.evaluate.bm25 import BM25Retriever

    retriever = BM25Retriever().index(["sepatu lari", "sepatu pria", "tas", "tas kulit pria", "sepatu sepatu sepatu"])
    idf = lambda df: math.log(1 + (5 - df + 0.5) / (df + 0.5))  # noqa: E731
    assert retriever.max_score("sepatu") == approx(idf(3))
    assert retriever.max_score("Sepatu pria") == approx(idf(3) + idf(2))
    assert retriever.max_score("sepatu sepatu") == approx(2 * idf(3))  # repeats count, as in the scores
    assert retriever.max_score("zzz") == approx(idf(0))  # unseen word: no document can match it
    assert retriever.max_score("") == 0.0 and retriever.max_score("!!") == 0.0
    for q in ("sepatu", "sepatu pria", "tas kulit", "sepatu sepatu", "lari zzz"):
        assert 0 < retriever.get_scores(q).max() < retriever.max_score(q)
