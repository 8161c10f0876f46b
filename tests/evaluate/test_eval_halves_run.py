"""`evaluate(..., half=...)` scores one half of each task and says so in results, results.md and report.html."""

from __future__ import annotations

import numpy as np
import pytest

from seaembed.evaluate.halves import split_task
from seaembed.evaluate.metrics.classification import classification_metrics
from seaembed.evaluate.run import evaluate
from seaembed.evaluate.tasks import load_task
from seaembed.samples import sample_path


def test_evaluate_report_half(tmp_path, tiny_model_dir):
    task_dir = sample_path("tasks/wrete-sentence-retrieval")
    res = evaluate(str(tiny_model_dir), [task_dir], baselines=["bm25"], out_dir=tmp_path, half="report",
                   show_progress=False, cache=False)
    _, rep = split_task(load_task(task_dir))
    entry = res["tasks"]["wrete-sentence-retrieval:report"]
    assert entry["size"]["queries"] == len(rep.qrels) and entry["metrics"]["n_queries"] == len(rep.qrels)
    assert set(res["baselines"]["bm25"]["tasks"]) == {"wrete-sentence-retrieval:report"}
    assert res["halves"] == {"half": "report", "seed": 0, "note": "report half; settings chosen on the select half"}
    for name in ("report.html", "results.md"):
        assert "report half; settings chosen on the select half" in (tmp_path / name).read_text(encoding="utf-8")


def test_evaluate_whole_tasks_by_default(tmp_path, tiny_model_dir):
    res = evaluate(str(tiny_model_dir), [sample_path("tasks/wrete-sentence-retrieval")], show_progress=False,
                   cache=False)
    assert "wrete-sentence-retrieval" in res["tasks"] and "halves" not in res


def test_standardised_probe_ignores_per_dimension_scale():
    """The raw (MTEB-style) probe's L2 penalty sees coordinate scale; the standardised one does not."""
    rng = np.random.default_rng(0)
    n = 400
    y = rng.integers(0, 2, n)
    x = rng.normal(size=(n, 8))
    x[:, 0] += 2.0 * y  # one informative dimension
    scaled = x.copy()
    scaled[:, 0] *= 1e-4  # the same information, squeezed (as an anisotropic embedding space squeezes it)
    scaled[:, 1:] *= 10.0
    labels = [str(v) for v in y]
    a, _ = classification_metrics(x[:300], labels[:300], x[300:], labels[300:])
    b, _ = classification_metrics(scaled[:300], labels[:300], scaled[300:], labels[300:])
    assert {"accuracy", "f1_macro", "accuracy_std", "f1_macro_std"} <= set(a)
    assert b["accuracy_std"] == pytest.approx(a["accuracy_std"])  # invariant
    assert a["accuracy_std"] > 0.75 and b["accuracy"] < b["accuracy_std"] - 0.15  # the raw probe is fooled
