"""`seaembed index` writes sharded, resumable embeddings (#16): the manifest after an interruption, a resume that
encodes only the missing shards, a changed text that re-encodes its shard only; `--ray` without Ray is one line."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from test_search_index import CountingBackend, _engine

from seaembed.search.search_index import SearchIndex


class RecordingBackend(CountingBackend):
    """Also records the texts it was asked to tokenise (one engine request a shard)."""

    def __init__(self, inner, fail_on_call=None):
        super().__init__(inner, fail_on_call)
        self.texts: list[str] = []

    def tokenize(self, texts, prompt=None):
        self.texts += list(texts)
        return super().tokenize(texts, prompt)


def _texts(catalog) -> list[str]:
    rows = [json.loads(x) for x in catalog.read_text(encoding="utf-8").splitlines()]
    return [r["title"] + ". " + r["category"] for r in rows]


def _build(model, catalog, out, backend, **kw):
    from seaembed.search.index import build_index

    engine = _engine(backend)
    try:
        return build_index(str(model), catalog, out, engine=engine, chunk_size=3, show_progress=False, **kw)
    finally:
        engine.close()


def test_interrupted_index_leaves_finished_shards_and_a_manifest_then_resumes(tiny_model_dir, catalog_file,
                                                                              tmp_path):
    from seaembed.engine.backends import create_backend
    from seaembed.engine.shards import model_key, shard_key
    from seaembed.models.fingerprint import model_fingerprint

    inner = create_backend("torch", tiny_model_dir)
    texts = _texts(catalog_file)
    out = tmp_path / "idx"
    with pytest.raises(RuntimeError, match="simulated interruption"):  # shard 2 of 0..3 fails
        _build(tiny_model_dir, catalog_file, out, CountingBackend(inner, fail_on_call=3))
    shards = tmp_path / "idx.partial" / "shards"
    manifest = json.loads((shards / "manifest.json").read_text())
    key = model_key(model_fingerprint(str(tiny_model_dir)), "torch", "passage")
    assert manifest["complete"] is False and manifest["dim"] == 32 and not out.exists()
    assert [(e["index"], e["start"], e["stop"], e["key"]) for e in manifest["shards"]] == [
        (0, 0, 3, shard_key(texts[0:3], key)), (1, 3, 6, shard_key(texts[3:6], key))]
    assert sorted(p.name for p in shards.glob("shard_*.npy")) == [e["file"] for e in manifest["shards"]]
    np.testing.assert_allclose(np.load(shards / manifest["shards"][1]["file"]),
                               inner.embed_ids(inner.tokenize(texts[3:6], "passage")), atol=1e-5)

    resumed = RecordingBackend(inner)
    _build(tiny_model_dir, catalog_file, out, resumed)
    assert resumed.texts == texts[6:] and resumed.sequences == 4  # only shards 2 and 3
    assert not (tmp_path / "idx.partial").exists()
    info = json.loads((out / "index.json").read_text())
    assert info["encoding"] == {"with": "in-process", "shard_rows": 3, "shards": 4, "shards_encoded": 2,
                                "shards_kept": 2}
    np.testing.assert_allclose(SearchIndex.load(out).vectors, inner.embed_ids(inner.tokenize(texts, "passage")),
                               atol=1e-5)
    assert [json.loads(x)["id"] for x in (out / "metadata.jsonl").read_text().splitlines()] == [
        f"p{i}" for i in range(1, 11)]


def test_changed_text_reencodes_only_its_shard(tiny_model_dir, catalog_file, tmp_path):
    from seaembed.engine.backends import create_backend

    inner = create_backend("torch", tiny_model_dir)
    out = tmp_path / "idx"
    with pytest.raises(RuntimeError, match="simulated interruption"):  # shards 0 and 1 finished
        _build(tiny_model_dir, catalog_file, out, CountingBackend(inner, fail_on_call=3))
    rows = [json.loads(x) for x in catalog_file.read_text(encoding="utf-8").splitlines()]
    rows[4]["title"] = "Headphone Bluetooth Peredam Bising"  # row 4: shard 1
    changed = tmp_path / "changed.jsonl"  # another path too: resume is keyed by content
    changed.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    texts = _texts(changed)
    resumed = RecordingBackend(inner)
    _build(tiny_model_dir, changed, out, resumed)
    assert resumed.texts == texts[3:]  # shard 1 (changed) and the unfinished 2 and 3; shard 0 kept
    np.testing.assert_allclose(SearchIndex.load(out).vectors, inner.embed_ids(inner.tokenize(texts, "passage")),
                               atol=1e-5)


def test_ivfpq_index_reranks_by_exact_cosine(tiny_model_dir, catalog_file, onnx_backend, tmp_path):
    from seaembed.engine.backends import create_backend

    out = _build(tiny_model_dir, catalog_file, tmp_path / "idx", CountingBackend(create_backend("torch",
                                                                                                tiny_model_dir)),
                 kind="ivfpq")
    index = SearchIndex.load(out)
    q = onnx_backend.embed_ids(onnx_backend.tokenize(["sepatu lari"], "query"))[0]
    exact = np.asarray(index.vectors) @ q
    hits = index.dense_search(q, 5)
    assert [r for r, _ in hits] == list(np.argsort(-exact)[:5])
    np.testing.assert_allclose([s for _, s in hits], np.sort(exact)[::-1][:5], atol=1e-5)  # not PQ estimates


def test_ray_flag_without_ray_is_one_line_exit_2(tiny_model_dir, catalog_file, tmp_path, monkeypatch, seaembed_cli):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    out = tmp_path / "idx"
    code, _, err = seaembed_cli("index", "--model", str(tiny_model_dir), "--catalog", str(catalog_file),
                                "--out", str(out), "--backend", "torch", "--ray", "--ray-workers", "2")
    lines = [ln for ln in err.splitlines() if not ln.startswith("warning:")]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err
    assert lines[0].startswith("error: --ray needs Ray Data, and 'ray' is not installed: pip install 'ray[data]'")
    assert not out.exists() and not (tmp_path / "idx.partial").exists()
    code, _, err = seaembed_cli("index", "--model", str(tiny_model_dir), "--catalog", str(catalog_file),
                                "--out", str(out), "--ray-workers", "2")
    assert code == 2 and "--ray-workers and --ray-address go with --ray" in err
