"""Shared fixtures: a tiny random sentence-transformers model that every test module can use, and for the export,
engine, search and serve tests: ONNX exports of it, a small catalog and its index, a backend."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path to a tiny random sentence-transformers model (dim 32, 2 layers), built once per session."""
    from seaembed.testing import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir: Path):
    """The tiny model, loaded (shared: do not train it in place; load your own copy from `tiny_model_dir`)."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(tiny_model_dir), device="cpu")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep caches out of the user's home: SEAEMBED_HOME points to a per-session temp dir unless set."""
    if "SEAEMBED_TEST_HOME" not in os.environ:
        os.environ["SEAEMBED_TEST_HOME"] = str(tmp_path_factory.mktemp("seaembed_home"))
    monkeypatch.setenv("SEAEMBED_HOME", os.environ["SEAEMBED_TEST_HOME"])


def pytest_configure(config: pytest.Config) -> None:
    """One intra-op thread per test process (set before torch is imported): the tiny models gain nothing from
    more, and tests that start several processes would otherwise oversubscribe 2 cores (OpenMP spin-waits made
    steps 10-30x slower when we measured it)."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")


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
    from seaembed.export.export import export

    return export(tiny_model_dir, "onnx", tmp_path_factory.mktemp("onnx") / "fp32")


@pytest.fixture(scope="session")
def int8_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """int8 ONNX export of the tiny model."""
    from seaembed.export.export import export

    return export(tiny_model_dir, "onnx-int8", tmp_path_factory.mktemp("onnx") / "int8")


@pytest.fixture(scope="session")
def catalog_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("catalog") / "catalog.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in CATALOG), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def onnx_backend(onnx_dir: Path):
    from seaembed.engine.backends import create_backend

    return create_backend("onnx", onnx_dir, threads=1)


@pytest.fixture(scope="session")
def index_dir(tiny_model_dir: Path, catalog_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A flat index of the small catalog, built with the tiny model."""
    from seaembed.search.index import build_index

    return build_index(str(tiny_model_dir), catalog_file, tmp_path_factory.mktemp("index") / "idx",
                       chunk_size=4, show_progress=False)


@pytest.fixture
def seaembed_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """Run the real `seaembed` entry point in-process: `seaembed_cli(*args) -> (exit code, stdout, stderr)`."""
    import sys

    from seaembed.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["seaembed", *args])
        try:
            main()
            code = 0
        except SystemExit as e:
            code = int(e.code or 0)
        out = capsys.readouterr()
        return code, out.out, out.err

    return run
