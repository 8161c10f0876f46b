"""OpenVINO exports (fp32 IR and NNCF int8) of the tiny model: parity, backend, server resolution, bad input."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

pytest.importorskip("openvino")
pytest.importorskip("nncf")


@pytest.fixture(scope="module")
def ov_dirs(tiny_model_dir, tmp_path_factory):
    from seaembed.export.export import export

    root = tmp_path_factory.mktemp("openvino")
    return {fmt: export(tiny_model_dir, fmt, root / fmt) for fmt in ("openvino", "openvino-int8")}


def _torch_reference(tiny_model_dir, texts, prompt="query"):
    from seaembed.engine.backends import create_backend

    ref = create_backend("torch", tiny_model_dir, threads=1)
    return ref.embed_ids(ref.tokenize(texts, prompt))


def test_openvino_fp32_export_matches_torch(ov_dirs, tiny_model_dir):
    from seaembed.engine.backends import create_backend

    d = ov_dirs["openvino"]
    meta = json.loads((d / "seaembed_export.json").read_text())
    assert meta["format"] == "openvino" and meta["file"] == "model.xml" and meta["calibration"] is None
    assert (d / "model.bin").stat().st_size > 0 and not (d / "model.onnx").exists()
    assert meta["size_bytes"] == (d / "model.xml").stat().st_size + (d / "model.bin").stat().st_size
    parity = json.loads((d / "parity.json").read_text())
    assert parity["cosine_min"] > 0.9999 and parity["format"] == "openvino"

    texts = ["sepatu lari pria", "รองเท้าวิ่ง", "giày chạy bộ", "a much longer product title with many words"]
    backend = create_backend("openvino", d, threads=1)
    assert backend.name == "openvino-float32" and backend.dim == meta["dim"]
    got = backend.embed_ids(backend.tokenize(texts, "query"))
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(got, _torch_reference(tiny_model_dir, texts), atol=1e-4)


def test_openvino_int8_export_is_quantised_and_close(ov_dirs, tiny_model_dir):
    from seaembed.engine.backends import create_backend

    d = ov_dirs["openvino-int8"]
    meta = json.loads((d / "seaembed_export.json").read_text())
    assert meta["format"] == "openvino-int8" and meta["calibration"] == "bundled sample"
    xml = (d / "model.xml").read_text()
    assert "FakeQuantize" in xml or "FakeConvert" in xml  # activations are quantised, not only weights
    parity = json.loads((d / "parity.json").read_text())
    assert 0.95 < parity["cosine_mean"] <= 1.0 + 1e-6
    backend = create_backend("openvino", d, threads=1)
    assert backend.name == "openvino-int8"
    texts = ["sepatu lari pria", "kaos polos hitam", "tai nghe bluetooth"]
    got = backend.embed_ids(backend.tokenize(texts, "query"))
    cos = np.sum(got * _torch_reference(tiny_model_dir, texts), axis=1)
    assert cos.min() > 0.9


def test_default_calibration_mixes_prompted_queries_and_passages():
    from seaembed.export.openvino_export import default_calibration_texts

    texts = default_calibration_texts({"query": "query: ", "passage": "passage: "}, n=40)
    assert len(texts) == 40
    assert sum(t.startswith("passage: ") for t in texts) == 20 and sum(t.startswith("query: ") for t in texts) == 20
    assert texts == default_calibration_texts({"query": "query: ", "passage": "passage: "}, n=40)  # seeded


def test_custom_calibration_file_and_empty_one(tiny_model_dir, tmp_path):
    from seaembed.errors import ConfigError
    from seaembed.export.export import export
    from seaembed.export.openvino_export import calibration_texts

    cal = tmp_path / "cal.jsonl"
    cal.write_text("".join(json.dumps({"t": f"query: produk nomor {i}"}) + "\n" for i in range(12)))
    assert calibration_texts(cal, {}, "t")[:2] == ["query: produk nomor 0", "query: produk nomor 1"]
    out = export(tiny_model_dir, "openvino-int8", tmp_path / "ov8", calibration=cal, calibration_field="t",
                 parity=False)
    assert json.loads((out / "seaembed_export.json").read_text())["calibration"] == str(cal)
    many = tmp_path / "many.txt"
    many.write_text("".join(f"teks {i}\n" for i in range(1000)))
    sample = calibration_texts(many, {}, n=300)
    assert len(sample) == 300 == len(set(sample)) and sample == calibration_texts(many, {}, n=300)
    assert [int(t.split()[1]) for t in sample] == sorted(int(t.split()[1]) for t in sample)  # file order kept
    assert max(int(t.split()[1]) for t in sample) > 900  # drawn from the whole file, not its head
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(ConfigError):
        calibration_texts(empty, {})


def test_server_resolves_openvino_exports(ov_dirs, onnx_dir):
    from seaembed.engine.export_meta import resolve_backend
    from seaembed.errors import ConfigError

    assert resolve_backend(str(ov_dirs["openvino-int8"]), "auto") == "openvino"
    assert resolve_backend(str(ov_dirs["openvino"]), "openvino") == "openvino"
    with pytest.raises(ConfigError, match="--backend openvino"):
        resolve_backend(str(ov_dirs["openvino"]), "onnx")
    with pytest.raises(ConfigError, match="--backend onnx"):
        resolve_backend(str(onnx_dir), "openvino")


def test_missing_openvino_is_a_clear_error(monkeypatch, tiny_model_dir, tmp_path):
    from seaembed.errors import ConfigError
    from seaembed.export.export import export

    monkeypatch.setitem(sys.modules, "openvino", None)  # import openvino -> ImportError
    with pytest.raises(ConfigError, match=r"seaembed\[openvino\]"):
        export(tiny_model_dir, "openvino-int8", tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_openvino_backend_rejects_unknown_dtype(ov_dirs):
    from seaembed.engine.backends import create_backend
    from seaembed.errors import ConfigError

    with pytest.raises(ConfigError, match="float32 or bfloat16"):
        create_backend("openvino", ov_dirs["openvino"], dtype="float16")


def test_openvino_pads_to_a_multiple_of_8_and_warms_every_shape(ov_dirs):
    from seaembed.engine.backends import create_backend
    from seaembed.engine.batching import BatchingConfig, Engine

    backend = create_backend("openvino", ov_dirs["openvino"], threads=1)
    ids, mask = backend.pad([[0, 5, 6, 2], [0, 7, 8, 9, 10, 11, 12, 13, 14, 2]])
    assert ids.shape == (2, 16) and mask.sum(axis=1).tolist() == [4, 10]
    assert (ids[0, 4:] == backend.pad_id).all()
    # widths 8, 16, 24 with a 64-token budget: 8 (size cap 8), 64 // 16 = 4 and 64 // 24 = 2 rows
    assert backend.warmup(64, 8, max_length=24) == 8 + 4 + 2
    seen = []
    engine = Engine(backend, BatchingConfig(max_batch_tokens=16, max_batch_size=4), on_batch=seen.append)
    try:
        # budget 16: width 8 takes 1-2 rows; widths 16..128 one row each (longer sequences run alone)
        assert engine.warmup() == 2 + len(range(16, min(128, backend.max_length) + 1, 8))
        vecs, _ = engine.embed_sync(["sepatu", "tas", "kaos", "minyak goreng sawit dua liter"], "query")
        np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    finally:
        engine.close()
    # the engine budgets with padded widths: every batch fits 16 padded tokens
    assert seen and all(s.padded_tokens <= 16 or s.size == 1 for s in seen)
    assert all(s.padded_tokens % 8 == 0 for s in seen)


def test_backends_without_shape_costs_skip_warmup(onnx_backend):
    assert onnx_backend.warmup(512, 256) == 0
