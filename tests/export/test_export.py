"""ONNX export: files, parity with torch, int8 quality, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from seaembed.errors import ConfigError


def test_export_writes_model_tokenizer_meta_and_parity(onnx_dir):
    names = {p.name for p in onnx_dir.iterdir()}
    assert {"model.onnx", "seaembed_export.json", "parity.json", "parity.md", "tokenizer.json"} <= names
    meta = json.loads((onnx_dir / "seaembed_export.json").read_text())
    assert meta["dim"] == 32 and meta["pooling"] == "mean" and meta["format"] == "onnx"
    assert meta["prompts"]["query"] == "query: " and meta["max_length"] == 128
    report = json.loads((onnx_dir / "parity.json").read_text())
    assert report["cosine_min"] > 0.999
    assert abs(report["ndcg@10_delta"]) < 1e-6
    assert "cosine_mean" in (onnx_dir / "parity.md").read_text()
    assert not list(onnx_dir.parent.glob(".*.tmp"))  # atomic: no temp dir left behind


def test_onnx_matches_fresh_torch_model_across_batch_shapes(tiny_model_dir, onnx_backend):
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(tiny_model_dir), device="cpu")
    texts = ["sepatu", "tas ransel wanita kulit " * 3, "รองเท้าวิ่ง", "giày chạy bộ nam " * 8, "x"]
    ref = model.encode(texts, prompt_name="query", normalize_embeddings=True)
    for batch in (texts[:1], texts[:2], texts):  # batch 1 (no padding) and padded batches
        got = onnx_backend.embed_ids(onnx_backend.tokenize(batch, "query"))
        cos = np.sum(got * ref[: len(batch)], axis=1)
        assert cos.min() > 0.9999


def test_int8_export_is_smaller_and_close(int8_dir, onnx_dir):
    report = json.loads((int8_dir / "parity.json").read_text())
    assert report["format"] == "onnx-int8"
    assert report["cosine_mean"] > 0.99
    meta = json.loads((int8_dir / "seaembed_export.json").read_text())
    assert meta["format"] == "onnx-int8"
    assert "MatMulInteger" in (int8_dir / "model.onnx").read_bytes().decode("latin-1")


def test_unknown_format_and_non_export_dir_are_clear_errors(tiny_model_dir, tmp_path):
    from seaembed.engine.backends import create_backend
    from seaembed.export.export import export

    with pytest.raises(ConfigError, match="unknown export format"):
        export(tiny_model_dir, "tflite", tmp_path / "x")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="not a seaembed ONNX export"):
        create_backend("onnx", tiny_model_dir)


def test_export_cli_with_beir_task(tiny_model_dir, tmp_path):
    from typer.testing import CliRunner

    from seaembed.cli import app

    task = tmp_path / "task"
    (task / "qrels").mkdir(parents=True)
    (task / "corpus.jsonl").write_text(
        '{"_id": "d1", "title": "sepatu lari", "text": ""}\n{"_id": "d2", "title": "tas ransel", "text": ""}\n')
    (task / "queries.jsonl").write_text('{"_id": "q1", "text": "sepatu"}\n')
    (task / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    out = tmp_path / "exp"
    result = CliRunner().invoke(app, ["export", "--model", str(tiny_model_dir), "--format", "onnx", "--out",
                                      str(out), "--task", str(task)])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "parity.json").read_text())
    assert report["task"] == "task" and report["task_queries"] == 1 and report["task_corpus"] == 2
    assert "parity: cosine mean" in result.output
