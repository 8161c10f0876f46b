"""The inference engine: dynamic batching on a token budget, with length bucketing, in one worker thread.

Callers submit lists of texts (`await engine.embed(texts, prompt="query")` from asyncio, or `embed_sync`); every
text becomes one sequence in a shared queue. The worker collects sequences for at most `max_wait_ms` (or until
`collect_factor` budgets' worth of tokens are waiting), sorts them by length so similar lengths share a batch
(little padding), cuts batches whose padded size `batch_size * longest` stays within `max_batch_tokens`, runs the
backend and hands each request its rows back in order. Closing drains the queue first.

No well-kept library does token-budget batching for an in-process CPU model behind asyncio (TorchServe, Triton and
vLLM are separate servers), so this small scheduler is ours.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from seaembed.engine.backends.base import Backend

log = logging.getLogger(__name__)
_STOP = object()


@dataclass
class BatchingConfig:
    """How the engine forms batches."""

    max_batch_tokens: int = 512  # padded tokens (batch size x longest sequence) per forward pass; small batches
    # stay in cache: on this 2-core CPU, e5-small int8 ran 2-3x faster at 256-512 than at 8192 (benchmarks/serve.py)
    max_batch_size: int = 256
    max_wait_ms: float = 0.0  # how long the first waiting sequence may wait for company (0: take what is queued)
    collect_factor: int = 16  # collect up to this many budgets of tokens before bucketing: wider length-sorting
    # windows pad less (e5-small int8, 256 titles in one call: 493 texts/s at 4, 560 at 16); with max_wait_ms 0 a
    # lone request is never held back, since collection stops when the queue is empty


@dataclass
class BatchStats:
    """What one forward pass did (for metrics)."""

    size: int
    tokens: int
    padded_tokens: int
    seconds: float


class EngineClosed(RuntimeError):
    """Raised when work is submitted to an engine that is shutting down."""


def plan_batches(lengths: Sequence[int], max_batch_tokens: int, max_batch_size: int) -> list[list[int]]:
    """Group sequence indices into batches by ascending length; each batch's `size * longest <= max_batch_tokens`
    (a single sequence longer than the budget gets a batch of its own)."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        longest = lengths[i]  # ascending order: the newcomer is the longest
        if current and ((len(current) + 1) * longest > max_batch_tokens or len(current) >= max_batch_size):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


class _Job:
    __slots__ = ("future", "out", "remaining", "n_tokens", "done")

    def __init__(self, n: int, dim: int, n_tokens: int) -> None:
        self.future: concurrent.futures.Future = concurrent.futures.Future()
        self.out = np.empty((n, dim), dtype=np.float32)
        self.remaining = n
        self.n_tokens = n_tokens
        self.done = False


