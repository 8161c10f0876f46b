"""seaembed.knn: the exact top-k every approximate search is checked against, and the IVF-PQ shape."""

import numpy as np

from seaembed.knn import exact_top_k, pq_params
from seaembed.testing import clustered_vectors


def test_exact_top_k_scans_in_chunks_and_matches_brute_force():
    vecs = clustered_vectors(4000)
    scores, ids = exact_top_k(vecs, vecs[:7], 5, scan_rows=333)
    brute = vecs[:7] @ vecs.T
    np.testing.assert_array_equal(ids, np.argsort(-brute, axis=1, kind="stable")[:, :5])
    np.testing.assert_allclose(scores, -np.sort(-brute, axis=1)[:, :5], rtol=1e-5)


def test_pq_params_fit_what_faiss_can_train():
    assert pq_params(1_000_000, 384) == (4000, 48, 8)
    nlist, m, nbits = pq_params(200, 30)  # few vectors: fewer lists and bits, m divides the dimension
    assert nlist == 5 and 30 % m == 0 and nbits == 6
