"""The inference engine: dynamic batching on a token budget, with length bucketing, in one worker thread.

Callers submit lists of texts (`await engine.embed(texts, prompt="query")` from asyncio, or `embed_sync`); each
request becomes one job in a shared queue, and every text one sequence. The worker keeps a window of sequences from
the active requests (taken round-robin, up to `collect_factor` budgets of tokens), sorts it by length so similar
lengths share a batch (little padding), cuts batches whose padded size `batch_size * longest` stays within
`max_batch_tokens`, and runs them one at a time, the batch of the request nearest completion first, so small
requests do not wait behind big ones (see `_run`). Each request gets its rows back in order. Cancelled requests are
dropped between batches. Closing drains the queue first.

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
TOKENIZE_SLICE = 4  # texts per tokenizer call for large requests (see `Engine.embed`)


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
    __slots__ = ("future", "out", "ids", "next", "remaining", "n_tokens", "done")

    def __init__(self, ids: Sequence[Sequence[int]], dim: int) -> None:
        self.future: concurrent.futures.Future = concurrent.futures.Future()
        self.ids = ids
        self.out = np.empty((len(ids), dim), dtype=np.float32)
        self.next = 0  # the next sequence to move into the worker's window
        self.remaining = len(ids)
        self.n_tokens = sum(len(s) for s in ids)
        self.done = False

    @property
    def dead(self) -> bool:
        """Finished, failed or cancelled (its caller went away): nothing more to run for it."""
        return self.done or self.future.cancelled()


class RequestTooLarge(ValueError):
    """A request whose tokens exceed the per-request budget."""

    def __init__(self, n_tokens: int, limit: int) -> None:
        super().__init__(f"the request has {n_tokens} tokens; the limit is {limit} per request")
        self.n_tokens, self.limit = n_tokens, limit


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
    def submit_ids(self, ids: Sequence[Sequence[int]], max_tokens: int | None = None) -> concurrent.futures.Future:
        """Queue pre-tokenised sequences; the future gives `(embeddings (n, dim), n_tokens)`. Cancelling the future
        drops the request's sequences that have not run yet. Over `max_tokens` in all: `RequestTooLarge`."""
        job = _Job(ids, self.dim)
        if max_tokens is not None and job.n_tokens > max_tokens:
            raise RequestTooLarge(job.n_tokens, max_tokens)
        if not ids:
            job.future.set_result((job.out, 0))
            return job.future
        with self._lock:  # so no job lands behind the stop marker
            if self._closed:
                raise EngineClosed("the engine is shutting down")
            self._queue.put(job)
        return job.future

    def submit(self, texts: Sequence[str], prompt: str | None = None,
               max_tokens: int | None = None) -> concurrent.futures.Future:
        """Tokenise (with the prompt prefix) and queue `texts`."""
        return self.submit_ids(self.backend.tokenize(list(texts), prompt), max_tokens)

    async def embed(self, texts: Sequence[str], prompt: str | None = None,
                    max_tokens: int | None = None) -> tuple[np.ndarray, int]:
        """Embeddings of `texts` (rows in input order, L2-normalised) and the number of tokens used. Cancelling the
        awaiting task cancels the request: its sequences still queued are dropped."""
        texts = list(texts)
        lock = getattr(self.backend, "_tokenize_lock", None)
        busy = lock is not None and lock.locked()
        if sum(len(t) for t in texts) > 20_000 or busy:
            # Large requests tokenise in a thread, in slices (the backend serialises tokenizer calls, so one big call
            # would hold every other request's tokenisation, and a small request tokenising on the event loop
            # would block the loop: 100 x 7,900 characters held the tiny model's server ~1.6 s). A small request
            # that finds the tokenizer busy goes to a thread too. Cancellation takes effect between slices.
            ids: list = []
            for i in range(0, len(texts), TOKENIZE_SLICE):
                ids += await asyncio.to_thread(self.backend.tokenize, texts[i:i + TOKENIZE_SLICE], prompt)
        else:
            ids = self.backend.tokenize(texts, prompt)
        # wrap_future propagates cancellation of the asyncio future to the concurrent one
        return await asyncio.wrap_future(self.submit_ids(ids, max_tokens))

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
    # Fair scheduling: the worker keeps the active requests and a window of their sequences (at most
    # `collect_factor` budgets of tokens, filled round-robin across requests, and every request gets at least one
    # sequence in it). It plans batches over the window by length, but runs one batch at a time: the one holding a
    # sequence of the request closest to completion, so a 1-text request that arrives while a 2048-text one runs
    # waits for one forward pass, not for the big request. After each batch it takes new requests and drops
    # cancelled ones, so a request whose client left stops after its current batch.
    def _run(self) -> None:
        cfg = self.config
        collect_limit = cfg.max_batch_tokens * max(cfg.collect_factor, 1)
        active: list[_Job] = []
        window: list[tuple[_Job, int]] = []
        stopping = False
        while True:
            if not active and not stopping:  # idle: block for work, then let it wait `max_wait_ms` for company
                first = self._queue.get()
                if first is _STOP:
                    break
                active.append(first)
                tokens = first.n_tokens
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
                    active.append(item)
                    tokens += item.n_tokens
            while not stopping:  # take what arrived since the last batch
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stopping = True
                else:
                    active.append(item)
            if stopping and not getattr(self, "_drain", True):
                self._fail(active, EngineClosed("the engine shut down before this request ran"))
                break
            active = [j for j in active if not j.dead]
            window = [(j, i) for j, i in window if not j.dead]
            if not active:
                if stopping:
                    break
                continue
            self._fill(active, window, collect_limit)
            self._run_one_batch(window)
            active = [j for j in active if not j.dead]

    def _fill(self, active: list[_Job], window: list[tuple[_Job, int]], collect_limit: int) -> None:
        """Top the window up round-robin across requests; each request with sequences left gets at least one."""
        present = {id(j) for j, _ in window}
        tokens = sum(len(j.ids[i]) for j, i in window)
        for job in active:
            if id(job) not in present and job.next < len(job.ids):
                window.append((job, job.next))
                tokens += len(job.ids[job.next])
                job.next += 1
        progressed = True
        while tokens < collect_limit and progressed:
            progressed = False
            for job in active:
                if job.next < len(job.ids) and tokens < collect_limit:
                    window.append((job, job.next))
                    tokens += len(job.ids[job.next])
                    job.next += 1
                    progressed = True

    def _run_one_batch(self, window: list[tuple[_Job, int]]) -> None:
        cfg = self.config
        multiple = max(int(getattr(self.backend, "pad_multiple", 1)), 1)
        lengths = [-(-len(j.ids[i]) // multiple) * multiple for j, i in window]  # the width the backend pads to
        batches = plan_batches(lengths, cfg.max_batch_tokens, cfg.max_batch_size)
        batch = min(batches, key=lambda b: min(window[k][0].remaining for k in b))
        live = [window[k] for k in batch]
        taken = set(batch)
        window[:] = [w for k, w in enumerate(window) if k not in taken]
        start = time.perf_counter()
        try:
            vectors = self.backend.embed_ids([j.ids[i] for j, i in live])
        except BaseException as e:  # noqa: BLE001 - a backend failure fails the requests, not the worker
            log.exception("backend failed on a batch of %d", len(live))
            self._fail([j for j, _ in live], e)
            return
        elapsed = time.perf_counter() - start
        for row, (job, index) in zip(vectors, live, strict=True):
            job.out[index] = row
            job.remaining -= 1
            if job.remaining == 0 and not job.done:
                job.done = True
                if job.future.set_running_or_notify_cancel():
                    job.future.set_result((job.out, job.n_tokens))
        if self.on_batch is not None:
            n_tok = sum(len(j.ids[i]) for j, i in live)
            width = max(lengths[k] for k in batch)
            self.on_batch(BatchStats(len(live), n_tok, len(live) * width, elapsed))

    @staticmethod
    def _fail(jobs: list[_Job], error: BaseException) -> None:
        for job in jobs:
            if not job.done:
                job.done = True
                if job.future.set_running_or_notify_cancel():
                    job.future.set_exception(error)
