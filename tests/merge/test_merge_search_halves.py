"""The merge weight search's default evaluator scores select halves only: the report half is never read."""

from __future__ import annotations

import pytest

from seaembed.evaluate.halves import split_task
from seaembed.evaluate.tasks import load_task
from seaembed.merge.search import search_merge_weight
from seaembed.samples import sample_path


def test_search_reads_only_select_halves(tmp_path, tiny_model_dir, model_b, monkeypatch):
    import seaembed.evaluate.runners as runners

    seen = []

    def spy(task, encoder):  # the evaluation of one task with one system; no encoding is needed to test routing
        seen.append(task)
        score = 0.5 if task.meta.get("half") == "select" else float("nan")
        return {"type": task.type, "main_metric": task.main_metric, "main_score": score,
                "metrics": {task.main_metric: score}, "per_lang": {}, "size": task.describe()}

    monkeypatch.setattr(runners, "run_with_encoder", spy)
    domain, general = sample_path("tasks/prdect-category-retrieval"), sample_path("tasks/nusax-bitext")
    report = search_merge_weight(tiny_model_dir, [model_b], out=tmp_path / "merged", domain_tasks=[domain],
                                 general_tasks=[general], grid=[0.0, 1.0], show_progress=False)
    assert report["half"] == "select" and report["split_seed"] == 0
    assert seen and {t.meta["half"] for t in seen} == {"select"}
    assert {t.name for t in seen} == {"prdect-category-retrieval:select", "nusax-bitext:select"}
    # what was scored is exactly the select half: no report query or pair
    _, rep_r = split_task(load_task(domain))
    _, rep_b = split_task(load_task(general))
    for t in seen:
        if t.type == "retrieval":
            assert not set(t.qrels) & set(rep_r.qrels)
        else:
            assert not {(p.src, p.tgt) for p in t.pairs} & {(p.src, p.tgt) for p in rep_b.pairs}
    assert "select half of each task" in (tmp_path / "merged" / "merge_report.md").read_text(encoding="utf-8")


def test_half_none_scores_whole_tasks(tmp_path, tiny_model_dir, model_b, monkeypatch):
    import seaembed.evaluate.runners as runners

    seen = []

    def spy(task, encoder):
        seen.append(task.meta.get("half"))
        return {"type": task.type, "main_metric": task.main_metric, "main_score": 0.5,
                "metrics": {task.main_metric: 0.5}, "per_lang": {}, "size": task.describe()}

    monkeypatch.setattr(runners, "run_with_encoder", spy)
    search_merge_weight(tiny_model_dir, [model_b], out=tmp_path / "m", half=None, grid=[0.0],
                        domain_tasks=[sample_path("tasks/prdect-category-retrieval")],
                        general_tasks=[sample_path("tasks/nusax-bitext")], show_progress=False)
    assert seen and set(seen) == {None}


@pytest.mark.parametrize("name", ["nusax-bitext", "wrete-sentence-retrieval", "emot-emotion-clf"])
def test_guard_tasks_split_into_halves(name):
    sel, rep = split_task(load_task(sample_path(f"tasks/{name}")))
    assert sel.describe() and rep.describe() and sel.name.endswith(":select") and rep.name.endswith(":report")
