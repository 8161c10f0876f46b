"""Pick the fastest onnxruntime int8 graph for the machine at hand (#15 item 11).

onnxruntime's dynamic int8 quantisation has several knobs whose speed depends on the CPU (VNNI, AMX, AVX2-only):
per-channel or per-tensor weight scales, `reduce_range` (7-bit weights, faster on CPUs without VNNI), which op
types are quantised, and whether onnxruntime's transformer optimiser fuses attention / LayerNorm / GELU first (the
fused graph quantises to QAttention). onnxruntime ships the quantiser and the optimiser; what it does not do is
choose among them, so this module writes each candidate, times it here on product titles, checks its parity against
the fp32 graph and keeps the fastest whose cosine stays >= `MIN_COSINE`. The measurement goes into the export's
metadata (`int8_selection`).
"""

from __future__ import annotations

import logging
import re
import shutil
import timeit
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from seaembed.engine.export_meta import PARITY_MIN_COSINE
from seaembed.export.smooth_quant import ALPHA as SMOOTH_ALPHA

MIN_COSINE = PARITY_MIN_COSINE  # gate on the mean cosine (vs the fp32 graph) over the parity texts, both prompts
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Variant:
    """One way to quantise the fp32 graph."""

    name: str
    fuse: bool = False  # onnxruntime.transformers optimizer (attention/LayerNorm/GELU fusion) before quantising
    per_channel: bool = True
    reduce_range: bool = False
    op_types: tuple[str, ...] | None = None  # None: onnxruntime's default set
    exclude: tuple[str, ...] = ()  # regexes over node names: these nodes stay fp32
    smooth: float | None = None  # SmoothQuant migration strength alpha (seaembed.export.smooth_quant), None: off
    extra: dict = field(default_factory=dict)


# Node-name pattern of the torch.onnx export of a BERT/XLM-R encoder (seaembed.export.export_onnx_graph): the FFN's
# down-projection, which reads the GELU output, where outlier channels (and per-tensor activation scales) hurt most.
# (The activation x activation MatMuls of attention are never quantised by quantize_dynamic.)
FFN_OUTPUT = (r"/layer\.\d+/output/dense/MatMul$",)


# The previous default first (per-channel QInt8, no fusion): the selection can only keep it or beat it.
VARIANTS: tuple[Variant, ...] = (
    Variant("per-channel"),
    Variant("per-tensor", per_channel=False),
    Variant("per-channel-reduce-range", reduce_range=True),
    Variant("fused-per-channel", fuse=True),
    Variant("fused-per-tensor", fuse=True, per_channel=False),
    Variant("fused-matmul-only", fuse=True, op_types=("MatMul",)),
    # fidelity variants: MatMuls only (the embedding tables stay fp32), and the FFN down-projections kept fp32
    Variant("per-channel-matmul-only", op_types=("MatMul",)),
    Variant("per-channel-keep-ffn-out", exclude=FFN_OUTPUT),
    # SmoothQuant (activation outliers moved into the weights, calibrated on the timing texts), alone and with the
    # FFN down-projections kept fp32
    Variant("smooth-per-channel", smooth=SMOOTH_ALPHA),
    Variant("smooth-per-channel-keep-ffn-out", smooth=SMOOTH_ALPHA, exclude=FFN_OUTPUT),
)


# `auto`: these, in the order of their speed on the CPUs measured so far (benchmarks/results/serve.md), stopping at the
# first whose cosine passes the gate; the later ones trade speed for fidelity. `auto-all` times all of VARIANTS.
# Measured with `auto-all` on the demo's fine-tuned e5-small (`seaembed run` quick profile, 2026-12-05, 256 timing and
# 210 parity texts, load average 1.5): mean cosine vs fp32 per-channel 0.963, smooth-per-channel 0.979,
# per-channel-keep-ffn-out 0.982, per-channel-matmul-only 0.964, smooth-per-channel-keep-ffn-out 0.996 (the only one
# >= 0.99, at 2.0x onnx fp32 there against 2.2x for per-channel). So keep-ffn-out without smoothing and matmul-only,
# which never passed where per-channel failed, left the list.
AUTO_CANDIDATES: tuple[str, ...] = ("per-channel", "smooth-per-channel", "smooth-per-channel-keep-ffn-out")


