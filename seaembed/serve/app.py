"""The HTTP server: OpenAI-compatible `/v1/embeddings` and `/v1/models`, `/search` over a catalog index, `/health`,
`/metrics` and a search page at `/`. Build it with `create_app(engine, index, settings)`; `seaembed serve` runs it on
uvicorn. Limits (body size and read deadline, tokens per request, cancellation when the client leaves) are in
`limits.py`, the header read timeout in `protocols.py`, the encodings in `encodings.py`.
Other endpoints reuse `app.state.require_key` (a dependency) and `app.state.run_engine(request, texts, prompt)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from fastapi import Depends, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field

from seaembed.engine.batching import Engine, EngineClosed, RequestTooLarge
from seaembed.serve.encodings import FORMATS, Quantizer, renormalised_prefix
from seaembed.serve.errors import APIError, check_unicode, install_handlers
from seaembed.serve.limits import BodyLimitMiddleware, ClientGone, client_gone_error, unless_disconnected
from seaembed.serve.metrics import ServerMetrics

STATIC_DIR = Path(__file__).parent / "static"
INPUT_TYPES = ("query", "passage", "none")


@dataclass
class ServerSettings:
    """Limits and identity of a server."""

    model_name: str = "seaembed"
    api_key: str | None = None
    max_inputs: int = 2048  # texts per /v1/embeddings call (OpenAI's limit)
    max_chars: int = 8192  # characters per text (the model truncates to its max tokens anyway)
    default_input_type: str = "query"  # prompt when a request says nothing: see docs/serving.md
    max_k: int = 100
    dimensions: tuple[int, ...] | None = None  # allowed `dimensions`; None allows 1..model dim
    max_request_tokens: int = 65536  # tokens (after truncation, prompts included) per request: 413 above
    max_body_bytes: int = 8 * 1024 * 1024  # request body of /v1/embeddings (and any endpoint without its own)
    max_small_body_bytes: int = 64 * 1024  # request body of /search and the other small JSON endpoints
    body_timeout: float = 30.0  # seconds from the request head to the end of its body: 408 after
    header_timeout: float = 10.0  # seconds to send a request head (uvicorn protocol, see protocols.py)
    docs: bool | None = None  # /docs and /openapi.json: None = on without an API key, off with one; when on
    # and a key is set, both need the key
    calibration_texts: list[tuple[str, str | None]] | None = None  # int8/uint8 ranges; None: encodings.py's set
    reranker_name: str | None = None  # `model` of /v1/rerank answers (None: model_name)


class EmbeddingRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    input: Any = None
    model: str | None = None
    dimensions: Any = None
    encoding_format: Any = "float"
    input_type: Any = None
    user: str | None = None


class SearchFilters(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: str | list[str] | None = None
    lang: str | list[str] | None = None
    price_min: float | None = Field(default=None, ge=0)
    price_max: float | None = Field(default=None, ge=0)


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    query: str
    k: int = Field(default=10, ge=1)
    filters: SearchFilters | None = None
    mode: Literal["dense", "bm25", "hybrid"] = "hybrid"
    rerank: bool = False  # rescore the top `rerank_k` with the cross-encoder (needs a reranker)
    rerank_k: int = Field(default=50, ge=1)


def _json(obj: Any, status: int = 200) -> Response:
    return Response(json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "backslashreplace"),
                    status_code=status, media_type="application/json")


def validate_inputs(raw: Any, settings: ServerSettings) -> list[str]:
    """The request's texts, or an `APIError` (400) saying exactly what is wrong."""
    if raw is None:
        raise APIError(400, "'input' is required: a string or a list of strings", param="input")
    texts = [raw] if isinstance(raw, str) else raw
    if not isinstance(texts, list):
        raise APIError(400, f"'input' must be a string or a list of strings, got {type(raw).__name__}", param="input")
    if not texts:
        raise APIError(400, "'input' is an empty list: send at least one string", param="input")
    if len(texts) > settings.max_inputs:
        raise APIError(400, f"'input' has {len(texts)} items; the limit is {settings.max_inputs} per request",
                       param="input")
    for i, t in enumerate(texts):
        if isinstance(t, int | list) and not isinstance(t, bool):
            raise APIError(400, "token-id input is not supported by this server: send strings", param="input")
        if not isinstance(t, str):
            raise APIError(400, f"input[{i}] must be a string, got {type(t).__name__}", param="input")
        if not t.strip():
            raise APIError(400, f"input[{i}] is empty", param="input")
        check_unicode(t, f"input[{i}]", "input")
        if len(t) > settings.max_chars:
            raise APIError(400, f"input[{i}] has {len(t)} characters; the limit is {settings.max_chars}",
                           param="input")
    return texts


