"""merge_models on tiny sentence-transformers models: endpoints, errors, buffers, per-group t, LoRA, output dir."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from seaembed.errors import SeaembedError
from seaembed.merge.merge_models import merge_models
from seaembed.merge.session import MergeSession


def _sd(path: Path) -> dict[str, torch.Tensor]:
    from sentence_transformers import SentenceTransformer

    return {k: v.clone() for k, v in SentenceTransformer(str(path), device="cpu").state_dict().items()}


@pytest.fixture(scope="module")
def sds(tiny_model_dir, model_b):
    return _sd(tiny_model_dir), _sd(model_b)


@pytest.mark.parametrize("method", ["slerp", "linear", "multislerp"])
def test_t0_reproduces_base_and_t1_reproduces_tuned(tmp_path, tiny_model_dir, model_b, sds, method):
    sd_a, sd_b = sds
    for t, want in ((0.0, sd_a), (1.0, sd_b)):
        out = merge_models(tiny_model_dir, [model_b], method=method, t=t, out=tmp_path / f"m{t}")
        got = _sd(out)
        assert got.keys() == want.keys()
        for k in want:
            assert torch.equal(got[k], want[k]), (method, t, k)


def test_midpoint_differs_from_both_and_writes_a_full_model_dir(tmp_path, tiny_model_dir, model_b, sds):
    from sentence_transformers import SentenceTransformer

    out = merge_models(tiny_model_dir, [model_b], method="slerp", t=0.5, out=tmp_path / "mid")
    sd_a, sd_b = sds
    got = _sd(out)
    key = "0.model.encoder.layer.0.attention.self.query.weight"
    assert not torch.equal(got[key], sd_a[key]) and not torch.equal(got[key], sd_b[key])
    # direction halfway in angle, norm halfway
    a, b, m = sd_a[key].flatten().double(), sd_b[key].flatten().double(), got[key].flatten().double()
    ang = lambda x, y: torch.arccos(x @ y / (x.norm() * y.norm())).item()  # noqa: E731
    assert ang(a, m) == pytest.approx(ang(a, b) / 2, abs=1e-4)
    assert m.norm().item() == pytest.approx((a.norm().item() + b.norm().item()) / 2, rel=1e-5)

    model = SentenceTransformer(str(out), device="cpu")
    assert model.prompts["query"] == "query: " and model.prompts["passage"] == "passage: "
    assert (out / "tokenizer.json").is_file()
    emb = model.encode(["sepatu lari"], prompt_name="query")
    assert emb.shape == (1, 32)
    info = json.loads((out / "merge.json").read_text())
    assert info["method"] == "slerp" and info["t"] == {"default": 0.5}
    assert info["base"] == str(tiny_model_dir) and info["tuned"] == [str(model_b)]
    card = (out / "README.md").read_text()
    assert str(tiny_model_dir) in card and str(model_b) in card and "slerp" in card and "0.5" in card


def test_mismatched_shapes_name_the_tensor(tmp_path, tiny_model_dir):
    from seaembed.testing import build_tiny_model

    wide = build_tiny_model(tmp_path / "wide", seed=1, dim=48)
    with pytest.raises(SeaembedError, match=r"tensor '0\.model\.embeddings\.\w+\.weight' has shape \(\d+, 32\)"):
        merge_models(tiny_model_dir, [wide], t=0.5, out=tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_mismatched_keys_name_the_tensor(tmp_path, tiny_model_dir):
    from seaembed.testing import build_tiny_model

    deep = build_tiny_model(tmp_path / "deep", seed=1, layers=3)
    with pytest.raises(SeaembedError, match=r"tensor '0\.model\.encoder\.layer\.2\.[\w.]+' is in .*deep"):
        merge_models(tiny_model_dir, [deep], t=0.5, out=tmp_path / "x")


class _WithBuffers(torch.nn.Module):
    def __init__(self, seed: int):
        super().__init__()
        torch.manual_seed(seed)
        self.lin = torch.nn.Linear(4, 3)
        self.register_buffer("steps", torch.tensor([seed + 1, 7], dtype=torch.int64))
        self.register_buffer("running_mean", torch.randn(3))
        self.mask = torch.nn.Parameter(torch.tensor([seed, 1], dtype=torch.int32), requires_grad=False)


def test_buffers_and_integer_tensors_are_copied_from_the_base():
    base, tuned = _WithBuffers(0), _WithBuffers(1)
    want_buf = {k: v.clone() for k, v in base.state_dict().items()}
    lin_b = tuned.lin.weight.detach().clone()
    session = MergeSession(base, [tuned], method="linear")
    stats = session.apply(0.5)
    assert torch.equal(base.steps, want_buf["steps"])
    assert torch.equal(base.running_mean, want_buf["running_mean"])
    assert torch.equal(base.mask, want_buf["mask"])
    assert torch.allclose(base.lin.weight, 0.5 * want_buf["lin.weight"] + 0.5 * lin_b)
    assert stats["copied_from_base"] == 3


def test_per_group_t_is_applied(tmp_path, tiny_model_dir, model_b, sds):
    sd_a, sd_b = sds
    spec = {"default": 1.0, "embeddings": 0.0, "layer.1": 0.25}
    got = _sd(merge_models(tiny_model_dir, [model_b], method="linear", t=spec, out=tmp_path / "g"))
    for k in sd_a:
        if ".embeddings." in k:
            assert torch.equal(got[k], sd_a[k]), k
        elif ".layer.1." in k:
            assert torch.allclose(got[k], 0.75 * sd_a[k] + 0.25 * sd_b[k], atol=1e-6), k
        else:
            assert torch.equal(got[k], sd_b[k]), k


def test_slerp_takes_exactly_one_tuned_model(tmp_path, tiny_model_dir, model_b):
    with pytest.raises(SeaembedError, match="multislerp"):
        merge_models(tiny_model_dir, [model_b, model_b], method="slerp", out=tmp_path / "x")


def test_multislerp_of_three_models(tmp_path, tiny_model_dir, model_b, sds, make_tuned):
    from seaembed.merge.multislerp import multislerp

    model_c = make_tuned(tiny_model_dir, tmp_path / "c", seed=2)
    sd_c = _sd(model_c)
    sd_a, sd_b = sds
    got = _sd(merge_models(tiny_model_dir, [model_b, model_c], method="multislerp", t=0.6, out=tmp_path / "m3"))
    k = "0.model.encoder.layer.0.intermediate.dense.weight"
    assert torch.allclose(got[k], multislerp([sd_a[k], sd_b[k], sd_c[k]], [0.4, 0.3, 0.3]), atol=1e-6)
    soup = _sd(merge_models(tiny_model_dir, [model_b, model_c], method="linear", t=0.6, out=tmp_path / "l3",
                            weights=[1, 3]))
    assert torch.allclose(soup[k], 0.4 * sd_a[k] + 0.15 * sd_b[k] + 0.45 * sd_c[k], atol=1e-6)


def test_lora_adapter_is_merged_into_the_base_first(tmp_path, tiny_model_dir, sds):
    from peft import LoraConfig
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(tiny_model_dir), device="cpu")
    model.add_adapter(LoraConfig(r=4, lora_alpha=8, target_modules=["query", "value"]))
    torch.manual_seed(5)
    lora = {}
    for name, p in model.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(p, std=0.2)
        if "lora_" in name:
            lora[name] = p.detach().clone()
    model.save(str(tmp_path / "adapter"))
    assert (tmp_path / "adapter" / "adapter_config.json").is_file()

    got = _sd(merge_models(tiny_model_dir, [tmp_path / "adapter"], method="linear", t=1.0, out=tmp_path / "m"))
    sd_a = sds[0]
    prefix = "0.model.encoder.layer.1.attention.self.value"
    a = lora[f"{prefix}.lora_A.default.weight"]
    b = lora[f"{prefix}.lora_B.default.weight"]
    expected = sd_a[f"{prefix}.weight"] + (b @ a) * (8 / 4)
    assert torch.allclose(got[f"{prefix}.weight"], expected, atol=1e-6)
    assert not torch.equal(got[f"{prefix}.weight"], sd_a[f"{prefix}.weight"])
    key = "0.model.encoder.layer.1.attention.self.key.weight"  # not a LoRA target
    assert torch.equal(got[key], sd_a[key])
    assert not any("lora" in k for k in got)
    assert json.loads((tmp_path / "m" / "merge.json").read_text())["adapters"] == [str(tmp_path / "adapter")]