def candidates(mode: str) -> tuple[tuple[Variant, ...], bool]:
    """The variants `mode` ('auto' or 'auto-all') tries, and whether it stops at the first that passes."""
    if mode == "auto-all":
        return VARIANTS, False
    by_name = {v.name: v for v in VARIANTS}
    return tuple(by_name[n] for n in AUTO_CANDIDATES), True


def excluded_nodes(graph_path: Path, patterns: Sequence[str]) -> list[str]:
    """Names of the nodes of `graph_path` that match any of `patterns` (regex search)."""
    if not patterns:
        return []
    import onnx

    rx = [re.compile(p) for p in patterns]
    graph = onnx.load(str(graph_path), load_external_data=False).graph
    return [n.name for n in graph.node if any(r.search(n.name) for r in rx)]


def fuse_graph(fp32_path: Path, out_path: Path, num_heads: int = 0, hidden_size: int = 0) -> None:
    """onnxruntime's BERT graph optimiser (fused Attention, SkipLayerNorm, BiasGelu), fp32 in and out."""
    from onnxruntime.transformers.optimizer import optimize_model

    model = optimize_model(str(fp32_path), model_type="bert", num_heads=num_heads, hidden_size=hidden_size,
                           opt_level=1)
    model.save_model_to_file(str(out_path))


