"""The embedding cache: a second evaluation of the same model does not call the model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from seaembed.evaluate import encoders
from seaembed.evaluate.encoders import CachedEncoder, EmbeddingCache, SentenceTransformerEncoder
from seaembed.evaluate.run import evaluate


def test_cached_encoder_hits_and_misses(tiny_model, tmp_path: Path):
    cache = EmbeddingCache("fp-test", root=tmp_path)
    enc = CachedEncoder(SentenceTransformerEncoder(tiny_model), cache)
    texts = ["sepatu lari", "เสื้อยืด", "sepatu lari"]
    first = enc.encode(texts, "query")
    assert enc.misses == 2 and enc.hits == 0 and len(cache) == 2  # the repeat is encoded once
    direct = SentenceTransformerEncoder(tiny_model).encode(texts, "query")
    np.testing.assert_allclose(first, direct, atol=1e-6)
    # the prompt is part of the key: 'passage' embeddings differ and are cached separately
    passage = enc.encode(texts[:1], "passage")
    assert enc.misses == 3 and not np.allclose(passage[0], first[0])
    again = CachedEncoder(SentenceTransformerEncoder(tiny_model), EmbeddingCache("fp-test", root=tmp_path))
    np.testing.assert_array_equal(again.encode(texts, "query"), first)
    assert again.misses == 0 and again.hits == 3


def test_second_evaluation_does_not_call_the_model(tiny_model_dir: Path, task_root: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SEAEMBED_HOME", str(tmp_path / "home"))
    first = evaluate(str(tiny_model_dir), [task_root], show_progress=False)
    assert list((tmp_path / "home" / "cache" / "embeddings").glob("*.sqlite"))
    calls = []

    def refuse(self, texts, prompt=None):
        calls.append(len(texts))
        raise AssertionError("the model was called although every text is cached")

    monkeypatch.setattr(encoders.SentenceTransformerEncoder, "encode", refuse)
    second = evaluate(str(tiny_model_dir), [task_root], show_progress=False)
    assert calls == []
    for name, entry in first["tasks"].items():
        assert json.dumps(entry["metrics"], sort_keys=True) == json.dumps(second["tasks"][name]["metrics"],
                                                                          sort_keys=True)
    with pytest.raises(AssertionError, match="cached"):  # the patch is live: a cache-less run must call it
        evaluate(str(tiny_model_dir), [task_root], show_progress=False, cache=False)


def test_interrupted_encoding_keeps_finished_chunks(tiny_model, tmp_path: Path):
    class Flaky(SentenceTransformerEncoder):
        calls = 0

        def encode(self, texts, prompt=None):
            Flaky.calls += 1
            if Flaky.calls == 3:
                raise KeyboardInterrupt
            return super().encode(texts, prompt)

    texts = [f"produk {i}" for i in range(10)]
    enc = CachedEncoder(Flaky(tiny_model), EmbeddingCache("fp-chunks", root=tmp_path), chunk=4)
    with pytest.raises(KeyboardInterrupt):
        enc.encode(texts, "passage")
    assert len(enc.cache) == 8  # two finished chunks survived
    resumed = CachedEncoder(SentenceTransformerEncoder(tiny_model), EmbeddingCache("fp-chunks", root=tmp_path))
    resumed.encode(texts, "passage")
    assert resumed.misses == 2 and resumed.hits == 8
