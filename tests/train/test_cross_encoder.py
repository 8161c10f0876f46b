"""The relevance cross-encoder: training on a tiny model moves scores toward the labels; data readers fail loudly."""

from __future__ import annotations

import json

import numpy as np
import pytest

from seaembed.errors import InputError
from seaembed.train.cross_encoder import (
    CrossEncoderConfig,
    RelevancePair,
    class_balance,
    load_cross_encoder,
    marked_target,
    new_cross_encoder,
    score_pairs,
    train_cross_encoder,
)
from seaembed.train.cross_encoder_data import catalog_pairs, read_cikm_csv, read_relevance_jsonl

# a separable toy task: shoes are relevant to "sepatu", bags to "tas"
SHOES = ["sepatu lari pria ringan", "running shoes for men", "giày chạy bộ nam", "kasut larian lelaki"]
BAGS = ["tas ransel wanita kulit", "leather backpack women"]
PAIRS = ([RelevancePair("sepatu", t, 1, "query-item", "id") for t in SHOES]
         + [RelevancePair("sepatu", t, 0, "query-item", "id") for t in BAGS]
         + [RelevancePair("tas", t, 1, "query-item", "id") for t in BAGS]
         + [RelevancePair("tas", t, 0, "query-item", "id") for t in SHOES])


def test_kind_marker_is_the_field_qc_and_qi_share():
    assert marked_target("query-category", "Fashion > Shoes") == "category: Fashion > Shoes"
    assert marked_target("title-category", "A > B") == "category: A > B"
    assert marked_target("query-item", "Nike") == "item: Nike"
    with pytest.raises(ValueError, match="unknown pair kind"):
        marked_target("item-item", "x")


def no_dropout(model):
    """The tiny random model learns nothing in a few steps with dropout 0.1 on 32 dims; without it, it does."""
    import torch

    for m in model.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
    return model


def test_training_fits_a_separable_task(tiny_model_dir, tmp_path):
    model = no_dropout(new_cross_encoder(str(tiny_model_dir), max_length=32))
    before = score_pairs(model, PAIRS)
    cfg = CrossEncoderConfig(base_model=str(tiny_model_dir), max_length=32, batch_size=12, max_steps=150,
                             learning_rate=3e-3, warmup_ratio=0.0, freeze_embeddings=False)
    out = train_cross_encoder(PAIRS, cfg, tmp_path / "ce", model=model)
    assert (out / "config.json").exists() and not (out / "_trainer").exists()
    after = score_pairs(load_cross_encoder(out), PAIRS)
    y = np.array([p.label for p in PAIRS])
    gap = lambda s: s[y == 1].mean() - s[y == 0].mean()  # noqa: E731
    assert abs(gap(before)) < 0.05  # random head: no separation
    assert gap(after) > 0.3 and after[y == 1].min() > after[y == 0].max()


def test_frozen_embeddings_do_not_move(tiny_model_dir, tmp_path):
    from seaembed.models.freeze import word_embeddings

    model = new_cross_encoder(str(tiny_model_dir), max_length=32)
    emb0 = word_embeddings(model.transformers_model).weight.detach().clone()
    cls0 = [p.detach().clone() for n, p in model.transformers_model.named_parameters() if "classifier" in n]
    train_cross_encoder(PAIRS, CrossEncoderConfig(max_steps=3, batch_size=4, learning_rate=1e-2), tmp_path / "c",
                        model=model)
    assert torch_equal(word_embeddings(model.transformers_model).weight, emb0)
    cls1 = [p for n, p in model.transformers_model.named_parameters() if "classifier" in n]
    assert any(not torch_equal(a, b) for a, b in zip(cls1, cls0, strict=True))


def torch_equal(a, b) -> bool:
    import torch

    return bool(torch.equal(a.detach(), b))


def test_lora_trains_only_adapters(tiny_model_dir, tmp_path):
    model = new_cross_encoder(str(tiny_model_dir), max_length=32, lora={"r": 4, "alpha": 8})
    trainable = [n for n, p in model.transformers_model.named_parameters() if p.requires_grad]
    assert trainable and all("lora" in n or "classifier" in n or "score" in n for n in trainable)
    base = {n: p.detach().clone() for n, p in model.transformers_model.named_parameters() if not p.requires_grad}
    train_cross_encoder(PAIRS, CrossEncoderConfig(max_steps=3, batch_size=4, learning_rate=1e-2,
                                                  lora={"r": 4}), tmp_path / "l", model=model)
    for n, p in model.transformers_model.named_parameters():
        if n in base:
            assert torch_equal(p, base[n]), n


