"""encode (order, normalisation, prompts, bf16), model_fingerprint (stable across copies, sensitive to weights), freezing."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from seaembed.errors import ConfigError
from seaembed.models import freeze_word_embeddings, load_model, model_fingerprint, trainable_parameters
from seaembed.models.encode import encode

TEXTS = ["kaos polos katun hitam ukuran xl", "tas", "giày chạy bộ nam", "เสื้อยืดสีดำ", "running shoes for men",
         "a", "sepatu lari pria ringan dan nyaman untuk olahraga", "ស្បែកជើងរត់", "ဖိနပ်", "kasut larian lelaki"]


def test_encode_keeps_input_order_and_normalises(tiny_model) -> None:
    out = encode(tiny_model, TEXTS, batch_size=3)
    assert out.shape == (len(TEXTS), 32) and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-6)
    one_by_one = np.stack([encode(tiny_model, [t])[0] for t in TEXTS])
    np.testing.assert_allclose(out, one_by_one, atol=1e-5)
    perm = np.random.default_rng(0).permutation(len(TEXTS))
    np.testing.assert_allclose(encode(tiny_model, [TEXTS[i] for i in perm], batch_size=4), out[perm], atol=1e-5)


def test_encode_prompts(tiny_model) -> None:
    query = encode(tiny_model, TEXTS, prompt="query")
    np.testing.assert_allclose(query, tiny_model.encode(TEXTS, prompt="query: ", normalize_embeddings=True), atol=1e-5)
    passage = encode(tiny_model, TEXTS, prompt="passage")
    assert not np.allclose(query, passage)
    np.testing.assert_allclose(passage, tiny_model.encode(["passage: " + t for t in TEXTS], normalize_embeddings=True),
                               atol=1e-5)
    with pytest.raises(ConfigError, match="unknown prompt 'question'"):
        encode(tiny_model, TEXTS, prompt="question")


def test_encode_edge_cases(tiny_model) -> None:
    assert encode(tiny_model, []).shape == (0, 32)
    with pytest.raises(ConfigError, match="batch size"):
        encode(tiny_model, TEXTS, batch_size=0)
    with pytest.raises(ConfigError, match="text 1 is a int"):
        encode(tiny_model, ["ok", 3])  # type: ignore[list-item]


def test_encode_bfloat16_autocast_is_close(tiny_model) -> None:
    fp32 = encode(tiny_model, TEXTS)
    bf16 = encode(tiny_model, TEXTS, dtype="bfloat16")
    assert bf16.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(bf16, axis=1), 1.0, atol=1e-5)
    assert (fp32 * bf16).sum(axis=1).min() > 0.98
    with pytest.raises(ConfigError, match="unknown dtype"):
        encode(tiny_model, TEXTS, dtype="float8")


def test_encode_shows_progress(tiny_model, capsys: pytest.CaptureFixture[str]) -> None:
    encode(tiny_model, TEXTS, batch_size=4, show_progress=True)
    assert "encoding" in capsys.readouterr().err


def test_fingerprint_is_stable_across_copies_and_sees_weight_changes(tiny_model_dir: Path, tmp_path: Path) -> None:
    from safetensors.numpy import load_file, save_file

    fp = model_fingerprint(tiny_model_dir)
    assert len(fp) == 16 and fp == model_fingerprint(str(tiny_model_dir))
    copy = tmp_path / "copy"
    shutil.copytree(tiny_model_dir, copy)
    (copy / "README.md").write_text("another card")
    assert model_fingerprint(copy) == fp  # content, not paths, mtimes or the model card
    weights = load_file(str(copy / "model.safetensors"))
    name = next(k for k in sorted(weights) if "layer.1" in k and k.endswith("weight") and weights[k].ndim == 2)
    weights[name] = weights[name].copy()
    weights[name][-1, -1] += 0.5
    save_file(weights, str(copy / "model.safetensors"))
    assert model_fingerprint(copy) != fp
    prompts_changed = tmp_path / "prompts"
    shutil.copytree(tiny_model_dir, prompts_changed)
    cfg = prompts_changed / "config_sentence_transformers.json"
    cfg.write_text(cfg.read_text().replace('"query: "', '"search: "'))
    assert model_fingerprint(prompts_changed) != fp


def test_fingerprint_of_loaded_model_follows_its_weights(tiny_model_dir: Path) -> None:
    import torch

    a, b = load_model(str(tiny_model_dir)), load_model(str(tiny_model_dir))
    assert model_fingerprint(a) == model_fingerprint(b)
    with torch.no_grad():
        next(p for n, p in a.named_parameters() if "layer.1" in n).add_(1e-3)
    assert model_fingerprint(a) != model_fingerprint(b)


def test_freeze_word_embeddings(tiny_model_dir: Path) -> None:
    import torch

    model = load_model(str(tiny_model_dir))
    before = trainable_parameters(model)
    emb = model[0].auto_model.get_input_embeddings()
    frozen = freeze_word_embeddings(model)
    assert frozen == emb.weight.numel() > 0
    assert trainable_parameters(model) == before - frozen
    assert not emb.weight.requires_grad
    model.train()
    features = model.tokenize(TEXTS[:2])
    loss = model(features)["sentence_embedding"].sum()
    loss.backward()
    assert emb.weight.grad is None
    assert any(p.grad is not None and torch.count_nonzero(p.grad) for p in model.parameters() if p.requires_grad)
