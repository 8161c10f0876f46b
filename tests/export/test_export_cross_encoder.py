"""`seaembed export` on a relevance cross-encoder directory: ONNX fp32 / int8 with the parity of its scores against
the torch CrossEncoder (recorded in cross_encoder.json and parity.json, printed in one line); OpenVINO and an
export of an export are refused in one line."""

from __future__ import annotations

import json

import numpy as np
import pytest


@pytest.fixture(scope="module")
def ce_dir(tiny_model_dir, tmp_path_factory):
    """The tiny model trained as a cross-encoder on the bundled task's QC / QI dev rows (300 steps, ~3 s), so its
    scores spread over (0, 1) and a correlation with them means something."""
    import torch

    from seaembed.samples import sample_path
    from seaembed.train.cross_encoder import CrossEncoderConfig, new_cross_encoder, train_cross_encoder
    from seaembed.train.cross_encoder_data import read_relevance_jsonl

    torch.set_num_threads(1)
    rows = [r for r in read_relevance_jsonl(sample_path("tasks/product-query-relevance") / "dev.jsonl")
            if r.kind != "title-category"]
    model = new_cross_encoder(str(tiny_model_dir), max_length=48)  # seeded head (seed 0)
    for m in model.modules():  # the tiny model learns nothing in a few hundred steps with dropout
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
    cfg = CrossEncoderConfig(base_model=str(tiny_model_dir), max_length=48, batch_size=16, max_steps=300,
                             learning_rate=1e-3, freeze_embeddings=False)
    return train_cross_encoder(rows, cfg, tmp_path_factory.mktemp("ce") / "relevance", model=model)


@pytest.fixture(scope="module")
def flat_ce_dir(tiny_model_dir, tmp_path_factory):
    """An untrained cross-encoder: its scores differ by ~1e-4 between pairs, less than int8 moves them."""
    import torch

    from seaembed.train.cross_encoder import new_cross_encoder

    torch.manual_seed(0)
    model = new_cross_encoder(str(tiny_model_dir), max_length=48)
    with torch.no_grad():
        model.transformers_model.classifier.weight.mul_(300.0)
    path = tmp_path_factory.mktemp("ce") / "flat"
    model.save(str(path))
    return path


def _torch_and_onnx_scores(ce_dir, export_dir):
    from seaembed.export.cross_encoder import OnnxScorer, parity_pairs
    from seaembed.train.cross_encoder import load_cross_encoder

    pairs = parity_pairs()
    ref = np.asarray(load_cross_encoder(ce_dir).predict(pairs, show_progress_bar=False), dtype=np.float64)
    return pairs, ref, OnnxScorer(export_dir).score(pairs).astype(np.float64)


def test_cli_exports_int8_with_real_parity_numbers(ce_dir, tmp_path, seaembed_cli):
    from seaembed.serve.rerank import OnnxCrossEncoderBackend, load_reranker

    out = tmp_path / "int8"
    code, stdout, stderr = seaembed_cli("export", "--model", str(ce_dir), "--format", "onnx-int8", "--out", str(out))
    assert code == 0, stderr
    lines = [x for x in stdout.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"wrote {out} (onnx-int8 cross-encoder, int8 variant per-channel)")
    assert (out / "model.onnx").is_file() and not (out / "model.fp32.onnx").exists()
    assert (out / "tokenizer.json").is_file() or (out / "tokenizer_config.json").is_file()
    meta = json.loads((out / "cross_encoder.json").read_text())
    parity = meta["parity"]
    assert meta["format"] == "onnx-int8" and meta["int8_variant"] == "per-channel" and meta["kind"] == "cross-encoder"
    assert json.loads((out / "parity.json").read_text())["pearson"] == parity["pearson"]

    # the recorded numbers are the ones a fresh torch load and the export give on the same pairs
    pairs, ref, got = _torch_and_onnx_scores(ce_dir, out)
    assert parity["pairs"] == len(pairs) == 96 and parity["queries"] == 24
    assert ref.std() > 0.1  # scores spread enough for a correlation to mean something
    assert parity["max_abs_diff"] == pytest.approx(np.abs(ref - got).max(), abs=1e-6)
    assert parity["pearson"] == pytest.approx(np.corrcoef(ref, got)[0, 1], abs=1e-6)
    assert 0 < parity["max_abs_diff"]  # int8: not equal
    # Whether this tiny trained model quantises within the gate depends on its random head: over seeds 0-3 its
    # max |diff| was 0.08-0.15 or its top-1 order broke (the earlier `< 0.05` held only by the RNG state earlier
    # tests left). What the code owns is the verdict: it follows the recorded numbers, and the line says it.
    assert parity["passed"] == (parity["pearson"] >= 0.99 and parity["max_abs_diff"] <= 0.05)
    assert f"Pearson {parity['pearson']:.4f}" in lines[0]
    assert ("a drop-in for the torch model" in lines[0]) == parity["passed"]

    backend = load_reranker(out)
    assert isinstance(backend, OnnxCrossEncoderBackend) and backend.name == "cross-encoder-onnx-int8"


