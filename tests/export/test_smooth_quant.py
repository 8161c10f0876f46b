"""SmoothQuant before dynamic int8: exact in fp32, and it rescues a graph whose activations have an outlier channel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from seaembed.export import int8_select, smooth_quant

TEXTS = ["query: sepatu lari pria ringan", "passage: Giày chạy bộ nam Biti's Hunter", "query: กีตาร์โปร่ง",
         "passage: Asahi Stand Fan 16 inches Electric Fan", "query: baby diapers pants size L"] * 4


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tiny_model_dir))


@pytest.fixture(scope="module")
def batches(tokenizer) -> list[dict]:
    return int8_select._batches(tokenizer, TEXTS, batch_size=8)


def _embed(path: Path, batches: list[dict]) -> np.ndarray:
    return int8_select._embed(int8_select._session(path, 1), batches)


def test_scales_balance_activation_and_weight_maxima() -> None:
    rng = np.random.default_rng(0)
    weight = rng.normal(size=(6, 4)).astype(np.float32)
    act = np.array([0.5, 80.0, 1.0, 3.0, 0.0, 2.0], dtype=np.float32)
    s = smooth_quant.smoothing_scales(act, weight, alpha=0.5)
    w_max = np.abs(weight).max(axis=1)
    active = act > 0
    # alpha 0.5: after smoothing, each channel's activation max equals its weight row's max
    np.testing.assert_allclose((act / s)[active], (w_max * s)[active], rtol=1e-5)
    assert s[4] == 1.0  # a channel never active is left alone
    assert s[1] == s.max()  # the outlier channel is divided down most
    s1 = smooth_quant.smoothing_scales(act, weight, alpha=1.0)
    np.testing.assert_allclose((act / s1)[active], 1.0, rtol=1e-5)  # alpha 1: activations all scaled to 1


def test_smoothed_graph_is_exact_in_float(tmp_path: Path, onnx_dir: Path, batches: list[dict]) -> None:
    import collections

    import onnx

    src = onnx_dir / "model.onnx"
    out = tmp_path / "smooth.onnx"
    record = smooth_quant.smooth_graph(src, out, batches)
    n_mm = len(smooth_quant.weight_matmuls(onnx.load(str(src))))
    assert record["matmuls"] == n_mm > 0 and record["max_activation_after"] <= record["max_activation_before"]
    before = collections.Counter(n.op_type for n in onnx.load(str(src)).graph.node)
    after = collections.Counter(n.op_type for n in onnx.load(str(out)).graph.node)
    assert after["Mul"] == before["Mul"] + n_mm and after["MatMul"] == before["MatMul"]
    ref, got = _embed(src, batches), _embed(out, batches)
    assert np.abs(ref - got).max() < 1e-4


def _with_outlier_channel(src: Path, dst: Path, factor: float = 300.0) -> None:
    """`src` with channel 0 of every encoder MatMul input multiplied by `factor` and the weight row divided by it:
    the same function in fp32, but one channel dominates each activation tensor (what fine-tuning does)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(src))
    inits = {i.name: i for i in model.graph.initializer}
    targets = {n.name for n in smooth_quant.weight_matmuls(model)}
    nodes = []
    for k, node in enumerate(model.graph.node):
        if node.name in targets:
            w = numpy_helper.to_array(inits[node.input[1]]).copy()
            w[0] /= factor
            up = np.ones(w.shape[0], np.float32)
            up[0] = factor
            model.graph.initializer.extend([numpy_helper.from_array(w, f"w_out{k}"),
                                            numpy_helper.from_array(up, f"up{k}")])
            nodes.append(onnx.helper.make_node("Mul", [node.input[0], f"up{k}"], [f"x_out{k}"], name=f"out{k}"))
            node.input[0], node.input[1] = f"x_out{k}", f"w_out{k}"
        nodes.append(node)
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    onnx.save(model, str(dst))


def test_smoothing_rescues_int8_when_one_channel_dominates(tmp_path: Path, onnx_dir: Path,
                                                           batches: list[dict]) -> None:
    fp32 = tmp_path / "outlier.onnx"
    _with_outlier_channel(onnx_dir / "model.onnx", fp32)
    ref = _embed(fp32, batches)
    assert np.abs(ref - _embed(onnx_dir / "model.onnx", batches)).max() < 1e-3  # same function in fp32

    def cosine(name: str) -> float:
        v = next(v for v in int8_select.VARIANTS if v.name == name)
        out = tmp_path / f"{name}.onnx"
        int8_select.quantize(fp32, out, v, calibration=batches)
        return float(np.sum(ref * _embed(out, batches), axis=1).mean())

    plain, smoothed = cosine("per-channel"), cosine("smooth-per-channel")
    # smoothing never costs fidelity, and stays near fp32
    assert smoothed >= plain - 1e-4 and smoothed > 0.98, (plain, smoothed)
    # How much the outlier costs *plain* int8 depends on onnxruntime's int8 kernels on the CPU at hand: on one
    # machine (2026-12-05) plain int8 trailed smoothing by more than 0.02 here; on another (2026-12-06) it kept
    # 0.9998 at factors 30-3000.
    # Where plain int8 loses, smoothing must win most of it back.
    if plain < 0.98:
        assert smoothed > plain + 0.02, (plain, smoothed)


def test_smooth_variant_without_calibration_is_refused(tmp_path: Path, onnx_dir: Path) -> None:
    v = next(v for v in int8_select.VARIANTS if v.name == "smooth-per-channel")
    with pytest.raises(ValueError, match="calibration"):
        int8_select.quantize(onnx_dir / "model.onnx", tmp_path / "q.onnx", v)
