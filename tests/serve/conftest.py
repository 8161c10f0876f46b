"""Fixtures of the serving tests: ONNX exports of the tiny model, a small catalog and its index, engines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

CATALOG = [
    {"id": "p1", "title": "Sepatu Running Pria Ringan Sol Karet", "category": "Fashion", "price": 250000, "lang": "id"},
    {"id": "p2", "title": "Tas Ransel Laptop 15 inch Waterproof", "category": "Bags", "price": 180000, "lang": "id"},
    {"id": "p3", "title": "รองเท้าวิ่งผู้ชาย น้ำหนักเบา", "category": "Fashion", "price": 900, "lang": "th"},
    {"id": "p4", "title": "Giày chạy bộ nam siêu nhẹ", "category": "Fashion", "price": 500000, "lang": "vi"},
    {"id": "p5", "title": "Wireless Bluetooth Earbuds Noise Cancelling", "category": "Electronics", "price": 35.5,
     "lang": "en"},
    {"id": "p6", "title": "Kaos Polos Hitam Cotton Combed", "category": "Fashion", "price": 45000, "lang": "id"},
    {"id": "p7", "title": "Kasut Larian Lelaki Ringan", "category": "Fashion", "price": 120, "lang": "ms"},
    {"id": "p8", "title": "Samsung Galaxy A15 8/256GB", "category": "Electronics", "price": 2500000, "lang": "id"},
    {"id": "p9", "title": "Minyak Goreng Sawit 2L", "category": "Food", "lang": "id"},
    {"id": "p10", "title": "Tai nghe bluetooth không dây", "category": "Electronics", "price": 300000, "lang": "vi"},
]


@pytest.fixture(scope="session")
def onnx_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """fp32 ONNX export of the tiny model (with its parity report)."""
    from seaembed.serve.export import export

    return export(tiny_model_dir, "onnx", tmp_path_factory.mktemp("onnx") / "fp32")


@pytest.fixture(scope="session")
def int8_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """int8 ONNX export of the tiny model."""
    from seaembed.serve.export import export

    return export(tiny_model_dir, "onnx-int8", tmp_path_factory.mktemp("onnx") / "int8")


@pytest.fixture(scope="session")
def catalog_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("catalog") / "catalog.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in CATALOG), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def onnx_backend(onnx_dir: Path):
    from seaembed.serve.backends import create_backend

    return create_backend("onnx", onnx_dir, threads=1)


@pytest.fixture(scope="session")
def index_dir(tiny_model_dir: Path, catalog_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A flat index of the small catalog, built with the tiny model."""
    from seaembed.serve.index import build_index

    return build_index(str(tiny_model_dir), catalog_file, tmp_path_factory.mktemp("index") / "idx",
                       chunk_size=4, show_progress=False)