def test_fp32_export_matches_torch(ce_dir, tmp_path, seaembed_cli):
    out = tmp_path / "fp32"
    code, stdout, _ = seaembed_cli("export", "--model", str(ce_dir), "--format", "onnx", "--out", str(out))
    assert code == 0 and "(onnx cross-encoder)" in stdout
    parity = json.loads((out / "cross_encoder.json").read_text())["parity"]
    assert parity["max_abs_diff"] < 1e-4 and parity["pearson"] > 0.9999 and parity["order_kept"] == parity["queries"]


def test_int8_of_an_untrained_cross_encoder_is_not_a_drop_in(flat_ce_dir, tmp_path, seaembed_cli):
    from seaembed.export.cross_encoder import parity_problem

    out = tmp_path / "flat-int8"
    code, stdout, _ = seaembed_cli("export", "--model", str(flat_ce_dir), "--format", "onnx-int8", "--out", str(out))
    parity = json.loads((out / "cross_encoder.json").read_text())["parity"]
    assert code == 0 and parity["reference_std"] < 0.01 and not parity["passed"]
    assert "not a drop-in (needs Pearson >= 0.99 and max abs diff <= 0.05)" in stdout
    assert "too far from the torch cross-encoder's" in parity_problem(out)


def test_parity_fails_when_scores_drift():
    from seaembed.export.cross_encoder import parity_line, score_parity

    pairs = [("q", "a"), ("q", "b"), ("r", "c"), ("r", "d")]
    ref = np.array([0.9, 0.1, 0.6, 0.4])
    ok = score_parity(ref, ref + 0.01, pairs)
    assert ok["passed"] and ok["order_kept"] == 2 and ok["max_abs_diff"] == pytest.approx(0.01)
    swapped = score_parity(ref, np.array([0.9, 0.1, 0.4, 0.6]), pairs)
    assert not swapped["passed"] and swapped["order_kept"] == 1 and "not a drop-in" in parity_line(swapped)
    flat = score_parity(ref, np.full(4, 0.5), pairs)
    assert flat["pearson"] is None and not flat["passed"]


def test_openvino_and_other_options_are_refused_for_a_cross_encoder(ce_dir, tmp_path, seaembed_cli):
    for fmt in ("openvino", "openvino-int8"):
        code, stdout, stderr = seaembed_cli("export", "--model", str(ce_dir), "--format", fmt, "--out",
                                            str(tmp_path / fmt))
        lines = stderr.strip().splitlines()
        assert code == 2 and len(lines) == 1 and "Traceback" not in stderr, stderr
        assert f"--format {fmt}: a relevance cross-encoder exports to onnx or onnx-int8 only" in lines[0]
        assert not (tmp_path / fmt).exists()
    code, _, stderr = seaembed_cli("export", "--model", str(ce_dir), "--task", str(tmp_path), "--out",
                                   str(tmp_path / "t"))
    assert code == 2 and "--task is for a bi-encoder" in stderr


def test_an_export_is_not_exported_again(ce_dir, tmp_path, seaembed_cli):
    from seaembed.export.cross_encoder import cross_encoder_format, export_cross_encoder

    out = export_cross_encoder(ce_dir, tmp_path / "x", int8=False)
    assert cross_encoder_format(out) == "onnx" and cross_encoder_format(ce_dir) == "torch"
    code, _, stderr = seaembed_cli("export", "--model", str(out), "--out", str(tmp_path / "y"))
    assert code == 2 and "already an ONNX export of a cross-encoder" in stderr


def test_a_bi_encoder_is_still_exported_as_one(tiny_model_dir):
    from seaembed.export.cross_encoder import cross_encoder_format

    assert cross_encoder_format(tiny_model_dir) is None  # what sends `seaembed export` down the embedding path
