"""search.rerank: hits reordered by cross-encoder scores, first-stage rank kept, cut to k."""

from __future__ import annotations

import pytest

from seaembed.search.rerank import hit_text, rerank_hits

HITS = [{"id": "a", "rank": 1, "score": 0.9, "title": "A"}, {"id": "b", "rank": 2, "score": 0.8, "title": "B"},
        {"id": "c", "rank": 3, "score": 0.7, "title": "C"}]


def test_rerank_hits_orders_by_scores_and_keeps_first_stage():
    out = rerank_hits(HITS, [0.1, 0.5, 0.5], k=2)
    assert [h["id"] for h in out] == ["b", "c"]  # tie: first-stage order
    assert [h["rank"] for h in out] == [1, 2] and out[0]["first_rank"] == 2 and out[0]["first_score"] == 0.8
    assert HITS[1]["rank"] == 2  # the input is not modified


def test_rerank_hits_rejects_mismatch_and_textless_hits():
    with pytest.raises(ValueError, match="3 hits but 2 scores"):
        rerank_hits(HITS, [0.1, 0.2], k=2)
    assert hit_text({"id": "x", "title": " ", "text": "t"}) == "t"
    with pytest.raises(ValueError, match="has none of"):
        hit_text({"id": "x"})