def validate_dimensions(raw: Any, model_dim: int, settings: ServerSettings) -> int | None:
    """The requested output size (Matryoshka truncation), or an `APIError` (400)."""
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise APIError(400, f"'dimensions' must be an integer, got {raw!r}", param="dimensions")
    allowed = settings.dimensions
    if allowed is not None and raw not in allowed:
        raise APIError(400, f"dimensions={raw} is not supported; use one of {sorted(allowed)}", param="dimensions")
    if not 1 <= raw <= model_dim:
        raise APIError(400, f"dimensions={raw} is not supported; this model gives 1 to {model_dim}",
                       param="dimensions")
    return raw


class MetricsMiddleware:
    """Counts requests by endpoint and status and observes their latency. A plain ASGI middleware: Starlette's
    `@app.middleware("http")` (BaseHTTPMiddleware) runs each request in an extra task with memory streams; swapping
    it for this took the server's overhead on 1-text requests at concurrency 32 from ~25% to ~11% (one run each,
    onnx-int8, a minimal raw-socket client)."""

    def __init__(self, app, metrics: ServerMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_and_observe(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_observe)
        finally:
            endpoint = getattr(scope.get("route"), "path", "other")  # the router sets it on this same scope
            self.metrics.requests.labels(endpoint, str(status)).inc()
            self.metrics.latency.labels(endpoint).observe(time.perf_counter() - start)


def create_app(engine: Engine, index=None, settings: ServerSettings | None = None, *,
               close_engine_on_shutdown: bool = True, reranker: Engine | None = None) -> FastAPI:
    """A FastAPI app serving `engine` (and `index`, a `SearchIndex`, for /search; `reranker`, an engine over a
    `serve.rerank.CrossEncoderBackend`, for /v1/rerank and /search's `rerank`)."""
    settings = settings or ServerSettings()
    metrics = ServerMetrics()
    previous_hook = engine.on_batch
    engine.on_batch = metrics.observe_batch if previous_hook is None else (
        lambda s: (previous_hook(s), metrics.observe_batch(s)))

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI):
        yield
        if close_engine_on_shutdown:  # uvicorn stopped taking requests and finished in-flight ones: drain
            await asyncio.to_thread(engine.close, True)
            if reranker is not None:
                await asyncio.to_thread(reranker.close, True)
            if callable(getattr(index, "close", None)):  # e.g. the Qdrant backend's client
                index.close()

    app = FastAPI(title="seaembed", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)  # served below, behind the key
    app.state.engine, app.state.index, app.state.settings, app.state.metrics = engine, index, settings, metrics
    app.state.reranker = reranker
    install_handlers(app)

    big_paths = ("/v1/embeddings", "/embeddings", "/v1/rerank", "/rerank")
    app.add_middleware(BodyLimitMiddleware, read_timeout=settings.body_timeout,
                       limit_for=lambda path: settings.max_body_bytes if path in big_paths
                       else settings.max_small_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=metrics)  # outermost: counts 413/408 too

    async def require_key(request: Request) -> None:
        if not settings.api_key:
            return
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if not header:
            raise APIError(401, "missing API key: send 'Authorization: Bearer <key>'", type_="authentication_error",
                           code="invalid_api_key")
        if scheme.lower() != "bearer" or not secrets.compare_digest(token.strip().encode(), settings.api_key.encode()):
            raise APIError(401, "invalid API key", type_="authentication_error", code="invalid_api_key")

    async def guarded(request: Request | None, start: Callable[[], Awaitable], param: str = "input"):
        """Await engine work (`start()` submits it, within the token budget) with every endpoint's rules: 413 over
        the budget, cancelled (499) when the client of `request` leaves, 503 while shutting down."""
        try:
            work = start()
            return await (work if request is None else unless_disconnected(request, work))
        except RequestTooLarge as e:
            raise APIError(413, f"{e}: send fewer or shorter texts", param=param, code="request_too_large") from None
        except ClientGone:
            raise client_gone_error() from None
        except EngineClosed:
            raise APIError(503, "the server is shutting down", type_="server_error") from None

    async def run_engine(request: Request | None, texts: list[str], prompt: str | None) -> tuple[np.ndarray, int]:
        """Embed through the engine within the token budget; cancelled if the client of `request` leaves."""
        return await guarded(request, lambda: engine.embed(texts, prompt, max_tokens=settings.max_request_tokens))

    async def embed_calibration(texts: list[str], prompt: str | None) -> np.ndarray:
        vectors, _ = await engine.embed(texts, prompt)  # no budget: the calibration set is ours
        return vectors

    quantizer = Quantizer(embed_calibration, settings.calibration_texts)
    app.state.require_key, app.state.run_engine, app.state.quantizer = require_key, run_engine, quantizer
    app.state.guarded = guarded

    def model_card() -> dict:
        return {"id": settings.model_name, "object": "model", "created": created, "owned_by": "seaembed"}

    created = int(time.time())

    @app.get("/v1/models", dependencies=[Depends(require_key)])
    async def models() -> Response:
        """The served model (OpenAI's list shape)."""
        return _json({"object": "list", "data": [model_card()]})

    @app.post("/v1/embeddings", dependencies=[Depends(require_key)])
    async def embeddings(req: EmbeddingRequest, request: Request) -> Response:
        """Embeddings of `input` (OpenAI-compatible; `encoding_format` also int8, uint8, binary, ubinary)."""
        texts = validate_inputs(req.input, settings)
        dims = validate_dimensions(req.dimensions, engine.dim, settings)
        if not isinstance(req.encoding_format, str) or req.encoding_format not in FORMATS:
            raise APIError(400, f"encoding_format must be one of {', '.join(FORMATS)}, got {req.encoding_format!r}",
                           param="encoding_format")
        input_type = req.input_type or settings.default_input_type
        if not isinstance(input_type, str) or input_type not in INPUT_TYPES:
            raise APIError(400, f"input_type must be one of {', '.join(INPUT_TYPES)}, got {input_type!r}",
                           param="input_type")
        vectors, n_tokens = await run_engine(request, texts, None if input_type == "none" else input_type)
        vectors = renormalised_prefix(vectors, dims)
        encoded = await quantizer.encode(vectors, req.encoding_format, dims)
        data = [{"object": "embedding", "index": i, "embedding": e} for i, e in enumerate(encoded)]
        return _json({"object": "list", "data": data, "model": settings.model_name,
                      "usage": {"prompt_tokens": n_tokens, "total_tokens": n_tokens}})

    if reranker is not None:
        from seaembed.serve.rerank import add_rerank_routes

        reranker.on_batch = metrics.observe_batch
        add_rerank_routes(app, reranker, settings, require_key, _json, guarded)

    # infinity's paths (it serves without the /v1 prefix by default); same handlers, not repeated in the schema
    app.add_api_route("/embeddings", embeddings, methods=["POST"], dependencies=[Depends(require_key)],
                      include_in_schema=False)
    app.add_api_route("/models", models, methods=["GET"], dependencies=[Depends(require_key)],
                      include_in_schema=False)

    docs_on = settings.docs if settings.docs is not None else not settings.api_key
    if docs_on:
        @app.get("/openapi.json", include_in_schema=False, dependencies=[Depends(require_key)])
        async def openapi() -> Response:
            return _json(app.openapi())

        @app.get("/docs", include_in_schema=False, dependencies=[Depends(require_key)])
        async def docs() -> HTMLResponse:
            return get_swagger_ui_html(openapi_url="/openapi.json", title="seaembed API")

    @app.post("/search", dependencies=[Depends(require_key)])
    async def search(req: SearchRequest, request: Request) -> Response:
        if index is None:
            raise APIError(404, "no catalog index is loaded: start the server with --index DIR", param="index")
        query = req.query.strip()
        if not query:
            raise APIError(400, "'query' is empty", param="query")
        check_unicode(query, "'query'", "query")
        if len(query) > settings.max_chars:
            raise APIError(400, f"'query' has {len(query)} characters; the limit is {settings.max_chars}",
                           param="query")
        if req.k > settings.max_k:
            raise APIError(400, f"k={req.k} is over the limit of {settings.max_k}", param="k")
        start = time.perf_counter()
        qvec = None
        if req.mode != "bm25":
            vectors, _ = await run_engine(request, [query], "query")
            qvec = vectors[0]
        filters = req.filters.model_dump() if req.filters else None
        if req.rerank and reranker is None:
            raise APIError(400, "rerank needs a relevance model and this server was started without one", param="rerank")
        n = max(req.k, min(req.rerank_k, settings.max_k)) if req.rerank else req.k
        hits = await asyncio.to_thread(index.search, qvec, query, n, filters, req.mode)
        if req.rerank and hits:
            from seaembed.search.rerank import hit_text, rerank_hits
            from seaembed.serve.rerank import score_documents

            scores, _ = await score_documents(reranker, query, [hit_text(h) for h in hits], guard=guarded,
                                              request=request, max_tokens=settings.max_request_tokens)
            hits = rerank_hits(hits, scores, req.k)
        return _json({"object": "search", "query": query, "mode": req.mode, "results": hits,
                      "took_ms": round((time.perf_counter() - start) * 1000, 2)})

    @app.get("/health")
    async def health() -> Response:
        info = {"status": "ok", "model": settings.model_name, **engine.backend.describe(),
                "auth": bool(settings.api_key)}
        if index is not None:
            info["index"] = {"size": index.size, "kind": index.info.get("kind"),
                             "categories": index.categories(), "languages": index.languages()}
        else:
            info["index"] = None
        info["reranker"] = None if reranker is None else {"model": settings.reranker_name or settings.model_name,
                                                          **reranker.backend.describe()}
        return _json(info)

    @app.get("/metrics", dependencies=[Depends(require_key)])
    async def prometheus() -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST

        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
