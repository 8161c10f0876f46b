"""Weight search with an injected evaluator: objective, report files, in-memory merges, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from seaembed.errors import ConfigError, SeaembedError
from seaembed.merge.search import _score, choose_t, parse_grid, search_merge_weight

KEY = "0.model.encoder.layer.0.intermediate.dense.weight"


class FakeEvaluator:
    """Scores a model by how far it has moved from the base toward the tuned model along one weight (f in [0, 1]).

    domain = f (the tuned model is better in-domain); general = 1 - f**2 (moving away from the base forgets).
    Returns the evaluation stage's result shape.
    """

    def __init__(self, base: torch.Tensor, tuned: torch.Tensor, fail_at: float | None = None):
        self.base, self.delta = base, tuned - base
        self.calls: list[tuple[str, float]] = []
        self.fail_at = fail_at
        self.models: list[object] = []

    def __call__(self, model, task_dirs):
        w = model.state_dict()[KEY]
        f = float(((w - self.base) * self.delta).sum() / (self.delta * self.delta).sum())
        if self.fail_at is not None and abs(f - self.fail_at) < 1e-6:
            raise KeyboardInterrupt
        kind = Path(task_dirs[0]).name
        self.calls.append((kind, round(f, 6)))
        self.models.append(model)
        value = f if kind == "domain" else 1 - f * f
        return {"tasks": {f"{kind}-task": {"main_metric": "acc", "metrics": {"acc": value, "f1": 0.0}}}}


@pytest.fixture(scope="module")
def weights(tiny_model_dir, model_b):
    from sentence_transformers import SentenceTransformer

    a = SentenceTransformer(str(tiny_model_dir), device="cpu").state_dict()[KEY].clone()
    b = SentenceTransformer(str(model_b), device="cpu").state_dict()[KEY].clone()
    return a, b


def test_parse_grid():
    assert parse_grid("0,0.1,...,1") == pytest.approx([i / 10 for i in range(11)])
    assert parse_grid("0.5,0.2") == [0.0, 0.2, 0.5]  # t=0 (the base) is always added
    assert parse_grid("0,0.25,...,1") == [0.0, 0.25, 0.5, 0.75, 1.0]
    with pytest.raises(ConfigError):
        parse_grid("0,1.5")
    with pytest.raises(ConfigError):
        parse_grid("0,a")


def test_choose_t_objective():
    rows = [{"t": 0.0, "domain": 0.50, "general": 0.80}, {"t": 0.3, "domain": 0.60, "general": 0.795},
            {"t": 0.5, "domain": 0.65, "general": 0.785}, {"t": 0.7, "domain": 0.70, "general": 0.70}]
    assert choose_t(rows, 0.01) == (0.3, pytest.approx(0.79))
    assert choose_t(rows, 0.02)[0] == 0.5
    assert choose_t(rows, 0.0)[0] == 0.0
    assert choose_t(rows, 1.0)[0] == 0.7
    tie = rows + [{"t": 0.9, "domain": 0.70, "general": 0.75}]
    assert choose_t(tie, 1.0)[0] == 0.9  # same domain score: the higher general score wins


def test_each_constraint_stops_a_gain_hiding_a_loss():
    def row(t, dom, sib, bitext):
        return {"t": t, "domain": dom, "general": (sib + bitext) / 2,
                "tasks": {"general/sib": sib, "general/bitext": bitext, "domain/clf": dom}}

    rows = [row(0.0, 0.3, 0.50, 0.95), row(0.5, 0.5, 0.68, 0.94), row(1.0, 0.55, 0.67, 0.88)]
    assert choose_t(rows, 0.01, "mean")[0] == 1.0  # the SIB gain hides the bitext loss
    assert choose_t(rows, 0.01, "each")[0] == 0.5
    with pytest.raises(ConfigError):
        choose_t(rows, 0.01, "median")


def test_score_is_the_mean_main_metric():
    res = {"tasks": {"a": {"main_metric": "ndcg@10", "metrics": {"ndcg@10": 0.4, "mrr@10": 0.9}},
                     "b": {"main_metric": "accuracy", "metrics": {"accuracy": 0.8}}}}
    assert _score(object(), ["x"], evaluator=lambda m, d: res) == pytest.approx(0.6)
    bad = {"tasks": {"a": {"main_metric": "accuracy", "metrics": {"f1": 0.1}}}}
    with pytest.raises(SeaembedError, match="accuracy"):
        _score(object(), ["x"], evaluator=lambda m, d: bad)


def test_search_picks_the_documented_t(tmp_path, tiny_model_dir, model_b, weights):
    ev = FakeEvaluator(*weights)
    out = tmp_path / "merged"
    report = search_merge_weight(tiny_model_dir, [model_b], out=out, method="linear",
                                 domain_tasks=[tmp_path / "domain"], general_tasks=[tmp_path / "general"],
                                 grid="0,0.1,...,1", epsilon=0.1, evaluator=ev, show_progress=False)
    # general = 1 - t^2 >= 1 - 0.1  <=>  t <= 0.316: the best domain score (= t) there is at t = 0.3
    assert report["chosen_t"] == pytest.approx(0.3)
    assert report["base_general"] == pytest.approx(1.0)
    assert [r["t"] for r in report["rows"]] == pytest.approx([i / 10 for i in range(11)])
    # each t was merged in memory into one model object, not loaded from a directory
    assert all(m is ev.models[0] for m in ev.models)
    assert sorted({f for _, f in ev.calls}) == pytest.approx([i / 10 for i in range(11)], abs=1e-5)

    for name in ("merge_report.md", "merge_report.json", "merge_tradeoff.png", "merge.json", "README.md"):
        assert (out / name).is_file(), name
    assert (out / "merge_tradeoff.png").read_bytes()[:4] == b"\x89PNG"
    md = (out / "merge_report.md").read_text()
    assert "| 0.3 **<- chosen** |" in md and "epsilon = 0.1" in md
    saved = json.loads((out / "merge_report.json").read_text())
    assert saved["chosen_t"] == pytest.approx(0.3) and "objective" in saved
    assert json.loads((out / "merge.json").read_text())["t"]["default"] == pytest.approx(0.3)

    from sentence_transformers import SentenceTransformer

    got = SentenceTransformer(str(out), device="cpu").state_dict()[KEY]
    assert torch.allclose(got, 0.7 * weights[0] + 0.3 * weights[1], atol=1e-6)
    assert not out.with_name(".merged.merge-search.json").exists()


def test_interrupted_search_resumes(tmp_path, tiny_model_dir, model_b, weights):
    out = tmp_path / "merged"
    kwargs = dict(out=out, method="slerp", domain_tasks=[tmp_path / "domain"],
                  general_tasks=[tmp_path / "general"], grid="0,0.25,...,1", epsilon=0.5, show_progress=False)
    ev = FakeEvaluator(*weights, fail_at=None)
    # slerp moves along the arc, so f is not t; find f at t=0.5 by running once, then interrupt there
    first = search_merge_weight(tiny_model_dir, [model_b], evaluator=ev, **kwargs)
    f_half = next(f for kind, f in ev.calls[4:6] if kind == "domain")
    broken = FakeEvaluator(*weights, fail_at=f_half)
    out2 = tmp_path / "merged2"
    kwargs["out"] = out2
    with pytest.raises(KeyboardInterrupt):
        search_merge_weight(tiny_model_dir, [model_b], evaluator=broken, **kwargs)
    cache = out2.with_name(".merged2.merge-search.json")
    assert cache.is_file() and not out2.exists()
    assert len(json.loads(cache.read_text())["rows"]) == 2  # t = 0 and 0.25 finished
    again = FakeEvaluator(*weights)
    second = search_merge_weight(tiny_model_dir, [model_b], evaluator=again, **kwargs)
    assert len(again.calls) == 2 * 3  # only t = 0.5, 0.75, 1 were evaluated
    assert second["chosen_t"] == first["chosen_t"]
    assert not cache.exists()


def test_search_needs_both_task_lists(tmp_path, tiny_model_dir, model_b):
    with pytest.raises(SeaembedError, match="general-tasks"):
        search_merge_weight(tiny_model_dir, [model_b], out=tmp_path / "x", domain_tasks=["d"], general_tasks=[],
                            evaluator=lambda m, d: {})


def test_search_through_the_real_evaluation_stage(tmp_path, tiny_model_dir, model_b):
    """The default evaluator (seaembed.evaluate) on tiny classification and bitext tasks: the contract holds."""
    def write(path: Path, rows: list[dict]) -> None:
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")

    clf = tmp_path / "dom-clf"
    clf.mkdir()
    (clf / "task.json").write_text(json.dumps({"type": "classification", "name": "tiny-clf", "languages": ["id"],
                                               "main_metric": "accuracy"}))
    texts = [("sepatu lari pria", "shoes"), ("running shoes for men", "shoes"), ("giày chạy bộ nam", "shoes"),
             ("kaos polos katun hitam", "shirt"), ("black cotton t-shirt", "shirt"), ("เสื้อยืดสีดำ", "shirt")]
    write(clf / "train.jsonl", [{"text": t, "label": lab} for t, lab in texts * 2])
    write(clf / "test.jsonl", [{"text": t, "label": lab} for t, lab in texts])
    bitext = tmp_path / "gen-bitext"
    bitext.mkdir()
    (bitext / "task.json").write_text(json.dumps({"type": "bitext", "name": "tiny-bitext", "languages": ["en", "id"],
                                                  "main_metric": "f1"}))
    write(bitext / "pairs.jsonl", [{"src": "running shoes for men", "tgt": "sepatu lari pria", "src_lang": "en",
                                    "tgt_lang": "id"},
                                   {"src": "leather backpack women", "tgt": "tas ransel wanita kulit",
                                    "src_lang": "en", "tgt_lang": "id"}])
    report = search_merge_weight(tiny_model_dir, [model_b], out=tmp_path / "m", method="slerp",
                                 domain_tasks=[clf], general_tasks=[bitext], grid="0,0.5,1", epsilon=0.0,
                                 show_progress=False)
    assert [r["t"] for r in report["rows"]] == [0.0, 0.5, 1.0]
    for r in report["rows"]:
        assert 0.0 <= r["domain"] <= 1.0 and 0.0 <= r["general"] <= 1.0
        assert set(r["tasks"]) == {"domain/tiny-clf:select", "general/tiny-bitext:select"}  # select halves only
    assert report["chosen_t"] in (0.0, 0.5, 1.0)
    assert (tmp_path / "m" / "merge_tradeoff.png").is_file()


@pytest.mark.parametrize("retrained", [True, False])
def test_resume_is_keyed_by_the_parents_weights_not_their_paths(tmp_path, tiny_model_dir, make_tuned, retrained):
    import shutil

    from sentence_transformers import SentenceTransformer

    tuned = make_tuned(tiny_model_dir, tmp_path / "tuned", seed=1)
    w_tuned = SentenceTransformer(str(tuned), device="cpu").state_dict()[KEY].clone()
    base = SentenceTransformer(str(tiny_model_dir), device="cpu").state_dict()[KEY].clone()
    out = tmp_path / "merged"
    kwargs = dict(out=out, method="linear", domain_tasks=[tmp_path / "domain"], general_tasks=[tmp_path / "general"],
                  grid="0,0.25,...,1", epsilon=0.5, show_progress=False)
    with pytest.raises(KeyboardInterrupt):  # linear: f = t, so the search stops at t = 0.5 with 2 rows saved
        search_merge_weight(tiny_model_dir, [tuned], evaluator=FakeEvaluator(base, w_tuned, fail_at=0.5), **kwargs)
    cache = out.with_name(".merged.merge-search.json")
    assert len(json.loads(cache.read_text())["rows"]) == 2
    # "retrain" into the same path: new weights (retrained) or the same weights written again
    shutil.rmtree(tuned)
    make_tuned(tiny_model_dir, tuned, seed=2 if retrained else 1)
    w_now = SentenceTransformer(str(tuned), device="cpu").state_dict()[KEY].clone()
    assert torch.equal(w_now, w_tuned) != retrained
    again = FakeEvaluator(base, w_now)
    report = search_merge_weight(tiny_model_dir, [tuned], evaluator=again, **kwargs)
    assert len(again.calls) == 2 * (5 if retrained else 3)  # stale rows re-evaluated; same weights: reused
    assert [r["t"] for r in report["rows"]] == [0.0, 0.25, 0.5, 0.75, 1.0]
    if retrained:  # every row now describes the new tuned model (the evaluator scores f = t for it)
        assert [r["domain"] for r in report["rows"]] == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.0], abs=1e-5)
