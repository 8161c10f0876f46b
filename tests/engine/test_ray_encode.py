"""`seaembed index --ray` on a local Ray with 2 workers: it starts (and stops) its own Ray, finishes an index whose
first shards an interrupted in-process run wrote (same shard format, same keys), and gives the in-process vectors."""

from __future__ import annotations

import json

import numpy as np
import pytest

ray = pytest.importorskip("ray")

TITLES = ["Sepatu Running Pria Ringan Sol Karet", "รองเท้าวิ่งผู้ชาย น้ำหนักเบา", "Giày chạy bộ nam siêu nhẹ",
          "Wireless Bluetooth Earbuds Noise Cancelling", "Kasut Larian Lelaki Ringan", "Minyak Goreng Sawit 2L",
          "Tas Ransel Laptop 15 inch Waterproof"]


class FailingBackend:
    """Wraps a backend; its `fail_on_call`-th forward pass raises (an interrupted run)."""

    def __init__(self, inner, fail_on_call: int):
        self.inner, self.fail_on_call, self.calls = inner, fail_on_call, 0
        self.name, self.dim = inner.name, inner.dim

    def tokenize(self, texts, prompt=None):
        return self.inner.tokenize(texts, prompt)

    def embed_ids(self, batch):
        self.calls += 1
        if self.calls >= self.fail_on_call:
            raise RuntimeError("simulated interruption")
        return self.inner.embed_ids(batch)


@pytest.mark.timeout(180)
def test_index_with_ray_resumes_in_process_shards_and_matches_in_process_vectors(tiny_model_dir, tmp_path,
                                                                                  monkeypatch, seaembed_cli):
    from seaembed.engine.backends import create_backend
    from seaembed.engine.batching import BatchingConfig, Engine
    from seaembed.search.index import build_index

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    rows = [{"id": f"r{i}", "title": f"{t} {'x ' * i}{i}", "category": "C"} for i, t in
            enumerate(TITLES * 2)]  # 14 rows of varied length: shards of 4 rows are 0-3, 4-7, 8-11, 12-13
    catalog = tmp_path / "catalog.jsonl"
    catalog.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    texts = [f"{r['title']}. C" for r in rows]
    inner = create_backend("torch", tiny_model_dir, threads=1)
    out = tmp_path / "idx"
    engine = Engine(FailingBackend(inner, fail_on_call=3), BatchingConfig(max_batch_tokens=100_000))
    with pytest.raises(RuntimeError, match="simulated interruption"):  # shards 0 and 1 written in process
        build_index(str(tiny_model_dir), catalog, out, engine=engine, chunk_size=4, show_progress=False)
    engine.close()
    assert not ray.is_initialized()

    code, stdout, err = seaembed_cli("index", "--model", str(tiny_model_dir), "--catalog", str(catalog), "--out",
                                     str(out), "--backend", "torch", "--chunk-size", "4", "--ray", "--ray-workers",
                                     "2")
    assert code == 0, err
    assert not ray.is_initialized()  # the Ray it started is shut down
    info = json.loads((out / "index.json").read_text())
    assert info["encoding"] == {"with": "ray", "shard_rows": 4, "shards": 4, "shards_encoded": 2, "shards_kept": 2}
    got = np.load(out / "embeddings.npy")
    np.testing.assert_allclose(got, inner.embed_ids(inner.tokenize(texts, "passage")), atol=1e-4)


@pytest.mark.timeout(180)
def test_encode_with_ray_resumes_in_process_shards_and_matches_in_process_vectors(tiny_model_dir, tiny_model,
                                                                                   tmp_path, monkeypatch,
                                                                                   seaembed_cli):
    """`seaembed encode --ray`: the same shards as in process (it finishes what an interrupted in-process run
    left, encoding only the rest) and the same vectors, row for row."""
    import seaembed.models.encode as encode_module

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    texts = [f"{t} {'x ' * i}{i}" for i, t in enumerate(TITLES * 2)]  # 14 texts: shards 0-3, 4-7, 8-11, 12-13
    src, out = tmp_path / "in.txt", tmp_path / "vec.npy"
    src.write_text("\n".join(texts) + "\n", encoding="utf-8")
    args = ("encode", "--model", str(tiny_model_dir), "--input", str(src), "--output", str(out), "--prompt",
            "passage", "--chunk-size", "4", "--no-progress")
    real, calls = encode_module.encode, []

    def failing(model, batch, **kw):  # the third shard's call fails: shards 0 and 1 are written in process
        calls.append(len(batch))
        if len(calls) == 3:
            raise RuntimeError("simulated interruption")
        return real(model, batch, **kw)

    monkeypatch.setattr(encode_module, "encode", failing)
    with pytest.raises(RuntimeError, match="simulated interruption"):
        seaembed_cli(*args)
    monkeypatch.setattr(encode_module, "encode", real)
    assert not ray.is_initialized() and not out.exists()

    code, stdout, err = seaembed_cli(*args, "--ray", "--ray-workers", "2")
    assert code == 0, err
    assert "14 x 32 embeddings" in stdout and "4 shards: 2 encoded, 2 kept from an earlier run, with Ray" in stdout
    assert not ray.is_initialized()  # the Ray it started is shut down
    assert not (tmp_path / "vec.npy.partial").exists()
    np.testing.assert_allclose(np.load(out), real(tiny_model, texts, prompt="passage"), atol=1e-5)
