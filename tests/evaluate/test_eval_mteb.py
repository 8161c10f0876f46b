"""mteb interop: our tiny model as an mteb encoder and our local task dirs as mteb tasks, offline."""

from __future__ import annotations

from pathlib import Path

import pytest
from eval_task_files import write_bitext, write_clustering, write_retrieval

from seaembed.evaluate.run import evaluate

pytest.importorskip("mteb")


@pytest.mark.slow
def test_local_tasks_run_offline_through_mteb_and_agree(tiny_model_dir: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch):
    from seaembed.evaluate.mteb_bridge import run_mteb

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("MTEB_CACHE", str(tmp_path / "mteb-cache"))
    root = tmp_path / "tasks"
    write_retrieval(root / "r")
    write_bitext(root / "b")
    write_clustering(root / "c")
    ours = evaluate(str(tiny_model_dir), [root], show_progress=False)["tasks"]
    theirs = run_mteb(str(tiny_model_dir), [root])
    # retrieval: same definitions (mteb uses pytrec_eval and rounds to 5 decimals)
    r = theirs["toy-retrieval"]["scores"][0]
    for name in ("ndcg_at_10", "recall_at_10", "recall_at_100", "mrr_at_10"):
        assert r[name] == pytest.approx(ours["toy-retrieval"]["metrics"][name], abs=1e-5), name
    # bitext: mteb mines sentence1 -> sentence2 only, i.e. our src2tgt direction, one subset per language pair
    for sub in theirs["toy-bitext"]["scores"]:
        mine = ours["toy-bitext"]["per_lang"][sub["hf_subset"]]
        assert sub["f1"] == pytest.approx(mine["f1_src2tgt"], abs=1e-9)
        assert sub["accuracy"] == pytest.approx(mine["accuracy_src2tgt"], abs=1e-9)
    # clustering: mteb's mini-batch k-means differs from our k-means, so only a sane range is checked
    assert 0 <= theirs["toy-clustering"]["main_score"] <= 1
