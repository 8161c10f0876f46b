"""The nearest-neighbour search of hard-negative mining: exact below the threshold, calibrated IVF-PQ above."""

import numpy as np
import pytest

from seaembed.augment.mining_search import recall_at_k, search_in_chunks
from seaembed.testing import clustered_vectors


def _exact(docs, qs, k):
    return np.argsort(-(qs @ docs.T), axis=1, kind="stable")[:, :k]


def test_flat_below_threshold_is_exact_and_chunking_changes_nothing():
    rng = np.random.default_rng(0)
    docs = rng.normal(size=(3000, 16)).astype(np.float32)
    docs /= np.linalg.norm(docs, axis=1, keepdims=True)
    qs = docs[:500] + 0.1 * rng.normal(size=(500, 16)).astype(np.float32)
    s, f, how = search_in_chunks(docs, qs, 10, chunk=64)
    assert how.index == "flat" and how.nprobe is None
    assert f.dtype == np.int32 and s.shape == (500, 10)
    assert (f == _exact(docs, qs, 10)).mean() > 0.999


def test_ivfpq_above_threshold_reaches_its_calibrated_recall_with_exact_scores():
    docs = clustered_vectors(6000, 32, seed=1)
    rng = np.random.default_rng(2)
    qs = docs[rng.choice(len(docs), 1200, replace=False)] + 0.05 * rng.normal(size=(1200, 32)).astype(np.float32)
    qs /= np.linalg.norm(qs, axis=1, keepdims=True)
    s, f, how = search_in_chunks(docs, qs, 15, flat_max=1000, target=0.9)
    assert how.index == "ivfpq" and how.recall >= 0.9 and how.cal_queries == 500
    assert how.curve and list(how.curve.values())[-1] == how.recall
    # the recall holds on the whole query set, not only the calibration sample
    assert recall_at_k(f, _exact(docs, qs, 15)) >= 0.85
    # scores are the exact cosines of the ids returned, best first
    valid = f >= 0
    exact = np.einsum("qkd,qd->qk", docs[np.where(valid, f, 0)], qs)
    assert np.allclose(s[valid], exact[valid], atol=1e-5)
    assert (np.diff(np.where(valid, s, -np.inf), axis=1) <= 1e-6).all()


def test_ivfpq_calibration_climbs_until_the_target():
    docs = clustered_vectors(4000, 32, seed=3)
    qs = docs[:600]
    _, _, low = search_in_chunks(docs, qs, 10, flat_max=1000, target=0.5)
    _, _, high = search_in_chunks(docs, qs, 10, flat_max=1000, target=0.99)
    assert len(high.curve) >= len(low.curve)
    assert (high.nprobe, high.refine) >= (low.nprobe, low.refine)
    assert high.recall >= low.recall


@pytest.mark.parametrize("k", [1, 31])
def test_k_is_capped_at_the_corpus_and_rows_are_padded(k):
    docs = clustered_vectors(1200, 16, seed=4)
    s, f, how = search_in_chunks(docs, docs[:50], k, flat_max=1000)
    assert f.shape == (50, k) and how.index == "ivfpq"
    assert (f[:, 0] >= 0).all()
