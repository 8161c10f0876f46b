"""The real packaged multilingual-e5-small through the evaluation (short: 3 tiny tasks)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from eval_task_files import write_bitext, write_retrieval

from seaembed.evaluate.run import evaluate

pytestmark = pytest.mark.integration


def test_packaged_e5_beats_bm25_across_languages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from seaembed.models import ensure_packaged

    monkeypatch.setenv("SEAEMBED_HOME", os.environ["SEAEMBED_TEST_HOME"])  # build once per session, shared
    ensure_packaged(progress=False)
    root = tmp_path / "tasks"
    write_retrieval(root / "r")
    write_bitext(root / "b")
    res = evaluate("packaged:multilingual-e5-small", [root], baselines=["bm25"], show_progress=False)
    # translations of three product names are found in both directions
    assert res["tasks"]["toy-bitext"]["metrics"]["accuracy"] == 1.0
    # cross-lingual queries ("shoes" -> sepatu / รองเท้า): BM25 only matches the same-language document
    ours = res["tasks"]["toy-retrieval"]["metrics"]["ndcg_at_10"]
    bm25 = res["baselines"]["bm25"]["tasks"]["toy-retrieval"]["metrics"]["ndcg_at_10"]
    assert ours > bm25 and ours > 0.8
