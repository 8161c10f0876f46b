"""ONNX (fp32 or int8) export of the relevance cross-encoder for CPU serving (#17 item 4): `seaembed export` on a
cross-encoder directory, and the `relevance-export` stage of `seaembed run`.

The graph takes `input_ids`, `attention_mask` of tokenised (query, marked target) pairs and returns `score`, the
sigmoid of the relevance logit, `(batch, 1)`. Exported with `torch.onnx.export(dynamo=False)` like the embedding
export (seaembed/export/export.py: optimum pins transformers 4.x); int8 is onnxruntime dynamic quantisation through
the same `quantize_int8`. The parity check scores bundled relevance pairs with the export and with a fresh load of
the torch CrossEncoder and records how far apart they are (max / mean absolute difference, Pearson and Spearman
correlation, whether each query's candidates keep their order) in `parity.json` and in `cross_encoder.json`'s
`parity`; `parity_problem` says why an export is not a drop-in for the torch model (None when it is).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from seaembed.atomic import atomic_dir, write_json

OPSET = 17
META = "cross_encoder.json"
PARITY_FILE = "parity.json"
FORMATS = ("onnx", "onnx-int8")
DEFAULT_INT8_VARIANT = "per-channel"
# an export is a drop-in for the torch cross-encoder only when its scores correlate at least this well with the
# torch scores and no score moves by more than this (a threshold chosen on torch scores still applies)
PARITY_MIN_PEARSON = 0.99
PARITY_MAX_ABS_DIFF = 0.05


def cross_encoder_format(path: str | Path) -> Literal["onnx", "torch"] | None:
    """`onnx` for an export of the cross-encoder (`cross_encoder.json`), `torch` for a saved cross-encoder (see
    `train.cross_encoder.is_saved_cross_encoder`), None for anything else (not a directory, a bi-encoder, ...).
    The one detection `seaembed serve --reranker` and `seaembed export` share."""
    from seaembed.train.cross_encoder import is_saved_cross_encoder

    path = Path(path)
    if not path.is_dir():
        return None
    if (path / META).is_file():
        return "onnx"
    return "torch" if is_saved_cross_encoder(path) else None


def _wrapper(hf: Any):
    import torch

    class Scored(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.hf = hf

        def forward(self, input_ids, attention_mask):
            return torch.sigmoid(self.hf(input_ids=input_ids, attention_mask=attention_mask).logits[:, :1])

    return Scored().eval()


def parity_pairs(n_queries: int = 24) -> list[tuple[str, str]]:
    """(query, marked target) pairs for the parity check: every QC and QI row (a relevant and an irrelevant
    category, a relevant and an irrelevant item) of `n_queries` queries spread over the bundled relevance task's
    dev split, so each query has candidates whose order can be compared."""
    from seaembed.samples import sample_path
    from seaembed.train.cross_encoder import model_inputs
    from seaembed.train.cross_encoder_data import read_relevance_jsonl

    rows = [r for r in read_relevance_jsonl(sample_path("tasks/product-query-relevance") / "dev.jsonl")
            if r.kind in ("query-category", "query-item")]
    queries = list(dict.fromkeys(r.query for r in rows))
    keep = set(queries[:: max(1, len(queries) // n_queries)][:n_queries])
    return model_inputs([r for r in rows if r.query in keep])


def score_parity(reference: np.ndarray, candidate: np.ndarray, pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """How far `candidate` scores are from `reference` scores of the same `pairs`, and whether that passes
    (`PARITY_MIN_PEARSON`, `PARITY_MAX_ABS_DIFF`)."""
    from scipy.stats import pearsonr, spearmanr

    ref = np.asarray(reference, dtype=np.float64).reshape(-1)
    got = np.asarray(candidate, dtype=np.float64).reshape(-1)
    diff = np.abs(ref - got)
    constant = np.ptp(ref) == 0 or np.ptp(got) == 0  # no correlation to speak of: None (valid JSON, fails)
    pearson = None if constant else float(pearsonr(ref, got).statistic)
    spearman = None if constant else float(spearmanr(ref, got).statistic)
    by_q: dict[str, list[int]] = {}
    for i, (q, _) in enumerate(pairs):
        by_q.setdefault(q, []).append(i)
    kept = [list(np.argsort(-ref[ix], kind="stable")) == list(np.argsort(-got[ix], kind="stable"))
            for ix in (np.asarray(v) for v in by_q.values()) if len(ix) > 1]
    out = {"pairs": len(ref), "max_abs_diff": float(diff.max()), "mean_abs_diff": float(diff.mean()),
            "pearson": pearson, "spearman": spearman, "reference_std": float(ref.std()), "queries": len(kept),
            "order_kept": int(sum(kept)), "min_pearson": PARITY_MIN_PEARSON,
            "max_abs_diff_allowed": PARITY_MAX_ABS_DIFF, "reference": "torch CrossEncoder (fresh load)",
            "pairs_source": "bundled product-query-relevance dev split (QC and QI rows)"}
    return {**out, "passed": passes(out)}


def passes(parity: dict[str, Any]) -> bool:
    """Whether recorded parity numbers make the export a drop-in under the current `PARITY_MIN_PEARSON` and
    `PARITY_MAX_ABS_DIFF` (None, a constant score, fails)."""
    pearson, diff = parity.get("pearson"), parity.get("max_abs_diff")
    return pearson is not None and diff is not None and pearson >= PARITY_MIN_PEARSON and diff <= PARITY_MAX_ABS_DIFF


def _f(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def parity_line(parity: dict[str, Any]) -> str:
    """The parity of an export in one line."""
    verdict = "a drop-in for the torch model" if passes(parity) else \
        f"not a drop-in (needs Pearson >= {PARITY_MIN_PEARSON} and max abs diff <= {PARITY_MAX_ABS_DIFF})"
    return (f"scores vs the torch cross-encoder on {parity['pairs']} bundled pairs: max abs diff "
            f"{_f(parity['max_abs_diff'])}, mean {_f(parity['mean_abs_diff'])}, Pearson {_f(parity['pearson'])}, "
            f"Spearman {_f(parity['spearman'])}, order kept for {parity['order_kept']}/{parity['queries']} queries: "
            f"{verdict}")


def parity_problem(path: str | Path) -> str | None:
    """Why the cross-encoder export at `path` is not a drop-in for its torch model, or None (as
    `engine.export_meta.parity_problem` for the embedding export)."""
    parity_path = Path(path) / PARITY_FILE
    if not parity_path.is_file():
        return f"it has no parity report ({parity_path})"
    p = json.loads(parity_path.read_text(encoding="utf-8"))
    if passes(p):
        return None
    return (f"its scores are too far from the torch cross-encoder's (Pearson {_f(p.get('pearson'))}, "
            f"max abs diff {_f(p.get('max_abs_diff'))}; needs >= {PARITY_MIN_PEARSON} and "
            f"<= {PARITY_MAX_ABS_DIFF}; {parity_path})")


def export_cross_encoder(source: str | Path, out: str | Path, *, int8: bool = True,
                         int8_variant: str = DEFAULT_INT8_VARIANT, threads: int | None = None) -> Path:
    """Export the saved cross-encoder `source` to `out` (atomically): `model.onnx`, the tokenizer, `cross_encoder.json`
    (with the parity) and `parity.json`. Returns `out`."""
    import torch

    from seaembed.train.cross_encoder import load_cross_encoder

    model = load_cross_encoder(source)
    hf = model.transformers_model.eval()
    tok = model.tokenizer
    max_length = int(model.max_length or 512)
    out = Path(out)
    with atomic_dir(out) as tmp:
        fp32 = tmp / ("model.fp32.onnx" if int8 else "model.onnx")
        sample = tok(["query a", "b"], ["item: sample text for tracing", "c"], padding=True, return_tensors="pt")
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(_wrapper(hf), (sample["input_ids"], sample["attention_mask"]), str(fp32),
                              dynamo=False, opset_version=OPSET, input_names=["input_ids", "attention_mask"],
                              output_names=["score"],
                              dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                                            "attention_mask": {0: "batch", 1: "sequence"}, "score": {0: "batch"}})
        if int8:
            from seaembed.export.export import quantize_int8

            quantize_int8(fp32, tmp / "model.onnx", int8_variant)
            fp32.unlink()
        tok.save_pretrained(str(tmp))
        meta: dict[str, Any] = {
            "kind": "cross-encoder", "source": str(source), "format": "onnx-int8" if int8 else "onnx",
            "max_length": max_length, "opset": OPSET, "inputs": ["input_ids", "attention_mask"], "output": "score",
            "int8_variant": int8_variant if int8 else None, "size_bytes": (tmp / "model.onnx").stat().st_size}
        write_json(tmp / META, meta)
        pairs = parity_pairs()
        del model, hf  # the reference is a fresh load, not the object that was traced
        reference = load_cross_encoder(source)
        ref = np.asarray(reference.predict(pairs, batch_size=32, show_progress_bar=False), dtype=np.float32)
        parity = score_parity(ref, OnnxScorer(tmp, threads=threads).score(pairs), pairs)
        write_json(tmp / PARITY_FILE, {**parity, "format": meta["format"], "source": str(source)})
        write_json(tmp / META, {**meta, "parity": parity})
    return out


class OnnxScorer:
    """An exported cross-encoder on onnxruntime (CPU): scores of (query, marked target) pairs."""

    def __init__(self, path: str | Path, *, threads: int | None = None) -> None:
        import onnxruntime as ort
        from transformers import AutoTokenizer

        path = Path(path)
        self.meta = json.loads((path / META).read_text(encoding="utf-8"))
        self.tokenizer = AutoTokenizer.from_pretrained(str(path))
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = int(threads)
        self.session = ort.InferenceSession(str(path / "model.onnx"), opts, providers=["CPUExecutionProvider"])
        self.max_length = int(self.meta["max_length"])

    def run_ids(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """`(n, 1)` scores of padded id batches."""
        return self.session.run(["score"], {"input_ids": ids.astype(np.int64), "attention_mask": mask.astype(np.int64)})[0]

    def score(self, pairs: Sequence[tuple[str, str]], batch_size: int = 32) -> np.ndarray:
        """Scores in [0, 1] of (query, marked target) pairs, in order."""
        out = []
        for i in range(0, len(pairs), batch_size):
            chunk = pairs[i: i + batch_size]
            enc = self.tokenizer([a for a, _ in chunk], [b for _, b in chunk], padding=True, truncation=True,
                                 max_length=self.max_length, return_tensors="np")
            out.append(self.run_ids(enc["input_ids"], enc["attention_mask"])[:, 0])
        return np.concatenate(out).astype(np.float32) if out else np.zeros(0, dtype=np.float32)
