"""Tensor-name parsing and per-group t schedules."""

from __future__ import annotations

import pytest

from seaembed.errors import ConfigError
from seaembed.merge.groups import TSchedule, classify

BERT = "0.model.encoder.layer.{i}.{rest}"


@pytest.mark.parametrize("name, layer, groups", [
    ("0.model.embeddings.word_embeddings.weight", None, ("embeddings",)),
    ("0.auto_model.embeddings.LayerNorm.bias", None, ("layernorm", "embeddings")),
    ("0.model.encoder.layer.3.attention.self.query.weight", 3, ("attention",)),
    ("0.model.encoder.layer.3.attention.output.dense.weight", 3, ("attention",)),
    ("0.model.encoder.layer.3.attention.output.LayerNorm.weight", 3, ("layernorm", "attention")),
    ("0.model.encoder.layer.11.intermediate.dense.weight", 11, ("mlp",)),
    ("0.model.encoder.layer.11.output.dense.bias", 11, ("mlp",)),
    ("0.model.encoder.layer.11.output.LayerNorm.weight", 11, ("layernorm", "mlp")),
    ("roberta.encoder.layer.0.attention.self.key.bias", 0, ("attention",)),
    ("0.model.pooler.dense.weight", None, ("pooler",)),
    ("model.layers.7.self_attn.o_proj.weight", 7, ("attention",)),
    ("model.layers.7.mlp.gate_proj.weight", 7, ("mlp",)),
    ("model.layers.7.post_attention_layernorm.weight", 7, ("layernorm",)),
    ("model.embed_tokens.weight", None, ("embeddings",)),
    ("2.linear.weight", None, ("other",)),
])
def test_classify(name, layer, groups):
    g = classify(name)
    assert (g.layer, g.groups) == (layer, groups)


def test_precedence_glob_layer_group_layer_group_default():
    s = TSchedule.parse({"default": 0.5, "embeddings": 0.0, "attention": 0.9, "layer.0-5": 0.3,
                         "layer.4-5.mlp": 0.7, "*layer.5.output.LayerNorm*": 0.1})
    assert s.t_for("0.model.embeddings.word_embeddings.weight") == 0.0
    assert s.t_for("0.model.embeddings.LayerNorm.weight") == 0.0  # layernorm has no key; embeddings does
    assert s.t_for(BERT.format(i=2, rest="attention.self.query.weight")) == 0.3  # layer beats group
    assert s.t_for(BERT.format(i=8, rest="attention.self.query.weight")) == 0.9
    assert s.t_for(BERT.format(i=8, rest="intermediate.dense.weight")) == 0.5
    assert s.t_for(BERT.format(i=4, rest="intermediate.dense.weight")) == 0.7  # layer+group beats layer
    assert s.t_for(BERT.format(i=5, rest="output.LayerNorm.weight")) == 0.1  # glob beats everything
    assert s.t_for(BERT.format(i=5, rest="output.dense.weight")) == 0.7


def test_number_and_roundtrip():
    assert TSchedule.parse(0.25).t_for("anything.weight") == 0.25
    assert TSchedule.parse(0.25).is_uniform
    spec = {"default": 0.4, "embeddings": 0.0, "layer.0-5": 0.3}
    assert TSchedule.parse(spec).to_dict() == spec
    assert TSchedule.parse(spec).with_default(0.9).t_for(BERT.format(i=9, rest="intermediate.dense.weight")) == 0.9


@pytest.mark.parametrize("spec, match", [
    ({"default": 1.5}, r"\[0, 1\]"),
    ({"embedings": 0.1}, "unknown key"),
    ({"layer.3-1": 0.1}, "empty"),
    ({"layer.0.ffn": 0.1}, "unknown group"),
    ({"attention": "x"}, "number"),
])
def test_bad_specs(spec, match):
    with pytest.raises(ConfigError, match=match):
        TSchedule.parse(spec)


def test_key_matching_no_tensor_is_an_error():
    names = [BERT.format(i=i, rest="attention.self.query.weight") for i in range(2)]
    TSchedule.parse({"layer.0-1": 0.2}).check_covers(names)
    with pytest.raises(ConfigError, match=r"'layer.5-8'.*layers 0-1"):
        TSchedule.parse({"layer.5-8": 0.2}).check_covers(names)
