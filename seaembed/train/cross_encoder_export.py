"""ONNX (fp32 or int8) export of the relevance cross-encoder for CPU serving (#17 item 4).

The graph takes `input_ids`, `attention_mask` of tokenised (query, marked target) pairs and returns `score`, the
sigmoid of the relevance logit, `(batch, 1)`. Exported with `torch.onnx.export(dynamo=False)` like the embedding
export (seaembed/export/export.py: optimum pins transformers 4.x); int8 is onnxruntime dynamic quantisation through
the same `quantize_int8`. `parity.json` records how far the export's scores are from the torch model's on the
bundled relevance pairs (max absolute difference, and whether the order of each query's candidates is kept).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from seaembed.atomic import atomic_dir

OPSET = 17
META = "cross_encoder.json"


def _wrapper(hf: Any):
    import torch

    class Scored(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.hf = hf

        def forward(self, input_ids, attention_mask):
            return torch.sigmoid(self.hf(input_ids=input_ids, attention_mask=attention_mask).logits[:, :1])

    return Scored().eval()


def _parity_pairs(n: int = 96) -> list[tuple[str, str]]:
    from seaembed.samples import sample_path
    from seaembed.train.cross_encoder import model_inputs
    from seaembed.train.cross_encoder_data import read_relevance_jsonl

    rows = read_relevance_jsonl(sample_path("tasks/product-query-relevance") / "dev.jsonl")
    return model_inputs(rows[:: max(1, len(rows) // n)][:n])


def export_cross_encoder(source: str | Path, out: str | Path, *, int8: bool = True,
                         int8_variant: str = "per-channel") -> Path:
    """Export the saved cross-encoder `source` to `out` (atomically): `model.onnx`, the tokenizer, `cross_encoder.json`
    and `parity.json`. Returns `out`."""
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
        meta = {"kind": "cross-encoder", "source": str(source), "format": "onnx-int8" if int8 else "onnx",
                "max_length": max_length, "opset": OPSET, "inputs": ["input_ids", "attention_mask"],
                "output": "score", "int8_variant": int8_variant if int8 else None}
        (tmp / META).write_text(json.dumps(meta, indent=1), encoding="utf-8")
        pairs = _parity_pairs()
        ref = np.asarray(model.predict(pairs, batch_size=32, show_progress_bar=False), dtype=np.float32).reshape(-1)
        got = OnnxScorer(tmp).score(pairs)
        diff = float(np.max(np.abs(ref - got)))
        # order kept: for each query, the candidates' order under the export equals the torch order
        by_q: dict[str, list[int]] = {}
        for i, (q, _) in enumerate(pairs):
            by_q.setdefault(q, []).append(i)
        kept = [list(np.argsort(-ref[ix], kind="stable")) == list(np.argsort(-got[ix], kind="stable"))
                for ix in by_q.values() if len(ix) > 1]
        (tmp / "parity.json").write_text(json.dumps({"pairs": len(pairs), "max_abs_diff": diff,
                                                     "queries": len(kept), "order_kept": int(sum(kept))}, indent=1),
                                         encoding="utf-8")
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

    def score(self, pairs: list[tuple[str, str]], batch_size: int = 32) -> np.ndarray:
        out = []
        for i in range(0, len(pairs), batch_size):
            chunk = pairs[i: i + batch_size]
            enc = self.tokenizer([a for a, _ in chunk], [b for _, b in chunk], padding=True, truncation=True,
                                 max_length=self.max_length, return_tensors="np")
            out.append(self.run_ids(enc["input_ids"], enc["attention_mask"])[:, 0])
        return np.concatenate(out).astype(np.float32) if out else np.zeros(0, dtype=np.float32)
