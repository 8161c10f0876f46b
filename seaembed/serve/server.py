"""Assemble backend + engine + index + app from command-line options and run uvicorn."""

from __future__ import annotations

import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from seaembed.engine.export_meta import resolve_backend
from seaembed.engine.loading import find_export
from seaembed.errors import ConfigError

log = logging.getLogger(__name__)


@dataclass
class ServeOptions:
    model: str
    index: Path | None = None
    backend: str = "auto"
    host: str = "127.0.0.1"
    port: int = 8080
    api_key: str | None = None
    dtype: str = "float32"
    quantization: str | None = None
    threads: int | None = None
    max_batch_tokens: int = 512
    max_wait_ms: float = 0.0
    max_inputs: int = 2048
    max_chars: int = 8192
    default_input_type: str = "query"
    model_name: str | None = None
    log_level: str = "info"
    search_backend: str = "faiss"  # or "qdrant": /search from `collection` at `qdrant_url`
    qdrant_url: str | None = None
    collection: str | None = None
    max_request_tokens: int = 65536
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    docs: bool | None = None
    reranker: Path | None = None  # a relevance cross-encoder dir or its ONNX export: /v1/rerank, /search's rerank


def build_app(opts: ServeOptions):
    """The FastAPI app for `opts` (loads the model and the index)."""
    from seaembed.engine.backends import create_backend
    from seaembed.engine.batching import BatchingConfig, Engine
    from seaembed.search.search_index import SearchIndex
    from seaembed.serve.app import INPUT_TYPES, ServerSettings, create_app

    if opts.default_input_type not in INPUT_TYPES:
        raise ConfigError(f"--default-input-type must be one of {', '.join(INPUT_TYPES)}")
    if opts.reranker is not None:  # a wrong path fails now, before the embedding model loads
        from seaembed.serve.rerank import reranker_format

        reranker_format(opts.reranker)
    source, found = opts.model, find_export(opts.model) if opts.backend == "auto" else None
    if found:  # the fast path: the int8 export a run built of this model
        source = str(found[0])
    backend_name = resolve_backend(source, opts.backend)
    index = SearchIndex.load(opts.index) if opts.index else None
    if opts.search_backend == "qdrant":
        from seaembed.search.qdrant_search import QdrantSearchIndex

        if not (opts.qdrant_url and opts.collection) or opts.index:
            raise ConfigError("--search-backend qdrant takes --qdrant-url and --collection (and no --index)")
        index = QdrantSearchIndex.connect(opts.qdrant_url, opts.collection, os.environ.get("QDRANT_API_KEY"))
    elif opts.search_backend != "faiss":
        raise ConfigError("--search-backend must be faiss or qdrant")
    backend = create_backend(backend_name, source, dtype=opts.dtype, threads=opts.threads,
                             quantization=opts.quantization)
    via = f" (the {found[1]} export of {opts.model}; --backend torch serves the torch model)" if found else ""
    print(f"seaembed serve: {backend.name} backend from {source}{via}", file=sys.stderr, flush=True)
    if index is not None and index.dim != backend.dim:
        raise ConfigError(f"the index {opts.index} holds {index.dim}-d vectors but the model gives {backend.dim}-d; "
                          "rebuild it with this model")
    if index is not None and index.info.get("model") not in (str(opts.model), None):
        log.warning("index built with %s, serving %s: make sure they are the same weights",
                    index.info.get("model"), opts.model)
    engine = Engine(backend, BatchingConfig(max_batch_tokens=opts.max_batch_tokens, max_wait_ms=opts.max_wait_ms))
    started = time.perf_counter()
    if shapes := engine.warmup():  # before uvicorn starts: /health answers only once the engine is warm
        log.info("warmed up %d batch shapes in %.1f s", shapes, time.perf_counter() - started)
    settings = ServerSettings(model_name=opts.model_name or Path(str(opts.model)).name or str(opts.model),
                              api_key=opts.api_key, max_inputs=opts.max_inputs, max_chars=opts.max_chars,
                              default_input_type=opts.default_input_type,
                              max_request_tokens=opts.max_request_tokens, header_timeout=opts.header_timeout,
                              body_timeout=opts.body_timeout, docs=opts.docs,
                              reranker_name=Path(opts.reranker).name if opts.reranker else None)
    return create_app(engine, index, settings, reranker=_reranker_engine(opts))


def _reranker_engine(opts: ServeOptions):
    """The batching engine over `opts.reranker` (None without one), with the embedding engine's batch budget."""
    if opts.reranker is None:
        return None
    from seaembed.engine.batching import BatchingConfig, Engine
    from seaembed.serve.rerank import load_reranker

    backend = load_reranker(opts.reranker, threads=opts.threads)
    print(f"seaembed serve: reranker {backend.name} from {opts.reranker}", file=sys.stderr, flush=True)
    return Engine(backend, BatchingConfig(max_batch_tokens=opts.max_batch_tokens, max_wait_ms=opts.max_wait_ms))


def http_protocol(app):
    """uvicorn's HTTP protocol with the header read timeout of `app`'s settings (see protocols.py)."""
    from seaembed.serve.protocols import header_timeout_protocol

    settings = getattr(app.state, "settings", None)
    return header_timeout_protocol(settings.header_timeout if settings is not None else 10.0)


def run_server(opts: ServeOptions) -> None:
    """Run until SIGINT/SIGTERM; uvicorn finishes in-flight requests, then the engine drains its queue."""
    import uvicorn

    app = build_app(opts)
    if opts.host not in ("127.0.0.1", "localhost", "::1") and not opts.api_key:
        log.warning("listening on %s without an API key", opts.host)
    uvicorn.run(app, host=opts.host, port=opts.port, log_level=opts.log_level, timeout_graceful_shutdown=30,
                access_log=False, http=http_protocol(app))


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on `host` right now."""
    import socket

    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class BackgroundServer:
    """Run an app on uvicorn in a thread (tests, benchmarks): `with BackgroundServer(app) as url: ...`."""

    def __init__(self, app, host: str = "127.0.0.1", port: int | None = None, log_level: str = "warning",
                 http=None) -> None:
        import uvicorn

        self.host, self.port = host, port or free_port(host)
        self.server = uvicorn.Server(uvicorn.Config(app, host=self.host, port=self.port, log_level=log_level,
                                                    access_log=False, timeout_graceful_shutdown=10,
                                                    http=http or http_protocol(app)))
        self.thread = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> str:
        import threading
        import time

        self.thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start on {self.url}")
            time.sleep(0.02)
        return self.url

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(30)
