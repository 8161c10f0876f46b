"""CLI command of the serving stage: `seaembed serve`.

Light imports only here; the work happens in `server.py`.
"""

from __future__ import annotations

import os
from pathlib import Path

import typer


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
    search_backend: str = typer.Option("faiss", "--search-backend", help="faiss (--index) or qdrant (--qdrant-url "
                                       "and --collection, written by `seaembed index --sink qdrant`)."),
    qdrant_url: str | None = typer.Option(None, "--qdrant-url", help="http(s)://HOST:PORT, :memory: or path:DIR."),
    collection: str | None = typer.Option(None, "--collection", help="Qdrant collection to search."),
    max_request_tokens: int = typer.Option(65536, "--max-request-tokens", min=1, help="Tokens per request "
                                                                                     "(after truncation): 413 above."),
    header_timeout: float = typer.Option(10.0, "--header-timeout", min=0.1, help="Seconds to send a request head."),
    body_timeout: float = typer.Option(30.0, "--body-timeout", min=0.1, help="Seconds to send a request body: 408."),
    reranker: Path | None = typer.Option(None, "--reranker", help="A relevance cross-encoder (a `seaembed train` "
                                         "kind: cross-encoder directory or its ONNX export) for /v1/rerank and "
                                         "/search's rerank."),
    docs: bool | None = typer.Option(None, "--docs/--no-docs", help="Serve /docs and /openapi.json (default: only "
                                                                     "without an API key; with one, they need it)."),
) -> None:
    """Serve embeddings (OpenAI-compatible), catalog search and a search page over HTTP."""
    from seaembed.serve.server import ServeOptions, run_server

    run_server(ServeOptions(
        model=model, index=index, backend=backend, host=host, port=port,
        api_key=api_key or os.environ.get("SEAEMBED_API_KEY") or None, dtype=dtype, quantization=quantization,
        threads=threads, max_batch_tokens=max_batch_tokens, max_wait_ms=max_wait_ms, max_inputs=max_inputs,
        max_chars=max_chars, default_input_type=input_type, model_name=model_name,
        search_backend=search_backend, qdrant_url=qdrant_url, collection=collection,
        max_request_tokens=max_request_tokens, header_timeout=header_timeout, body_timeout=body_timeout, docs=docs,
        reranker=reranker))
