"""Shared fixtures: a tiny random sentence-transformers model that every test module can use."""

from __future__ import annotations

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
