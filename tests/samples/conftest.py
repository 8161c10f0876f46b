"""Shared readers for the bundled-samples tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seaembed.samples import samples_dir

REPO = Path(__file__).resolve().parents[2]
DATASETS = REPO.parent / "shared" / "datasets"


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@pytest.fixture(scope="session")
def rows():
    """`rows(path)` reads a JSONL file into a list of dicts."""
    return read_jsonl


@pytest.fixture(scope="session")
def samples() -> Path:
    return samples_dir()


@pytest.fixture(scope="session")
def catalog(samples: Path) -> list[dict]:
    return read_jsonl(samples / "catalog.jsonl")


@pytest.fixture(scope="session")
def datasets() -> Path:
    if not (DATASETS / "prdect_id").is_dir():
        pytest.skip(f"{DATASETS}: the shared datasets are not beside this checkout")
    return DATASETS
