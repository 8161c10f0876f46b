"""BM25 tokenisation per script (Thai segmented by pythainlp newmm) and retrieval."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from seaembed.evaluate.bm25 import BM25Retriever, tokenize


def test_thai_is_segmented_into_words():
    assert tokenize("รองเท้าวิ่งผู้ชาย") == ["รองเท้า", "วิ่ง", "ผู้ชาย"]
    assert tokenize("เสื้อยืดสีดำ ไซส์ XL!") == ["เสื้อยืด", "สี", "ดำ", "ไซส์", "xl"]


def test_mixed_scripts_and_fallbacks():
    toks = tokenize("Giày Chạy Bộ Nike Air-Max 2024")
    assert toks == ["giày", "chạy", "bộ", "nike", "air", "max", "2024"]
    khmer = tokenize("ស្បែកជើងរត់")  # Khmer: bigrams of grapheme clusters
    assert khmer and all(len(t) >= 2 for t in khmer) and "ស្បែក" in khmer
    assert tokenize("running shoes") == ["run", "shoe"]  # Snowball stemming of every Latin-script token


def test_bm25_ranks_the_thai_match_first():
    docs = ["เสื้อยืดสีดำ", "รองเท้าวิ่งผู้ชาย", "กระเป๋าเป้ผู้หญิง", "running shoes for men"]
    bm25 = BM25Retriever().index(docs)
    idx, scores = bm25.search(["รองเท้าวิ่ง", "กระเป๋า", "shoes", "zzz"], k=2)
    assert idx[0, 0] == 1 and idx[1, 0] == 2 and idx[2, 0] == 3
    assert scores[0, 0] > 0 and np.all(scores[3] == 0)
    assert bm25.get_scores("รองเท้า").shape == (4,)


def test_bm25_module_imports_without_torch():
    code = "import sys, seaembed.evaluate.bm25 as b; b.tokenize('รองเท้า'); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_saved_retriever_scores_like_the_original(tmp_path):
    from seaembed.evaluate.bm25 import BM25Retriever

    docs = ["sepatu lari pria", "รองเท้าวิ่งผู้ชาย", "kaos polos hitam", "sepatu sneakers wanita"]
    r = BM25Retriever().index(docs)
    r.save(tmp_path / "bm25")
    loaded = BM25Retriever.load(tmp_path / "bm25")
    assert loaded.n_docs == 4
    for q in ("sepatu", "รองเท้าวิ่ง", "tidak ada"):
        assert loaded.get_scores(q).tolist() == r.get_scores(q).tolist()


def test_one_analyser_whatever_the_language_tag():
    """An English query tagged `en` and an English-heavy title tagged `tl` or `id` are analysed alike: "shoes"
    matches "shoes" and "shoe" (before, only the `en` side was stemmed: "shoe" never met "shoes")."""
    from seaembed.data.text_analysis import analyze

    assert tokenize("shoes", "en") == tokenize("shoes", "tl") == tokenize("shoes") == analyze("shoes") == ["shoe"]
    assert analyze("Running Shoes size 42") == tokenize("Running Shoes size 42", "id") == ["run", "shoe", "size", "42"]
    assert analyze("รองเท้า Nike Air") == ["รองเท้า", "nike", "air"]  # Thai is segmented, not stemmed
    docs = ["Nike running shoes for men", "Adidas shoe rack", "kaos polos hitam"]
    bm25 = BM25Retriever().index(docs, ["tl", "id", "id"])
    for lang in ("en", "tl", None):
        s = bm25.get_scores("shoes", lang)
        assert s[0] > 0 and s[1] > 0 and s[2] == 0
        assert s.tolist() == bm25.get_scores("shoe").tolist()


def test_eval_runner_matches_shoes_across_language_tags(tmp_path):
    """The evaluation's BM25 baseline: an `en` query "shoes" ranks the `tl`-tagged "shoes" title first."""
    import json

    from seaembed.evaluate.runners import run_with_bm25
    from seaembed.evaluate.tasks import load_task

    task = tmp_path / "t"
    (task / "qrels").mkdir(parents=True)
    (task / "task.json").write_text(json.dumps({"name": "t", "type": "retrieval", "main_metric": "ndcg_at_10"}))
    corpus = [{"_id": "d0", "title": "Running shorts", "lang": "en"},  # first: wins any tie of zero scores
              {"_id": "d1", "title": "Sapatos pang-takbo running shoes", "lang": "tl"}]
    (task / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in corpus) + "\n")
    (task / "queries.jsonl").write_text(json.dumps({"_id": "q1", "text": "shoes", "lang": "en"}) + "\n")
    (task / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    entry = run_with_bm25(load_task(task))
    assert entry["metrics"]["ndcg_at_10"] == 1.0


def _serving_bm25_retriever():
    try:  # the serving stage's index builder (moving from seaembed.serve to seaembed.search)
        from seaembed.search.index import bm25_retriever
    except ImportError:
        from seaembed.serve.index import bm25_retriever
    return bm25_retriever


def test_eval_and_serving_bm25_analyse_text_identically(tmp_path):
    from seaembed.data.text_analysis import analyze

    texts = ["Giày Chạy Bộ Nike running shoes", "รองเท้าวิ่งผู้ชาย Adidas", "ស្បែកជើងរត់", "Sepatu lari pria shoe"]
    serving = _serving_bm25_retriever()(texts)
    evaluation = BM25Retriever().index(texts, ["vi", "th", "km", "id"])
    assert serving._bm25.vocab_dict == evaluation._bm25.vocab_dict
    assert set(serving._bm25.vocab_dict) - {""} == {t for text in texts for t in analyze(text)}
    for q in ("shoes", "running shoe", "รองเท้าวิ่ง", "giày"):
        assert serving.get_scores(q).tolist() == evaluation.get_scores(q, "en").tolist()
        assert serving.max_score(q) == evaluation.max_score(q, "en")


def test_an_index_from_another_analyser_is_refused(tmp_path):
    import pytest

    from seaembed.errors import ConfigError

    BM25Retriever().index(["running shoes"]).save(tmp_path / "bm25")
    (tmp_path / "bm25" / "analyzer.json").unlink()  # as an index written before the analyser was recorded
    with pytest.raises(ConfigError, match="rebuild"):
        BM25Retriever.load(tmp_path / "bm25")
