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
    assert tokenize("running shoes", "en") == ["run", "shoe"]  # Snowball stemming for English only
    assert tokenize("running shoes", "id") == ["running", "shoes"]


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
