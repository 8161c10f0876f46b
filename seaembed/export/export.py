"""`seaembed export`: a sentence-transformers model to ONNX (fp32, or int8 weights) or OpenVINO IR (fp32, or int8
weights and activations), plus a parity report.

The graph takes `input_ids` and `attention_mask` (int64, dynamic batch and sequence axes) and returns
`sentence_embedding`: pooling (mean or CLS, as the model's Pooling module says) and L2 normalisation are inside
the graph, so any ONNX runtime gets the same vectors as `SentenceTransformer.encode(..., normalize_embeddings=True)`.
We export with `torch.onnx.export(dynamo=False)` rather than optimum: optimum-onnx pins transformers 4.x.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Literal

from seaembed.atomic import atomic_dir, write_json, write_text
from seaembed.engine.export_meta import EXPORT_META, backend_for_format
from seaembed.errors import ConfigError

FORMATS = ("onnx", "onnx-int8", "openvino", "openvino-int8")
OPSET = 17
log = logging.getLogger(__name__)


def _wrapper(model, pooling: str):
    """A torch module: (input_ids, attention_mask) -> pooled, normalised embedding (keyword call into HF)."""
    import torch

    hf = model[0].auto_model

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.hf = hf

        def forward(self, input_ids, attention_mask):
            # keyword arguments: transformers 5 rejects positional calls here ("multiple values for use_cache")
            hidden = self.hf(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            if pooling == "cls":
                pooled = hidden[:, 0]
            else:
                m = attention_mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    return Pooled().eval()


def export_onnx_graph(source: str | Path, onnx_path: Path) -> dict:
    """Write an fp32 ONNX graph of `source` to `onnx_path`; returns the metadata of the export."""
    import torch

    from seaembed.engine.loading import describe_modules, load_sentence_transformer

    model = load_sentence_transformer(source)
    pooling, _normalised = describe_modules(model)
    if pooling not in ("mean", "cls"):
        raise ConfigError(f"ONNX export supports mean or cls pooling, the model uses '{pooling}'")
    wrapper = _wrapper(model, pooling)
    tok = model.tokenizer(["query: a sample text for tracing", "b"], padding=True, return_tensors="pt")
    args = (tok["input_ids"], tok["attention_mask"])
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about shape branches that are constant for this model
        torch.onnx.export(
            wrapper, args, str(onnx_path), dynamo=False, opset_version=OPSET,
            input_names=["input_ids", "attention_mask"], output_names=["sentence_embedding"],
            dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"},
                          "sentence_embedding": {0: "batch"}},
        )
    return {
        "source": str(source),
        "dim": int(model.get_embedding_dimension()),
        "pooling": pooling,
        "normalized_in_graph": True,
        "max_length": int(model.max_seq_length or 512),
        "prompts": dict(model.prompts),
        "opset": OPSET,
        "inputs": ["input_ids", "attention_mask"],
        "output": "sentence_embedding",
        "tokenizer": model.tokenizer,
    }


def quantize_int8(fp32_path: Path, int8_path: Path, variant: str = "per-channel", *, tokenizer=None,
                  calibration_texts: list[str] | None = None) -> None:
    """Dynamic quantisation: int8 weights (QInt8), activations quantised at run time (onnxruntime); `variant` names
    one of `int8_select.VARIANTS` (the smoothing ones calibrate on `calibration_texts`, tokenised by
    `tokenizer`)."""
    from seaembed.export.int8_select import VARIANTS, _batches, quantize

    by_name = {v.name: v for v in VARIANTS}
    if variant not in by_name:
        raise ConfigError(f"unknown int8 variant '{variant}': use auto, auto-all or one of {', '.join(by_name)}")
    calibration = _batches(tokenizer, calibration_texts) if tokenizer is not None and calibration_texts else None
    quantize(fp32_path, int8_path, by_name[variant], calibration=calibration)


def _selection_texts(prompts: dict, n: int = 256) -> tuple[list[str], list[str]]:
    """Timing texts (product titles of the bundled catalog, as queries) and parity texts (the parity set under
    each prompt), prompts prepended as the serving engine does."""
    import json

    from seaembed.export.parity_data import parity_texts
    from seaembed.samples import sample_path

    rows = [json.loads(x) for x in sample_path("catalog.jsonl").read_text(encoding="utf-8").splitlines() if x]
    titles = [r["title"] for r in rows][:: max(1, len(rows) // n)][:n]
    query = prompts.get("query", "")
    parity = [p + t for p in (list(prompts.values()) or [""]) for t in parity_texts()]
    return [query + t for t in titles], parity


def export(source: str | Path, fmt: Literal["onnx", "onnx-int8", "openvino", "openvino-int8"], out: str | Path, *,
           task_dir: str | Path | None = None, threads: int | None = None, parity: bool = True,
           calibration: str | Path | None = None, calibration_field: str | None = None,
           int8_variant: str = "auto") -> Path:
    """Export `source` to `out` (written atomically) and write `parity.json`/`parity.md` there; returns `out`.
    `calibration` (openvino-int8 only): a text file (txt/JSONL/CSV, `calibration_field` for the column) of texts
    like the ones you will serve, prompts included; default: a mix from the bundled sample.
    `int8_variant` (onnx-int8 only): `auto` tries `int8_select.AUTO_CANDIDATES` in speed order and keeps the
    first with cosine >= 0.99 against the fp32 graph; `auto-all` times every variant of `int8_select.VARIANTS` on
    this machine and keeps the fastest that passes (either recorded as `int8_selection` in the metadata); or a
    variant name."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format '{fmt}': use one of {', '.join(FORMATS)}")
    if fmt.startswith("openvino"):
        from seaembed.engine.backends.openvino_backend import require_openvino

        require_openvino()  # fail before the slow tracing
    out = Path(out)
    with atomic_dir(out) as tmp:
        graph = tmp / "model.onnx"
        meta = export_onnx_graph(source, graph)
        tokenizer = meta.pop("tokenizer")
        if fmt == "onnx-int8":
            fp32 = tmp / "model.fp32.onnx"
            graph.rename(fp32)
            if int8_variant in ("auto", "auto-all"):
                from seaembed.export.int8_select import candidates, select_int8

                timing, parity_set = _selection_texts(meta["prompts"])
                variants, first_pass = candidates(int8_variant)
                meta["int8_selection"] = select_int8(fp32, graph, tokenizer, timing_texts=timing,
                                                     parity_texts=parity_set, threads=threads, variants=variants,
                                                     stop_at_first_pass=first_pass)
                meta["int8_variant"] = meta["int8_selection"]["chosen"]
            else:
                quantize_int8(fp32, graph, int8_variant, tokenizer=tokenizer,
                              calibration_texts=_selection_texts(meta["prompts"])[0])
                meta["int8_variant"] = int8_variant
            fp32.unlink()
        elif fmt.startswith("openvino"):
            from seaembed.export.openvino_export import calibration_texts, convert

            int8 = fmt == "openvino-int8"
            texts = calibration_texts(calibration, meta["prompts"], calibration_field) if int8 else []
            onnx_graph, graph = graph, convert(graph, tmp, int8=int8, tokenizer=tokenizer,
                                               max_length=meta["max_length"], calibration=texts)
            onnx_graph.unlink()
            meta["calibration"] = (str(calibration) if calibration else "bundled sample") if int8 else None
        tokenizer.save_pretrained(str(tmp))
        meta["format"] = fmt
        meta["file"] = graph.name
        meta["size_bytes"] = sum(p.stat().st_size for p in tmp.iterdir() if p.stem == graph.stem)
        write_json(tmp / EXPORT_META, meta)
        if parity:
            report = parity_report(source, tmp, fmt, task_dir=task_dir, threads=threads)
            write_json(tmp / "parity.json", report)
            from seaembed.export.parity import render_markdown

            write_text(tmp / "parity.md", render_markdown(report))
    return out


def parity_report(source: str | Path, export_dir: Path, fmt: str, *, task_dir=None, threads=None) -> dict:
    """Compare the exported model with a freshly loaded fp32 torch model on sample texts and a retrieval task."""
    from seaembed.engine.backends import create_backend
    from seaembed.engine.backends.torch_backend import TorchBackend
    from seaembed.export.parity import builtin_task, compare, load_beir_task
    from seaembed.export.parity_data import parity_texts

    reference = TorchBackend(source, threads=threads)  # fresh load: not the object that was traced
    candidate = create_backend(backend_for_format(fmt), export_dir, threads=threads)
    task = load_beir_task(task_dir) if task_dir else builtin_task()
    texts = parity_texts()
    report = compare(_embed_fn(reference), _embed_fn(candidate), texts, task)
    report.update({"format": fmt, "source": str(source), "reference": "torch fp32 (fresh load)"})
    return report


def _embed_fn(backend, batch_size: int = 32):
    import numpy as np

    def embed(texts, prompt):
        ids = backend.tokenize(list(texts), prompt)
        parts = [backend.embed_ids(ids[i:i + batch_size]) for i in range(0, len(ids), batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, backend.dim), np.float32)

    return embed
