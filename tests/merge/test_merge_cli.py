"""`seaembed merge` end to end on tiny models, through the real entry point."""

from __future__ import annotations

import json
import sys

import torch

from seaembed.cli import main


def _run(monkeypatch, *args: str) -> int:
    monkeypatch.setattr(sys, "argv", ["seaembed", "merge", *map(str, args)])
    try:
        main()
    except SystemExit as e:
        return int(e.code or 0)
    return 0


def test_cli_slerp_end_to_end(monkeypatch, capsys, tmp_path, tiny_model_dir, model_b):
    from sentence_transformers import SentenceTransformer

    out = tmp_path / "merged"
    code = _run(monkeypatch, "--base", tiny_model_dir, "--tuned", model_b, "--method", "slerp", "--t", "0.5",
                "--out", out)
    assert code == 0
    assert f"merged model: {out}" in capsys.readouterr().out
    model = SentenceTransformer(str(out), device="cpu")
    emb = model.encode(["kaos polos katun hitam"], prompt_name="passage", normalize_embeddings=True)
    assert emb.shape == (1, 32) and abs(float((emb ** 2).sum()) - 1) < 1e-5
    assert json.loads((out / "merge.json").read_text())["method"] == "slerp"


def test_cli_group_mapping(monkeypatch, tmp_path, tiny_model_dir, model_b):
    from sentence_transformers import SentenceTransformer

    out = tmp_path / "grouped"
    code = _run(monkeypatch, "--base", tiny_model_dir, "--tuned", model_b, "--method", "linear",
                "--t", "{default: 1, embeddings: 0}", "--out", out)
    assert code == 0
    a = SentenceTransformer(str(tiny_model_dir), device="cpu").state_dict()
    b = SentenceTransformer(str(model_b), device="cpu").state_dict()
    got = SentenceTransformer(str(out), device="cpu").state_dict()
    k_emb, k_attn = "0.model.embeddings.word_embeddings.weight", "0.model.encoder.layer.0.attention.self.key.weight"
    assert torch.equal(got[k_emb], a[k_emb]) and torch.equal(got[k_attn], b[k_attn])


def test_cli_errors_are_one_line_with_exit_2(monkeypatch, capsys, tmp_path, tiny_model_dir):
    from seaembed.testing import build_tiny_model

    deep = build_tiny_model(tmp_path / "deep", seed=0, layers=3)
    code = _run(monkeypatch, "--base", tiny_model_dir, "--tuned", deep, "--out", tmp_path / "x")
    err = capsys.readouterr().err
    assert code == 2
    assert "error: tensor '0.model.encoder.layer.2." in err and "Traceback" not in err
    code = _run(monkeypatch, "--base", tiny_model_dir, "--tuned", deep, "--t", "{embedings: 0}",
                "--out", tmp_path / "x")
    assert code == 2 and "unknown key" in capsys.readouterr().err
    code = _run(monkeypatch, "--base", tiny_model_dir, "--tuned", tmp_path / "missing", "--out", tmp_path / "x")
    assert code == 2 and "missing" in capsys.readouterr().err


def test_cli_t_auto_uses_the_evaluation_stage(monkeypatch, capsys, tmp_path, tiny_model_dir, model_b):
    import seaembed.merge.search as search

    seen = []

    def fake_evaluate(model, task_dirs, half=None, split_seed=0):  # general drops fast as t grows; domain rises
        assert half == "select" and split_seed == 0  # the choice is made on select halves
        seen.append(list(task_dirs))
        w = model.state_dict()["0.model.pooler.dense.weight"]
        a = fake_evaluate.base
        f = float((w - a).norm() / (fake_evaluate.tuned - a).norm())
        score = f if "dom" in str(task_dirs[0]) else 1 - f
        return {"tasks": {str(task_dirs[0]): {"main_metric": "m", "metrics": {"m": score}}}}

    from sentence_transformers import SentenceTransformer

    fake_evaluate.base = SentenceTransformer(str(tiny_model_dir)).state_dict()["0.model.pooler.dense.weight"]
    fake_evaluate.tuned = SentenceTransformer(str(model_b)).state_dict()["0.model.pooler.dense.weight"]
    monkeypatch.setattr(search, "default_evaluator", fake_evaluate)
    out = tmp_path / "auto"
    code = _run(monkeypatch, "--base", tiny_model_dir, "--tuned", model_b, "--method", "linear", "--t", "auto",
                "--grid", "0,0.2,...,1", "--epsilon", "0.45", "--domain-tasks", tmp_path / "dom1",
                "--general-tasks", tmp_path / "gen1", "--out", out)
    assert code == 0
    assert "chosen t = 0.4" in capsys.readouterr().out  # 1 - t >= 1 - 0.45
    assert [str(tmp_path / "dom1")] in seen and [str(tmp_path / "gen1")] in seen
    assert (out / "merge_report.md").is_file()
