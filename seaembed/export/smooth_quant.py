"""SmoothQuant for onnxruntime's dynamic int8: move activation outliers into the weights before quantising.

Xiao et al., "SmoothQuant: Accurate and Efficient Post-Training Quantization for Large Language Models" (ICML 2023,
arXiv 2211.10438). Dynamic int8 quantises each MatMul's input with ONE scale per tensor; fine-tuning grows a few
input channels far beyond the rest, and those channels then take the whole int8 range (the fine-tuned demo model
fell to cosine 0.980 against its fp32 graph, experiments/results/int8_sensitivity.md). For `x @ W` the identity
`x @ W = (x / s) @ (s * W)` (s per input channel) lets us divide those channels down and multiply the matching
weight rows up, which per-channel weight quantisation absorbs better: s_j = max|x_j|^alpha / max|W_j|^(1 - alpha).

Why by hand: onnxruntime's own SmoothQuant is an option of static quantisation that needs Intel Neural Compressor
(not in our install), and `quantize_dynamic` has none. The rewrite here is exact in fp32 (a Mul by 1/s before each
smoothed MatMul and the rescaled weight as a new initializer); the maxima are measured on calibration batches.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ALPHA = 0.5  # the paper's default migration strength
SMOOTHED = r"/encoder/"  # node names of the encoder's linear layers (the pooling head has no MatMul with weights)


def weight_matmuls(model, pattern: str = SMOOTHED) -> list:
    """The MatMul nodes of `model` (an onnx.ModelProto) whose second input is a 2-D initializer and whose name
    matches `pattern`."""
    inits = {i.name: i for i in model.graph.initializer}
    rx = re.compile(pattern)
    return [n for n in model.graph.node if n.op_type == "MatMul" and rx.search(n.name)
            and n.input[1] in inits and len(inits[n.input[1]].dims) == 2]


def activation_absmax(model, names: Sequence[str], batches: Sequence[dict], threads: int = 1) -> dict[str, np.ndarray]:
    """Per-channel max |x| of the tensors `names` of `model` over `batches` (padding positions excluded)."""
    import onnx
    import onnxruntime as ort

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    known = {o.name for o in probe.graph.output}
    for name in names:
        if name not in known:
            probe.graph.output.append(onnx.helper.make_empty_tensor_value_info(name))
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # keep the probed tensors
    opts.intra_op_num_threads = threads
    session = ort.InferenceSession(probe.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    names = list(names)
    out: dict[str, np.ndarray] = {}
    for batch in batches:
        keep = batch["attention_mask"].astype(bool)
        for name, x in zip(names, session.run(names, batch), strict=True):
            x = np.abs(x[keep] if x.ndim == 3 and x.shape[:2] == keep.shape else x.reshape(-1, x.shape[-1]))
            m = x.max(axis=0)
            out[name] = m if name not in out else np.maximum(out[name], m)
    return out


def smoothing_scales(act_max: np.ndarray, weight: np.ndarray, alpha: float = ALPHA) -> np.ndarray:
    """s_j = max|x_j|^alpha / max_k |W_jk|^(1 - alpha) for `weight` [in, out]; 1 where a channel was never active
    or its weights are zero; clipped to [1e-4, 1e4]."""
    w_max = np.abs(weight).max(axis=1)
    s = np.ones_like(act_max, dtype=np.float64)
    ok = (act_max > 0) & (w_max > 0)
    s[ok] = act_max[ok].astype(np.float64) ** alpha / w_max[ok].astype(np.float64) ** (1 - alpha)
    return np.clip(s, 1e-4, 1e4).astype(np.float32)


def smooth_graph(fp32_path: Path, out_path: Path, batches: Sequence[dict], *, alpha: float = ALPHA,
                 pattern: str = SMOOTHED) -> dict:
    """Write `fp32_path` with every encoder MatMul smoothed (`alpha`, maxima over `batches`) to `out_path`; returns
    {"alpha", "matmuls", "max_activation_before", "max_activation_after"} for the record."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(fp32_path))
    nodes = weight_matmuls(model, pattern)
    if not nodes:
        raise ValueError(f"{fp32_path}: no MatMul with a weight matches {pattern!r}: nothing to smooth")
    act = activation_absmax(model, sorted({n.input[0] for n in nodes}), batches)
    inits = {i.name: i for i in model.graph.initializer}
    before, after = 0.0, 0.0
    new_nodes = []
    smoothed = {id(n) for n in nodes}
    for node in model.graph.node:
        if id(node) in smoothed:
            weight = numpy_helper.to_array(inits[node.input[1]])
            a = act[node.input[0]]
            s = smoothing_scales(a, weight, alpha)
            before, after = max(before, float(a.max())), max(after, float((a / s).max()))
            base = node.name.strip("/").replace("/", "_") or node.output[0]
            w_name, inv_name, x_name = f"{base}_smooth_w", f"{base}_smooth_inv_s", f"{base}_smooth_x"
            model.graph.initializer.append(numpy_helper.from_array((weight * s[:, None]).astype(np.float32), w_name))
            model.graph.initializer.append(numpy_helper.from_array((1.0 / s).astype(np.float32), inv_name))
            new_nodes.append(onnx.helper.make_node("Mul", [node.input[0], inv_name], [x_name],
                                                   name=f"{node.name}_smooth"))
            node.input[0], node.input[1] = x_name, w_name
        new_nodes.append(node)
    del model.graph.node[:]
    model.graph.node.extend(new_nodes)
    still_used = {i for n in model.graph.node for i in n.input}  # an unsmoothed node may share a weight
    for init in [i for i in model.graph.initializer if i.name not in still_used]:
        model.graph.initializer.remove(init)
    onnx.save(model, str(out_path))
    return {"alpha": alpha, "matmuls": len(nodes), "max_activation_before": round(before, 3),
            "max_activation_after": round(after, 3)}
