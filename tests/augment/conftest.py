"""Fixtures of the data-construction tests: small source files (with malformed rows) and a bag-of-trigrams model."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import pytest


class BowModel:
    """A deterministic stand-in for a sentence-transformers model: hashed character-trigram counts, L2-normalised.

    Texts sharing words are close, so ranking-based logic (mining, consistency, self-validation) has a meaning
    that tests can predict; `calls` counts encoded texts."""

    prompts: dict[str, str] = {}

    def __init__(self, dim: int = 512):
        self.dim = dim
        self.calls = 0

    def get_sentence_embedding_dimension(self) -> int:
        return self.dim

    def encode(self, texts, **_: object) -> np.ndarray:
        self.calls += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            s = f"  {t.lower()}  "
            for j in range(len(s) - 2):
                out[i, zlib.crc32(s[j:j + 3].encode()) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-9)


@pytest.fixture
def bow() -> BowModel:
    return BowModel()


PRODUCTS = [
    {"id": "p1", "title": "Sepatu Lari Pria Ringan Hitam", "description": "Sepatu lari ringan untuk pria.",
     "cat": "Fashion > Sepatu > Sepatu Lari", "brand": "Adidas", "attributes": {"warna": "Hitam", "ukuran": "42"},
     "lang": "id"},
    {"id": "p2", "title": "Tas Ransel Wanita Kulit Coklat", "description": "Tas ransel kulit asli.",
     "cat": "Fashion > Tas > Ransel", "brand": "Elizabeth", "attributes": {"warna": "Coklat"}, "lang": "id"},
    {"id": "p3", "title": "Samsung Galaxy A55 5G 8/256GB Awesome Navy", "description": "HP Samsung terbaru.",
     "cat": "Elektronik > Handphone", "brand": "Samsung", "attributes": {"warna": "Awesome Navy"}, "lang": "id"},
    {"id": "p4", "title": "Giày chạy bộ nam siêu nhẹ màu đen", "description": "Giày chạy bộ nhẹ.",
     "cat": "Thời trang > Giày nam", "attributes": {"màu": "đen"}},
    {"id": "p5", "title": "Running Shoes Men Lightweight Black", "description": "Lightweight running shoes.",
     "cat": "Fashion > Shoes > Running", "attributes": {"color": "Black"}},
    {"id": "p6", "title": "Blender Philips HR2115 2 Liter", "description": "Blender dapur 2 liter.",
     "cat": "Rumah Tangga > Dapur > Blender", "attributes": "warna: putih; kapasitas: 2L", "lang": "id"},
]


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    """A directory with a catalog (one invalid JSON line, one row without a title), a query log, a labelled CSV,
    a relevance set, parallel text and reviews."""
    d = tmp_path / "src"
    d.mkdir()
    lines = [json.dumps(p, ensure_ascii=False) for p in PRODUCTS]
    lines.insert(3, "{not json")
    lines.append(json.dumps({"id": "p9", "description": "no title here"}))
    (d / "catalog.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (d / "queries.jsonl").write_text(
        '{"q": "sepatu lari hitam", "clicked": ["p1"]}\n{"q": "hp samsung a55", "clicked": "p3,p404"}\n',
        encoding="utf-8")
    (d / "labels.csv").write_text("text,label\nproduk bagus banget,positive\njelek kecewa,negative\n"
                                  "barang rusak,negative\n", encoding="utf-8")
    (d / "relevance.jsonl").write_text(
        '{"query": "sepatu running", "item": "p1", "rel": 1}\n{"query": "sepatu running", "item": "p2", "rel": 0}\n'
        '{"query": "kulkas", "item": "p6", "rel": 0}\n{"query": "x", "item": "p1", "rel": "maybe"}\n',
        encoding="utf-8")
    (d / "parallel.jsonl").write_text(
        '{"src": "My father is a teacher.", "tgt": "Ayah saya guru.", "src_lang": "en", "tgt_lang": "id", "id": 7}\n'
        '{"src": "My father is a teacher.", "tgt": "Bapa saya seorang guru.", "src_lang": "en", "tgt_lang": "ms", "id": 7}\n',
        encoding="utf-8")
    (d / "reviews.jsonl").write_text('{"item_id": "p1", "text": "sepatunya enak dipakai lari", "rating": 5}\n'
                                     '{"item_id": "p2", "text": "jahitan jelek", "rating": 1}\n', encoding="utf-8")
    return d


@pytest.fixture
def make_config():
    """`make_config(guide) -> dict`: a full DataConfig over the `sources` fixture files."""
    return config_dict


@pytest.fixture
def bow_class():
    return BowModel


def config_dict(guide: str) -> dict:
    """A full DataConfig over the `sources` fixture files (paths relative to the source directory)."""
    return {
        "guide_model": guide,
        "sources": {
            "catalogs": [{"path": "catalog.jsonl", "fields": {"category": "cat"}}],
            "query_logs": [{"path": "queries.jsonl", "fields": {"query": "q", "item_ids": "clicked"}}],
            "labelled": [{"path": "labels.csv", "lang": "id"}],
            "relevance": [{"path": "relevance.jsonl", "fields": {"target": "item", "label": "rel"}}],
            "parallel": [{"path": "parallel.jsonl", "fields": {"group": "id"}}],
            "reviews": [{"path": "reviews.jsonl", "min_rating": 3}],
        },
        "hard_negatives": {"num_negatives": 2, "range_max": 20},
        "self_validation": {"folds": 2, "min_rows_per_label": 2, "pair_max_rank": None},
        "synthetic": {"consistency": {"top_k": 3}},
    }