def quantize(fp32_path: Path, int8_path: Path, variant: Variant, calibration: Sequence[dict] | None = None) -> None:
    """Dynamic int8 quantisation of `fp32_path` as `variant` says (smoothing and/or fusing first when it asks;
    smoothing measures its activation maxima on the tokenised `calibration` batches, which it then requires)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    src = fp32_path
    temporary: list[Path] = []
    if variant.smooth is not None:
        from seaembed.export.smooth_quant import smooth_graph

        if not calibration:
            raise ValueError(f"int8 variant {variant.name} smooths activations: it needs calibration batches")
        src = int8_path.with_suffix(".smooth.onnx")
        temporary.append(src)
        smooth_graph(fp32_path, src, calibration, alpha=variant.smooth)
    if variant.fuse:
        fused = int8_path.with_suffix(".fused.onnx")
        temporary.append(fused)
        fuse_graph(src, fused)
        src = fused
    # onnxruntime's quant_pre_process is skipped: its symbolic shape inference fails on these dynamic-axis BERT
    # graphs ("Incomplete symbolic shape inference") and it leaves temp files in the working directory.
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # silence ORT's "please pre-process" warning for this call only
    try:
        quantize_dynamic(str(src), str(int8_path), weight_type=QuantType.QInt8, per_channel=variant.per_channel,
                         reduce_range=variant.reduce_range,
                         op_types_to_quantize=list(variant.op_types) if variant.op_types else None,
                         nodes_to_exclude=excluded_nodes(src, variant.exclude) or None,
                         # fused graphs hold com.microsoft ops whose outputs ORT's shape inference cannot type
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT, **variant.extra})
    finally:
        root.setLevel(level)
        for path in temporary:
            path.unlink(missing_ok=True)


def time_session(run: Callable[[], object], repeats: int = 3) -> float:
    """Best wall time of `repeats` calls after one warm-up."""
    run()
    return min(timeit.repeat(run, repeat=repeats, number=1))


def _session(path: Path, threads: int | None):
    import onnxruntime as ort

    from seaembed.threads import intra_op_threads

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = int(threads or intra_op_threads())
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def _batches(tokenizer, texts: Sequence[str], batch_size: int = 32) -> list[dict]:
    out = []
    for i in range(0, len(texts), batch_size):
        tok = tokenizer(list(texts[i:i + batch_size]), padding=True, truncation=True, max_length=512, return_tensors="np")
        out.append({"input_ids": tok["input_ids"].astype(np.int64),
                    "attention_mask": tok["attention_mask"].astype(np.int64)})
    return out


def _embed(session, batches: list[dict]) -> np.ndarray:
    parts = [session.run(["sentence_embedding"], b)[0] for b in batches]
    out = np.concatenate(parts).astype(np.float32)
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def select_int8(fp32_path: Path, int8_path: Path, tokenizer, *, timing_texts: Sequence[str],
                parity_texts: Sequence[str], variants: Sequence[Variant] = VARIANTS, threads: int | None = None,
                min_cosine: float = MIN_COSINE, stop_at_first_pass: bool = False) -> dict:
    """Write every variant, time it (texts/s on `timing_texts`, batches of 32) and check its cosine against the
    fp32 graph on `parity_texts`; move the fastest that passes `min_cosine` to `int8_path` and return the
    measurement (what `seaembed_export.json` records). `stop_at_first_pass`: `variants` are in speed order, and
    the first that passes is kept without building the rest (time and memory of one variant in the common case).
    No variant passing: the most faithful one is kept, and the record says so."""
    from seaembed.runner import release_free_memory
    from seaembed.threads import describe

    work = int8_path.parent / "int8_candidates"
    work.mkdir(exist_ok=True)
    ref_session = _session(fp32_path, threads)
    parity_batches = _batches(tokenizer, parity_texts)
    timing_batches = _batches(tokenizer, timing_texts)
    reference = _embed(ref_session, parity_batches)
    fp32_seconds = time_session(lambda s=ref_session: _embed(s, timing_batches))
    ref_session = None  # free the fp32 session before the candidates load
    rows: list[dict] = []
    for v in variants:
        path = work / f"{v.name}.onnx"
        try:
            quantize(fp32_path, path, v, calibration=timing_batches)
            session = _session(path, threads)
        except Exception as e:  # noqa: BLE001 - a variant this onnxruntime/graph cannot build is reported, not fatal
            log.warning("int8 variant %s failed: %s", v.name, e)
            rows.append({"variant": asdict(v), "error": f"{type(e).__name__}: {e}"})
            continue
        cos = np.sum(reference * _embed(session, parity_batches), axis=1)
        seconds = time_session(lambda s=session: _embed(s, timing_batches))
        rows.append({"variant": asdict(v), "texts_per_s": round(len(timing_texts) / seconds, 1),
                     "x_vs_onnx_fp32": round(fp32_seconds / seconds, 3), "cosine_mean": round(float(cos.mean()), 5),
                     "cosine_min": round(float(cos.min()), 5), "file": str(path)})
        del session
        release_free_memory()  # each candidate's quantisation heap would otherwise stay with the process
        if stop_at_first_pass and rows[-1]["cosine_mean"] >= min_cosine:
            break
    ok = [r for r in rows if "error" not in r]
    if not ok:
        raise RuntimeError("no int8 variant could be built: " + "; ".join(r["error"] for r in rows))
    passing = [r for r in ok if r["cosine_mean"] >= min_cosine]
    chosen = max(passing, key=lambda r: r["texts_per_s"]) if passing else max(ok, key=lambda r: r["cosine_mean"])
    shutil.move(chosen["file"], int8_path)
    shutil.rmtree(work, ignore_errors=True)
    for r in rows:
        r.pop("file", None)
    return {"chosen": chosen["variant"]["name"], "passed_parity": bool(passing), "min_cosine_mean": min_cosine,
            "search": "first passing, in speed order" if stop_at_first_pass else "fastest passing of all",
            "onnx_fp32_texts_per_s": round(len(timing_texts) / fp32_seconds, 1), "n_timing_texts": len(timing_texts),
            "n_parity_texts": len(parity_texts), "candidates": rows, "threads": describe()}


def candidates_table(selection: dict) -> list[str]:
    """The Markdown table of a selection record's candidates (what benchmarks/ quote), the kept one marked."""
    lines = ["| variant | texts/s | x onnx fp32 | cosine mean | cosine min |", "|---|---|---|---|---|"]
    for c in selection["candidates"]:
        if "error" in c:
            lines.append(f"| {c['variant']['name']} | failed: {c['error'][:80]} | | | |")
            continue
        mark = " (kept)" if c["variant"]["name"] == selection["chosen"] else ""
        lines.append(f"| {c['variant']['name']}{mark} | {c['texts_per_s']} | {c['x_vs_onnx_fp32']} | "
                     f"{c['cosine_mean']:.4f} | {c['cosine_min']:.4f} |")
    return lines
