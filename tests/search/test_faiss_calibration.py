"""Build-time calibration of the dense index's search effort (HNSW efSearch, IVF-PQ nprobe): chosen on a recall
target, recorded in index.json, used by search; old index.json files keep the fixed defaults."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from seaembed.search import calibrate as cal_mod
from seaembed.search import faiss_index
from seaembed.search.calibrate import calibrate
from seaembed.search.search_index import SearchIndex
from seaembed.testing import clustered_vectors as clustered

# a deliberately weak graph, so that efSearch matters at a few thousand vectors
WEAK_HNSW = {"hnsw_m": 8, "ef_construction": 16}


@pytest.fixture(scope="module")
def vecs() -> np.ndarray:
    return clustered(4000)


@pytest.fixture(scope="module")
def weak_hnsw(vecs):
    return faiss_index.build(vecs, "hnsw", **WEAK_HNSW)


@pytest.fixture(scope="module")
def ivfpq(vecs):
    return faiss_index.build(vecs, "ivfpq")


def sample_recall(index, vecs: np.ndarray, rows: np.ndarray, k: int = 10, **effort) -> float:
    """recall@k of `faiss_index.search` on indexed `rows` as queries, own row dropped, against a brute-force scan."""
    refine = vecs if "nprobe" in effort else None
    hits = []
    for r in rows:
        want = [int(i) for i in np.argsort(-(vecs @ vecs[r]), kind="stable") if i != r][:k]
        got = [int(i) for i in faiss_index.search(index, vecs[r], k + 1, refine=refine, **effort)[1] if i != r][:k]
        hits.append(len(set(want) & set(got)) / k)
    return float(np.mean(hits))


def point(key: str, param: str) -> dict:
    """A calibration curve key ("64" or, for IVF-PQ, "64/x30") as `faiss_index.search` keywords."""
    effort, _, depth = key.partition("/x")
    return {param: int(effort), **({"refine_factor": int(depth)} if depth else {})}


@pytest.mark.parametrize("kind", ["hnsw", "ivfpq"])
def test_chosen_effort_meets_the_target_on_its_sample_and_the_one_below_does_not(kind, vecs, weak_hnsw, ivfpq):
    index = weak_hnsw if kind == "hnsw" else ivfpq
    cal = calibrate(index, vecs, kind, target=0.97, sample=300, seed=1, min_effort=0)
    assert cal.param == ("ef_search" if kind == "hnsw" else "nprobe") and cal.met and cal.sample == 300
    rows = np.sort(np.random.default_rng(1).choice(len(vecs), 300, replace=False))  # the calibration's sample
    measured = sample_recall(index, vecs, rows, **cal.params())
    assert measured >= 0.97 and measured == pytest.approx(cal.recall, abs=1e-4)
    tried = [point(v, cal.param) for v in cal.curve]
    assert tried[-1] == cal.params() and len(tried) >= 2  # the grid was climbed, not the first value taken
    below = tried[-2]
    assert sample_recall(index, vecs, rows, **below) < 0.97  # so it is the smallest that meets it
    assert cal.seconds >= 0


def test_higher_target_never_gives_a_smaller_effort(vecs, weak_hnsw):
    values = [calibrate(weak_hnsw, vecs, "hnsw", target=t, sample=200, min_effort=0).value for t in (0.8, 0.9, 0.95, 0.97, 0.99)]
    assert values == sorted(values) and len(set(values)) >= 2


def test_nprobe_grid_is_capped_at_nlist(vecs, ivfpq):
    cal = calibrate(ivfpq, vecs, "ivfpq", target=1.0, sample=50, min_effort=0)
    assert max(point(v, "nprobe")["nprobe"] for v in cal.curve) <= ivfpq.nlist


def test_missed_target_takes_the_largest_effort_and_warns(vecs, weak_hnsw, monkeypatch, caplog):
    monkeypatch.setattr(cal_mod, "EF_SEARCH_GRID", (16, 32))
    with caplog.at_level(logging.WARNING, logger="seaembed.search.calibrate"):
        cal = calibrate(weak_hnsw, vecs, "hnsw", target=1.0, sample=200, min_effort=0)
    assert cal.value == 32 and not cal.met and cal.recall < 1.0
    assert [r.levelno for r in caplog.records] == [logging.WARNING] and "missed" in caplog.records[0].getMessage()


@pytest.mark.parametrize("kind", ["hnsw", "ivfpq"])
def test_default_calibration_never_goes_below_the_old_fixed_effort(kind, vecs, weak_hnsw, ivfpq):
    # indexed rows are easy queries: the whole grid picks less than the old default, which real queries pay for
    index = weak_hnsw if kind == "hnsw" else ivfpq
    fixed = faiss_index.EF_SEARCH if kind == "hnsw" else min(faiss_index.NPROBE, ivfpq.nlist)
    assert calibrate(index, vecs, kind, target=0.9, sample=200, min_effort=0).value < fixed
    cal = calibrate(index, vecs, kind, target=0.9, sample=200)
    assert cal.value == fixed and min(point(v, cal.param)[cal.param] for v in cal.curve) == fixed


def test_flat_needs_no_calibration(vecs):
    assert calibrate(faiss_index.build(vecs[:100], "flat"), vecs[:100], "flat") is None


@pytest.fixture()
def spy_params(monkeypatch):
    """Records the efSearch / nprobe that faiss_index.search hands to faiss."""
    import faiss

    seen: list[tuple[str, int]] = []
    hnsw, ivf = faiss.SearchParametersHNSW, faiss.SearchParametersIVF

    def spy_hnsw(**kw):
        seen.append(("efSearch", kw["efSearch"]))
        return hnsw(**kw)

    def spy_ivf(**kw):
        seen.append(("nprobe", kw["nprobe"]))
        return ivf(**kw)

    monkeypatch.setattr(faiss, "SearchParametersHNSW", spy_hnsw)
    monkeypatch.setattr(faiss, "SearchParametersIVF", spy_ivf)
    return seen


@pytest.fixture(scope="module")
def hnsw_index_dir(tiny_model_dir, catalog_file, tmp_path_factory):
    from seaembed.search.index import build_index

    return build_index(str(tiny_model_dir), catalog_file, tmp_path_factory.mktemp("hnsw") / "idx", kind="hnsw",
                       backend="torch", recall_target=0.9, show_progress=False)


def test_index_json_records_the_calibration_and_search_uses_it(hnsw_index_dir, spy_params):
    info = json.loads((hnsw_index_dir / "index.json").read_text())
    cal = info["dense_search"]
    assert cal["param"] == "ef_search" and cal["target"] == 0.9 and cal["met"] and cal["recall"] >= 0.9
    assert cal["sample"] == info["size"] and cal["k"] == 10 and cal["value"] in cal_mod.EF_SEARCH_GRID
    assert cal["on"] == "query-prompt title prefixes"  # query-like texts, not the indexed rows
    # the stored value, not the constant, reaches faiss (edited so it differs from both 128 and the grid)
    info["dense_search"]["value"] = 37
    (hnsw_index_dir / "index.json").write_text(json.dumps(info))
    index = SearchIndex.load(hnsw_index_dir)
    q = np.asarray(index.vectors[0])
    index.search(q, "", k=3, mode="dense")
    index.search(q, "sepatu", k=3, mode="dense", filters={"price_min": 0})  # filtered (exact below 20k rows)
    assert spy_params == [("efSearch", 37)]


def test_old_index_json_without_the_field_keeps_the_fixed_defaults(hnsw_index_dir, spy_params):
    info = json.loads((hnsw_index_dir / "index.json").read_text())
    del info["dense_search"]
    (hnsw_index_dir / "index.json").write_text(json.dumps(info))
    index = SearchIndex.load(hnsw_index_dir)
    assert len(index.search(np.asarray(index.vectors[0]), "", k=3, mode="dense")) == 3
    assert spy_params == [("efSearch", 128)]


def test_ivfpq_search_uses_the_calibrated_nprobe(vecs, ivfpq, spy_params):
    meta = [{"id": str(i)} for i in range(len(vecs))]
    for info, want in (({"kind": "ivfpq", "dense_search": {"param": "nprobe", "value": 3}}, 3),
                       ({"kind": "ivfpq"}, 16)):
        SearchIndex(None, {"dim": 32, **info}, ivfpq, vecs, meta, None).dense_search(vecs[5], 10)
        assert spy_params[-1] == ("nprobe", want)


@pytest.mark.parametrize("bad", ["0", "1.5", "-0.2", "nan"])
def test_bad_recall_target_is_one_line_exit_2(bad, tiny_model_dir, catalog_file, tmp_path, seaembed_cli):
    out = tmp_path / "idx"
    code, _, err = seaembed_cli("index", "--model", str(tiny_model_dir), "--catalog", str(catalog_file),
                                "--out", str(out), "--backend", "torch", "--recall-target", bad)
    lines = [ln for ln in err.splitlines() if not ln.startswith("warning:")]
    assert code == 2 and lines == [f"error: --recall-target must be in (0, 1], got {float(bad)}"]
    assert not out.exists() and not (tmp_path / "idx.partial").exists()


def test_ivfpq_tries_deeper_re_ranking_at_each_nprobe_before_a_wider_probe(vecs, ivfpq):
    cal = calibrate(ivfpq, vecs, "ivfpq", target=1.0, sample=50, min_effort=0)
    tried = [point(v, "nprobe") for v in cal.curve]
    first = [t for t in tried if t["nprobe"] == tried[0]["nprobe"]]
    assert [t["refine_factor"] for t in first] == list(cal_mod.REFINE_GRID)[:len(first)]
    assert cal.refine_factor == tried[-1]["refine_factor"] and cal.params()["refine_factor"] == cal.refine_factor


def test_search_params_carry_the_calibrated_re_ranking_depth():
    info = {"dense_search": {"param": "nprobe", "value": 64, "refine_factor": 30}}
    assert cal_mod.search_params(info) == {"nprobe": 64, "refine_factor": 30}
    assert cal_mod.search_params({"dense_search": {"param": "nprobe", "value": 8}}) == {"nprobe": 8}  # older files


def test_deeper_re_ranking_raises_ivfpq_recall(vecs, ivfpq):
    rows = np.arange(0, len(vecs), 40)
    shallow = sample_recall(ivfpq, vecs, rows, nprobe=4, refine_factor=1)
    deep = sample_recall(ivfpq, vecs, rows, nprobe=4, refine_factor=30)
    assert deep > shallow


def test_head_re_ranks_only_what_the_head_needs_and_keeps_its_results(vecs, ivfpq, monkeypatch):
    fetched: list[int] = []
    real = type(ivfpq).search

    def spy(self, q, n, **kw):
        fetched.append(n)
        return real(self, q, n, **kw)

    monkeypatch.setattr(type(ivfpq), "search", spy)
    top10 = faiss_index.search(ivfpq, vecs[7], 10, nprobe=8, refine=vecs, refine_factor=30)
    full = faiss_index.search(ivfpq, vecs[7], 100, nprobe=8, refine=vecs, refine_factor=30)
    headed = faiss_index.search(ivfpq, vecs[7], 100, nprobe=8, refine=vecs, refine_factor=30, head=10)
    assert fetched == [300, 3000, 300]  # 30 x 10 candidates for the head, not 30 x 100
    assert headed[1][:10].tolist() == top10[1].tolist()  # the head is the calibrated top 10, unchanged
    assert len(headed[1]) == 100 and len(full[1]) == 100
    assert faiss_index.search(ivfpq, vecs[7], 100, nprobe=8, refine=vecs, refine_factor=5, head=10)[1].size == 100
    assert fetched[-1] == 100  # never fewer candidates than results


def test_hybrid_search_sizes_the_dense_re_ranking_for_its_top_k(vecs, ivfpq, monkeypatch):
    seen: list[int | None] = []
    real = faiss_index.search

    def spy(*a, head=None, **kw):
        seen.append(head)
        return real(*a, head=head, **kw)

    monkeypatch.setattr(faiss_index, "search", spy)
    meta = [{"id": str(i)} for i in range(len(vecs))]

    class NoLexical:
        def get_scores(self, text, _):
            return np.zeros(len(vecs), dtype=np.float32)

        def max_score(self, text):
            return 0.0

    index = SearchIndex(None, {"dim": 32, "kind": "ivfpq"}, ivfpq, vecs, meta, NoLexical())
    hits = index.search(vecs[3], "x", k=10, mode="hybrid")
    assert seen == [10] and len(hits) == 10
    index.search(vecs[3], "x", k=10, mode="dense")
    assert seen[-1] is None  # a dense top k re-ranks k x the factor, as calibrated
