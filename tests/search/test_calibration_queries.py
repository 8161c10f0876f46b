"""Calibration on query-like vectors: recall measured against exact search of those queries, the harder queries
asking for more effort than indexed rows; where `seaembed index` gets them (title prefixes or a query file)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from seaembed.errors import ConfigError, InputError
from seaembed.search import faiss_index
from seaembed.search.calibrate import calibrate
from seaembed.search.calibration_queries import read_query_file, title_prefix_queries
from seaembed.testing import clustered_vectors as clustered


@pytest.fixture(scope="module")
def data():
    vecs = clustered(4000)
    rng = np.random.default_rng(7)
    q = vecs[rng.choice(len(vecs), 300, replace=False)] + 0.35 * rng.normal(size=(300, 32)).astype(np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)  # noisy queries: farther from the data than indexed rows
    return vecs, q.astype(np.float32), faiss_index.build(vecs, "hnsw", hnsw_m=8, ef_construction=16)


def brute_recall(index, vecs, qs, ef: int, k: int = 10) -> float:
    hits = []
    for q in qs:
        want = set(np.argsort(-(vecs @ q), kind="stable")[:k].tolist())
        got = set(faiss_index.search(index, q, k, ef_search=ef)[1].tolist())
        hits.append(len(want & got) / k)
    return float(np.mean(hits))


def test_recall_is_measured_on_the_given_queries(data):
    vecs, qs, index = data
    cal = calibrate(index, vecs, "hnsw", target=0.95, sample=300, min_effort=0, queries=qs, queries_are="noisy")
    assert cal.sample == 300 and cal.on == "noisy" and "noisy" in cal.describe()
    assert cal.recall == pytest.approx(brute_recall(index, vecs, qs, cal.value), abs=1e-4)
    assert cal.met and cal.recall >= 0.95


def test_query_like_vectors_ask_for_more_effort_than_indexed_rows(data):
    vecs, qs, index = data
    rows = calibrate(index, vecs, "hnsw", target=0.97, sample=300, min_effort=0)
    noisy = calibrate(index, vecs, "hnsw", target=0.97, sample=300, min_effort=0, queries=qs)
    assert rows.on == "indexed rows" and noisy.value > rows.value
    assert brute_recall(index, vecs, qs, rows.value) < 0.97  # what the indexed-row calibration would serve


def test_queries_are_subsampled_with_the_seed(data):
    vecs, qs, index = data
    a = calibrate(index, vecs, "hnsw", target=0.9, sample=50, queries=qs, seed=3)
    b = calibrate(index, vecs, "hnsw", target=0.9, sample=50, queries=qs, seed=3)
    assert a.sample == 50 and a.curve == b.curve


def test_title_prefixes_are_two_to_four_words_of_the_first_field():
    texts = [f"Sepatu lari pria ukuran {i} hitam. Olahraga" for i in range(100)] + [". Kosong"]
    got = title_prefix_queries(texts, len(texts), sample=30, seed=1)
    assert got == title_prefix_queries(texts, len(texts), sample=30, seed=1)  # seeded
    assert 29 <= len(got) <= 30  # the row without a title word is skipped when drawn
    for q in got:
        words = q.split()
        assert 2 <= len(words) <= 4 and "Olahraga" not in q and texts[0].startswith(" ".join(words[:3]))
    assert len(title_prefix_queries(texts[:5], 5)) == 5  # fewer rows than the sample: every row


def test_query_file_lines_sample_and_errors(tmp_path):
    f = tmp_path / "q.txt"
    f.write_text("sepatu lari\n\n  tas wanita \náo thun nam\n", encoding="utf-8")
    assert read_query_file(f) == ["sepatu lari", "tas wanita", "áo thun nam"]
    assert len(read_query_file(f, sample=2)) == 2
    with pytest.raises(ConfigError, match="no such file"):
        read_query_file(tmp_path / "missing.txt")
    (tmp_path / "empty.txt").write_text("\n \n", encoding="utf-8")
    with pytest.raises(InputError, match="no queries"):
        read_query_file(tmp_path / "empty.txt")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"ok\nbad \xff byte\n")
    with pytest.raises(InputError) as e:
        read_query_file(bad)
    assert e.value.line == 2 and str(e.value).startswith(f"{bad}:2: not UTF-8")


def test_index_cli_calibrates_on_a_query_file(tiny_model_dir, catalog_file, tmp_path, seaembed_cli):
    f = tmp_path / "log.txt"
    f.write_text("\n".join(["sepatu", "kaos polos", "tas kulit", "sabun mandi"]) + "\n", encoding="utf-8")
    code, out, err = seaembed_cli("index", "--model", str(tiny_model_dir), "--catalog", str(catalog_file),
                                  "--out", str(tmp_path / "idx"), "--backend", "torch", "--kind", "hnsw",
                                  "--calibrate-on", str(f))
    assert code == 0, err
    cal = json.loads((tmp_path / "idx" / "index.json").read_text())["dense_search"]
    assert cal["sample"] == 4 and cal["on"] == f"queries of {f}" and "4 queries of" in out


def test_index_cli_bad_query_file_is_one_line_exit_2_before_any_work(tiny_model_dir, catalog_file, tmp_path,
                                                                     seaembed_cli):
    bad = tmp_path / "log.txt"
    bad.write_bytes(b"\xfe\n")
    code, _, err = seaembed_cli("index", "--model", str(tiny_model_dir), "--catalog", str(catalog_file),
                                "--out", str(tmp_path / "idx"), "--backend", "torch", "--calibrate-on", str(bad))
    lines = [ln for ln in err.splitlines() if not ln.startswith("warning:")]
    assert code == 2 and lines == [f"error: {bad}:1: not UTF-8 (byte 0 of the line)"]
    assert not (tmp_path / "idx.partial").exists()