def test_bad_labels_rejected(tiny_model_dir, tmp_path):
    with pytest.raises(ValueError, match="0 or 1"):
        train_cross_encoder([RelevancePair("a", "b", 2)], CrossEncoderConfig(base_model=str(tiny_model_dir)),
                            tmp_path)
    with pytest.raises(ValueError, match="no relevance pairs"):
        train_cross_encoder([], CrossEncoderConfig(base_model=str(tiny_model_dir)), tmp_path)


def test_jsonl_reader_names_file_line_field(tmp_path):
    p = tmp_path / "r.jsonl"
    p.write_text(json.dumps({"text1": "q", "text2": "t", "label": 1, "kind": "query-category", "lang": "id"}) + "\n"
                 + json.dumps({"text1": "q", "text2": "t", "label": 3}) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"r.jsonl:2: field 'label': must be 0 or 1"):
        read_relevance_jsonl(p)
    p.write_text(json.dumps({"text1": "q", "label": 1}) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"r.jsonl:1: field 'text2'"):
        read_relevance_jsonl(p)


def test_cikm_csv_reader(tmp_path):
    from seaembed.samples import samples_dir

    examples = samples_dir().parents[1] / "examples" / "data"
    qc = read_cikm_csv(examples / "cikm_qc_train.csv", "query-category")
    assert qc and {p.kind for p in qc} == {"query-category"} and {p.label for p in qc} == {0, 1}
    bad = tmp_path / "b.csv"
    bad.write_text("language,origin_query,item_title,label\nid,q,,1\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"b.csv:2: field 'item_title'"):
        read_cikm_csv(bad, "query-item")


def test_catalog_pairs_negatives_come_from_other_top_categories():
    catalog = [{"id": "a", "title": "sepatu lari", "category_path": "Fashion > Shoes"},
               {"id": "b", "title": "kaos hitam", "category_path": "Fashion > Shirts"},
               {"id": "c", "title": "tas ransel", "category_path": "Bags > Backpacks"},
               {"id": "d", "title": "wajan teflon", "category_path": "Home > Kitchen"}]
    queries = [{"query": "sepatu", "item_ids": ["a"], "lang": "id"}]
    pairs = catalog_pairs(catalog, queries, seed=0)
    bal = class_balance(pairs)
    assert bal["query-item"] == {"pos": 1, "neg": 1} and bal["query-category"] == {"pos": 1, "neg": 1}
    assert bal["title-category"] == {"pos": 4, "neg": 4}
    neg = [p for p in pairs if p.label == 0 and p.query == "sepatu"]
    assert all(not p.target.startswith("Fashion") and p.target not in ("sepatu lari", "kaos hitam") for p in neg)
    # hard negatives: the highest-scoring target of another top-level category is taken
    hard = catalog_pairs(catalog, queries, hard_scores=lambda q, t: np.array([[0.9 if x in ("wajan teflon",
                         "Home > Kitchen") else 0.1 for x in t] for _ in q]))
    assert {p.target for p in hard if p.label == 0 and p.query == "sepatu"} == {"wajan teflon", "Home > Kitchen"}


def test_seaembed_train_with_kind_cross_encoder(tiny_model_dir, tmp_path):
    from typer.testing import CliRunner

    from seaembed.cli import app

    (tmp_path / "pairs.jsonl").write_text("".join(
        json.dumps({"text1": p.query, "text2": p.target, "label": p.label, "kind": p.kind}) + "\n" for p in PAIRS),
        encoding="utf-8")
    (tmp_path / "qc.csv").write_text("language,origin_query,category_path,label\nid,sepatu,Fashion > Shoes,1\n"
                                     "id,sepatu,Home > Kitchen,0\n", encoding="utf-8")
    cfg = tmp_path / "ce.yaml"
    cfg.write_text(f"kind: cross-encoder\nbase_model: {tiny_model_dir}\ntrain_files: [pairs.jsonl, "
                   "{path: qc.csv, kind: query-category}]\noutput_dir: out\nmax_steps: 2\nbatch_size: 4\n",
                   encoding="utf-8")
    r = CliRunner().invoke(app, ["train", str(cfg)])
    assert r.exit_code == 0, r.output
    assert "relevance pairs: 14" in r.output and (tmp_path / "out" / "config.json").exists()
    assert len(score_pairs(load_cross_encoder(tmp_path / "out"), PAIRS)) == len(PAIRS)
    cfg.write_text("kind: cross-encoder\ntrain_files: []\n", encoding="utf-8")
    from seaembed.errors import ConfigError
    from seaembed.train.cross_encoder_cli import train_from_config

    with pytest.raises(ConfigError, match="ce.yaml: train_files"):  # the CLI prints it as one line, exit 2
        train_from_config(cfg)
