"""POST /v1/rerank: score documents against a query with the relevance cross-encoder (#17).

The request is the shape infinity and Cohere share, with TEI's field name accepted too: `{"query", "documents" (or
TEI's "texts"), "top_n", "return_documents"}`; the response is infinity's (Cohere's `results` inside it):
`{"object": "rerank", "results": [{"index", "relevance_score", "document": {"text"}}], "model", "usage"}`, results
sorted by score, best first (TEI's own response, a bare list with `score`, is not produced). Documents may be strings or
`{"text": ...}` objects (Cohere). `kind` (seaembed's field: `query-item`, default, or `query-category`) says what the
documents are.

Pairs run through the same batching `Engine` as /v1/embeddings: `CrossEncoderBackend` tokenises (query, document)
pairs to one id sequence each and returns a 1-wide "embedding", the relevance score, so the engine's fair
scheduling, token budget and batch metrics apply unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import Request
from pydantic import BaseModel, ConfigDict

from seaembed.engine.backends.base import Backend
from seaembed.engine.batching import Engine
from seaembed.serve.errors import APIError, check_unicode
from seaembed.train.cross_encoder import KIND_MARKERS, marked_target

DOC_KINDS = ("query-item", "query-category")


class CrossEncoderBackend(Backend):
    """A sentence-transformers CrossEncoder (torch, CPU) behind the engine's backend interface: each sequence is a
    tokenised (query, marked document) pair; `embed_ids` returns `(n, 1)` sigmoid scores."""

    name = "cross-encoder-torch"
    dim = 1

    def __init__(self, source: str | Path | Any, *, threads: int | None = None) -> None:
        import torch

        from seaembed.train.cross_encoder import load_cross_encoder

        if threads:
            torch.set_num_threads(int(threads))
        self.model = source if not isinstance(source, str | Path) else load_cross_encoder(source)
        self.hf = self.model.transformers_model
        self.hf.eval()
        super().__init__(self.model.tokenizer, max_length=int(self.model.max_length or 512))
        self.sep_id = self.tokenizer.sep_token_id
        # segment ids (1 from the first [SEP] on) only where the tokenizer gives them, as in training / predict
        self.segments = "token_type_ids" in getattr(self.tokenizer, "model_input_names", ())

    def tokenize_pairs(self, query: str, documents: Sequence[str], kind: str = "query-item") -> list[list[int]]:
        """Ids of (query, document) pairs, the document marked with its kind, truncated to `max_length`."""
        with self._tokenize_lock:
            enc = self.tokenizer([query] * len(documents), [marked_target(kind, d) for d in documents],
                                 add_special_tokens=True, truncation=True, max_length=self.max_length,
                                 padding=False, return_attention_mask=False, return_token_type_ids=False)
        return enc["input_ids"]

    def embed_ids(self, batch: Sequence[Sequence[int]]) -> np.ndarray:
        import torch

        ids, mask = self.pad(batch)
        inputs = {"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask)}
        if self.segments:
            after_sep = np.cumsum(ids == self.sep_id, axis=1) - (ids == self.sep_id)  # 1 after the first [SEP]
            inputs["token_type_ids"] = torch.from_numpy(((after_sep >= 1) & (mask == 1)).astype(np.int64))
        with torch.inference_mode():
            logits = self.hf(**inputs).logits.float()
        return torch.sigmoid(logits[:, :1]).numpy()

    def describe(self) -> dict:
        return {"backend": self.name, "max_length": self.max_length}


class OnnxCrossEncoderBackend(CrossEncoderBackend):
    """An ONNX (fp32 / int8) export of the cross-encoder (`export.cross_encoder`) on onnxruntime."""

    name = "cross-encoder-onnx"

    def __init__(self, path: str | Path, *, threads: int | None = None) -> None:  # noqa: D107 - no torch model
        from seaembed.export.cross_encoder import OnnxScorer

        self.scorer = OnnxScorer(path, threads=threads)
        self.name = f"cross-encoder-{self.scorer.meta['format']}"
        Backend.__init__(self, self.scorer.tokenizer, max_length=self.scorer.max_length)
        self.sep_id = self.tokenizer.sep_token_id
        self.segments = False  # the graph takes input_ids and attention_mask only

    def embed_ids(self, batch: Sequence[Sequence[int]]) -> np.ndarray:
        ids, mask = self.pad(batch)
        return np.asarray(self.scorer.run_ids(ids, mask), dtype=np.float32)


def reranker_format(path: str | Path) -> str:
    """`onnx` for an export of the cross-encoder (`cross_encoder.json`), `torch` for a saved cross-encoder (an HF
    `...ForSequenceClassification` config); anything else is a `ConfigError` naming the path
    (`export.cross_encoder.cross_encoder_format`, which `seaembed export` uses too). A bi-encoder directory would
    otherwise load with a new random head and serve meaningless scores."""
    from seaembed.errors import ConfigError
    from seaembed.export.cross_encoder import cross_encoder_format

    path = Path(path)
    if not path.is_dir():
        raise ConfigError(f"--reranker {path}: no such directory")
    fmt = cross_encoder_format(path)
    if fmt is None:
        raise ConfigError(f"--reranker {path}: not a relevance cross-encoder (a `seaembed train` kind: cross-encoder "
                          "directory, or its ONNX export with cross_encoder.json)")
    return fmt


def load_reranker(path: str | Path, *, threads: int | None = None) -> CrossEncoderBackend:
    """The backend for a saved cross-encoder directory: ONNX when it is an export (`cross_encoder.json`), else torch.
    Raises `ConfigError` for a path that is neither (see `reranker_format`)."""
    if reranker_format(path) == "onnx":
        return OnnxCrossEncoderBackend(path, threads=threads)
    return CrossEncoderBackend(path, threads=threads)


class RerankRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    query: Any = None
    documents: Any = None
    texts: Any = None  # TEI's name for documents
    top_n: Any = None
    return_documents: Any = None
    kind: Any = "query-item"
    model: str | None = None


def _documents(req: RerankRequest, max_inputs: int, max_chars: int) -> list[str]:
    raw, param = (req.documents, "documents") if req.documents is not None else (req.texts, "texts")
    if raw is None:
        raise APIError(400, "'documents' (or 'texts') is required: a list of strings", param="documents")
    if not isinstance(raw, list) or not raw:
        raise APIError(400, f"'{param}' must be a non-empty list of strings", param=param)
    if len(raw) > max_inputs:
        raise APIError(400, f"'{param}' has {len(raw)} items; the limit is {max_inputs} per request", param=param)
    docs = []
    for i, d in enumerate(raw):
        text = d.get("text") if isinstance(d, dict) else d
        if not isinstance(text, str):
            raise APIError(400, f"{param}[{i}] must be a string or an object with a 'text' string", param=param)
        if not text.strip():
            raise APIError(400, f"{param}[{i}] is empty", param=param)
        if len(text) > max_chars:
            raise APIError(400, f"{param}[{i}] has {len(text)} characters; the limit is {max_chars}", param=param)
        check_unicode(text, f"{param}[{i}]", param)
        docs.append(text)
    return docs


def validate_rerank(req: RerankRequest, settings: Any) -> tuple[str, list[str], int, bool, str]:
    """(query, documents, top_n, return_documents, kind) of a request, or an `APIError` (400)."""
    if not isinstance(req.query, str) or not req.query.strip():
        raise APIError(400, "'query' is required: a non-empty string", param="query")
    if len(req.query) > settings.max_chars:
        raise APIError(400, f"'query' has {len(req.query)} characters; the limit is {settings.max_chars}",
                       param="query")
    check_unicode(req.query, "'query'", "query")
    docs = _documents(req, settings.max_inputs, settings.max_chars)
    top_n = len(docs) if req.top_n is None else req.top_n
    if isinstance(top_n, bool) or not isinstance(top_n, int) or top_n < 1:
        raise APIError(400, f"'top_n' must be a positive integer, got {req.top_n!r}", param="top_n")
    ret = True if req.return_documents is None else req.return_documents
    if not isinstance(ret, bool):
        raise APIError(400, f"'return_documents' must be true or false, got {ret!r}", param="return_documents")
    if req.kind not in DOC_KINDS:
        raise APIError(400, f"'kind' must be one of {', '.join(DOC_KINDS)}, got {req.kind!r}", param="kind")
    return req.query, docs, min(top_n, len(docs)), ret, req.kind


async def score_documents(engine: Engine, query: str, docs: Sequence[str], kind: str = "query-item", *,
                          guard: Callable, request: Any = None, max_tokens: int | None = None,
                          param: str = "documents") -> tuple[np.ndarray, int]:
    """Relevance scores of `docs` for `query` through the engine, and the tokens used. `guard` is the app's
    `guarded` (token budget -> 413, a client that left -> cancelled, shutdown -> 503), as for /v1/embeddings."""
    import asyncio

    # off the event loop: a big request's tokenising must not stall the others (as Engine.embed does)
    ids = await asyncio.to_thread(engine.backend.tokenize_pairs, query, list(docs), kind)
    out, n_tokens = await guard(request, lambda: asyncio.wrap_future(engine.submit_ids(ids, max_tokens=max_tokens)),
                                param)
    return out[:, 0].copy(), n_tokens


def add_rerank_routes(app: Any, engine: Engine, settings: Any, require_key: Callable, json_response: Callable,
                      guard: Callable) -> None:
    """Register POST /v1/rerank (and infinity's /rerank) on `app`, behind `require_key`, answering with `json_response`; engine work goes
    through the app's `guard` (the embeddings endpoint's budget, cancellation and shutdown rules)."""
    from fastapi import Depends

    @app.post("/v1/rerank", dependencies=[Depends(require_key)])
    async def rerank(req: RerankRequest, request: Request):
        query, docs, top_n, return_documents, kind = validate_rerank(req, settings)
        scores, n_tokens = await score_documents(engine, query, docs, kind, guard=guard, request=request,
                                                 max_tokens=settings.max_request_tokens)
        order = np.argsort(-scores, kind="stable")[:top_n]
        results = []
        for i in order:
            r = {"index": int(i), "relevance_score": float(scores[i])}
            if return_documents:
                r["document"] = {"text": docs[i]}
            results.append(r)
        return json_response({"object": "rerank", "results": results,
                              "model": getattr(settings, "reranker_name", None) or settings.model_name,
                              "usage": {"prompt_tokens": n_tokens, "total_tokens": n_tokens}})

    # infinity's path (it serves without the /v1 prefix, as for /embeddings); same handler, not repeated in the schema
    app.add_api_route("/rerank", rerank, methods=["POST"], dependencies=[Depends(require_key)],
                      include_in_schema=False)


assert set(DOC_KINDS) <= set(KIND_MARKERS)
