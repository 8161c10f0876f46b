"""CLI commands of the serving stage: `seaembed export`, `seaembed index`, `seaembed serve`.

Light imports only here; the work happens in `export.py`, `index.py` and `server.py`.
"""

from __future__ import annotations

import os
from pathlib import Path

import typer


def export_command(
    model: str = typer.Option(..., "--model", "-m", help="Model source: a directory, hub id or packaged:NAME."),
    format: str = typer.Option("onnx-int8", "--format", "-f", help="onnx (fp32), onnx-int8 (int8 weights), "
                               "openvino (fp32 IR) or openvino-int8 (NNCF static int8; needs seaembed[openvino])."),
    out: Path = typer.Option(..., "--out", "-o", help="Output directory (replaced atomically)."),
    task: Path | None = typer.Option(None, "--task", help="A BEIR-layout retrieval task for the parity report "
                                                          "(default: a small built-in multilingual task)."),
    threads: int | None = typer.Option(None, "--threads", help="Intra-op threads for the parity run."),
    calibration: Path | None = typer.Option(None, "--calibration", help="openvino-int8: texts to calibrate on "
                                            "(txt/JSONL/CSV, prompts included; a seeded sample of 300 rows when longer; default: a bundled sample mix)."),
    calibration_field: str | None = typer.Option(None, "--calibration-field", help="Column of --calibration."),
) -> None:
    """Export a model to ONNX or OpenVINO (fp32 or int8) with a parity report (cosine and nDCG@10 against fp32
    torch)."""
    import json

    from seaembed.serve.export import export

    path = export(model, format, out, task_dir=task, threads=threads,  # type: ignore[arg-type]
                  calibration=calibration, calibration_field=calibration_field)
    report = json.loads((path / "parity.json").read_text(encoding="utf-8"))
    typer.echo(f"wrote {path} ({format}); parity: cosine mean {report['cosine_mean']:.5f} "
               f"(min {report['cosine_min']:.5f}), nDCG@10 {report['ndcg@10_reference']:.4f} -> "
               f"{report['ndcg@10_candidate']:.4f} on {report['task']}")


def index_command(
    model: str = typer.Option(..., "--model", "-m", help="Model source, or a `seaembed export` directory."),
    catalog: Path = typer.Option(..., "--catalog", "-c", help="Catalog file (JSONL, CSV, TSV or Parquet)."),
    out: Path = typer.Option(..., "--out", "-o", help="Index directory to write."),
    text_fields: str = typer.Option("title,category", "--text-fields", help="Fields joined into the indexed text; "
                                                                              "the first is required."),
    id_field: str = typer.Option("id", "--id-field", help="Item id field (default: the line number)."),
    kind: str = typer.Option("auto", "--kind", help="auto|flat|hnsw|ivfpq (auto: by catalog size)."),
    backend: str = typer.Option("auto", "--backend", help="auto|torch|onnx|openvino (auto: the export's own backend for an export dir)."),
    chunk_size: int = typer.Option(1024, "--chunk-size", min=1, help="Items per resumable chunk."),
    default_lang: str | None = typer.Option(None, "--default-lang", help="Language of rows without a 'lang'."),
    detect_lang: bool = typer.Option(False, "--detect-lang", help="Identify the language of rows without one."),
    fusion: str = typer.Option("bounded", "--fusion", help="Hybrid search's default fusion: bounded (default), "
                               "rrf, wrrf, weighted or zscore (see docs/serving.md)."),
    alpha: float | None = typer.Option(None, "--alpha", min=0.0, max=1.0, help="Dense weight of the fusion "
                                       "(default: the method's own, bounded 0.2, wrrf/weighted/zscore 0.5)."),
    tune_on: list[Path] | None = typer.Option(None, "--tune-on", help="A BEIR-layout retrieval task to choose "
                                              "--fusion's alpha on with this model (repeatable; 0 to 1 in steps "
                                              "of 0.05, best mean nDCG@10; writes fusion_tuning.json)."),
) -> None:
    """Embed a catalog (resumable) and build a dense + BM25 search index."""
    from seaembed.errors import ConfigError
    from seaembed.serve.fusion import FUSIONS
    from seaembed.serve.index import build_index
    from seaembed.serve.server import resolve_backend

    if fusion not in FUSIONS:
        raise ConfigError(f"--fusion must be one of {', '.join(FUSIONS)}, got '{fusion}'")
    fields = [f.strip() for f in text_fields.split(",") if f.strip()]
    path = build_index(model, catalog, out, backend=resolve_backend(model, backend), text_fields=fields,
                       id_field=id_field, kind=kind, chunk_size=chunk_size, default_lang=default_lang,
                       detect_lang=detect_lang, fusion=fusion, alpha=alpha, tune_on=tune_on or ())
    if tune_on:
        import json

        from seaembed.serve.tune_fusion import FusionTuning

        tuning = FusionTuning.from_dict(json.loads((path / "fusion_tuning.json").read_text(encoding="utf-8")))
        typer.echo(f"fusion tuned: {tuning.describe()}")
    typer.echo(f"wrote {path}")


def serve_command(
    model: str = typer.Option(..., "--model", "-m", help="Model source, or a `seaembed export` directory."),
    index: Path | None = typer.Option(None, "--index", help="A `seaembed index` directory for /search and /."),
    backend: str = typer.Option("auto", "--backend", help="auto|torch|onnx|openvino|vllm (auto: the export's own backend for an export dir)."),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8080, "--port"),
    api_key: str | None = typer.Option(None, "--api-key", help="Require 'Authorization: Bearer KEY' "
                                                                "(default: $SEAEMBED_API_KEY, else none)."),
    dtype: str = typer.Option("float32", "--dtype", help="torch/openvino backends: float32 or bfloat16 (openvino: precision of non-int8 layers)."),
    quantization: str | None = typer.Option(None, "--quantization", help="vllm backend: fp8."),
    threads: int | None = typer.Option(None, "--threads", help="Intra-op threads (default: all cores)."),
    max_batch_tokens: int = typer.Option(512, "--max-batch-tokens", min=16, help="Padded tokens per forward pass."),
    max_wait_ms: float = typer.Option(0.0, "--max-wait-ms", min=0.0, help="Wait for more work before a batch (0: batch whatever is queued)."),
    max_inputs: int = typer.Option(2048, "--max-inputs", min=1, help="Texts per /v1/embeddings request."),
    max_chars: int = typer.Option(8192, "--max-chars", min=1, help="Characters per text."),
    input_type: str = typer.Option("query", "--default-input-type", help="Prompt when a request has no "
                                                                         "input_type: query, passage or none."),
    model_name: str | None = typer.Option(None, "--model-name", help="Name reported in responses."),
) -> None:
    """Serve embeddings (OpenAI-compatible), catalog search and a search page over HTTP."""
    from seaembed.serve.server import ServeOptions, run_server

    run_server(ServeOptions(
        model=model, index=index, backend=backend, host=host, port=port,
        api_key=api_key or os.environ.get("SEAEMBED_API_KEY") or None, dtype=dtype, quantization=quantization,
        threads=threads, max_batch_tokens=max_batch_tokens, max_wait_ms=max_wait_ms, max_inputs=max_inputs,
        max_chars=max_chars, default_input_type=input_type, model_name=model_name))