class Engine:
    """Batches embedding requests from many callers onto one backend running in a worker thread."""

    def __init__(self, backend: Backend, config: BatchingConfig | None = None,
                 on_batch: Callable[[BatchStats], None] | None = None) -> None:
        self.backend = backend
        self.config = config or BatchingConfig()
        self.on_batch = on_batch
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._closed = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="seaembed-engine", daemon=True)
        self._thread.start()

    @property
    def dim(self) -> int:
        return self.backend.dim

    def warmup(self) -> int:
        """Let the backend prepare the batch shapes this engine's budget allows (see `Backend.warmup`); call it
        before taking traffic. Returns the number of shapes run (0 for backends that need none)."""
        return self.backend.warmup(self.config.max_batch_tokens, self.config.max_batch_size)

    # --- submitting -------------------------------------------------------------------------------------------
    def submit_ids(self, ids: Sequence[Sequence[int]]) -> concurrent.futures.Future:
        """Queue pre-tokenised sequences; the future gives `(embeddings (n, dim), n_tokens)`."""
        n_tokens = sum(len(s) for s in ids)
        job = _Job(len(ids), self.dim, n_tokens)
        if not ids:
            job.future.set_result((job.out, 0))
            return job.future
        with self._lock:  # so no sequence lands behind the stop marker
            if self._closed:
                raise EngineClosed("the engine is shutting down")
            for i, seq in enumerate(ids):
                self._queue.put((job, i, seq))
        return job.future

    def submit(self, texts: Sequence[str], prompt: str | None = None) -> concurrent.futures.Future:
        """Tokenise (with the prompt prefix) and queue `texts`."""
        return self.submit_ids(self.backend.tokenize(list(texts), prompt))

    async def embed(self, texts: Sequence[str], prompt: str | None = None) -> tuple[np.ndarray, int]:
        """Embeddings of `texts` (rows in input order, L2-normalised) and the number of tokens used."""
        if sum(len(t) for t in texts) > 20_000:  # large requests: keep the event loop free while tokenising
            ids = await asyncio.to_thread(self.backend.tokenize, list(texts), prompt)
        else:
            ids = self.backend.tokenize(list(texts), prompt)
        return await asyncio.wrap_future(self.submit_ids(ids))

    def embed_sync(self, texts: Sequence[str], prompt: str | None = None,
                   timeout: float | None = None) -> tuple[np.ndarray, int]:
        """Blocking version of `embed`."""
        return self.submit(texts, prompt).result(timeout)

    def close(self, drain: bool = True, timeout: float | None = 30.0) -> None:
        """Stop accepting work; with `drain` finish everything queued, else fail it. Idempotent."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._drain = drain
                self._queue.put(_STOP)
        self._thread.join(timeout)

    # --- the worker ---------------------------------------------------------------------------------------------
    def _run(self) -> None:
        cfg = self.config
        collect_limit = cfg.max_batch_tokens * max(cfg.collect_factor, 1)
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is _STOP:
                break
            pending = [first]
            tokens = len(first[2])
            deadline = time.monotonic() + cfg.max_wait_ms / 1000.0
            while tokens < collect_limit:
                left = deadline - time.monotonic()
                try:
                    item = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stopping = True
                    break
                pending.append(item)
                tokens += len(item[2])
            if stopping and not getattr(self, "_drain", True):
                self._fail(pending, EngineClosed("the engine shut down before this request ran"))
                break
            self._process(pending)
        # after the stop marker nothing more can be queued (submit holds the lock and checks `_closed`)

    def _process(self, pending: list) -> None:
        cfg = self.config
        multiple = max(int(getattr(self.backend, "pad_multiple", 1)), 1)
        lengths = [-(-len(p[2]) // multiple) * multiple for p in pending]  # the width the backend will pad to
        for batch in plan_batches(lengths, cfg.max_batch_tokens, cfg.max_batch_size):
            items = [pending[i] for i in batch]
            live = [it for it in items if not it[0].done and not it[0].future.cancelled()]
            if not live:
                continue
            start = time.perf_counter()
            try:
                vectors = self.backend.embed_ids([it[2] for it in live])
            except BaseException as e:  # noqa: BLE001 - a backend failure fails the requests, not the worker
                log.exception("backend failed on a batch of %d", len(live))
                self._fail(live, e)
                continue
            elapsed = time.perf_counter() - start
            for row, (job, index, _ids) in zip(vectors, live, strict=True):
                job.out[index] = row
                job.remaining -= 1
                if job.remaining == 0 and not job.done:
                    job.done = True
                    if job.future.set_running_or_notify_cancel():
                        job.future.set_result((job.out, job.n_tokens))
            if self.on_batch is not None:
                n_tok = sum(len(it[2]) for it in live)
                width = max(lengths[i] for i in batch)
                self.on_batch(BatchStats(len(live), n_tok, len(live) * width, elapsed))

    @staticmethod
    def _fail(items: list, error: BaseException) -> None:
        for job, _i, _ids in items:
            if not job.done:
                job.done = True
                if job.future.set_running_or_notify_cancel():
                    job.future.set_exception(error)
