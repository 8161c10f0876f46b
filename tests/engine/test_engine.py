"""The batching engine: batch planning, equality with unbatched results, order, token budget, shutdown."""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np
import pytest

from seaembed.engine.backends.base import Backend
from seaembed.engine.batching import BatchingConfig, Engine, EngineClosed, plan_batches


class RecordingBackend(Backend):
    """Embeds a sequence as a deterministic function of its ids and records every batch it sees."""

    name = "fake"
    dim = 8

    def __init__(self, fail_on: int | None = None, delay: float = 0.0):
        from types import SimpleNamespace

        super().__init__(SimpleNamespace(pad_token_id=0), max_length=512, prompts={"query": "q: "})
        self.batches: list[list[int]] = []
        self.fail_on, self.delay = fail_on, delay

    def tokenize(self, texts, prompt=None):
        prefix = self.prompt_text(prompt)
        return [[1] + [ord(c) % 97 + 2 for c in prefix + t] + [1] for t in texts]

    def embed_ids(self, batch):
        import time

        if self.delay:
            time.sleep(self.delay)
        self.batches.append([len(s) for s in batch])
        if self.fail_on is not None and any(len(s) == self.fail_on for s in batch):
            raise RuntimeError("boom")
        out = np.zeros((len(batch), self.dim), dtype=np.float32)
        for i, s in enumerate(batch):
            out[i, 0], out[i, 1], out[i, 2] = len(s), sum(s), s[1] if len(s) > 1 else 0
        return out


def test_plan_batches_respects_budget_and_covers_every_index():
    lengths = [5, 40, 3, 17, 17, 90, 8, 2, 64]
    batches = plan_batches(lengths, max_batch_tokens=64, max_batch_size=3)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for b in batches:
        longest = max(lengths[i] for i in b)
        assert len(b) <= 3
        assert len(b) * longest <= 64 or len(b) == 1
        assert [lengths[i] for i in b] == sorted(lengths[i] for i in b)  # bucketed by length


def test_batched_results_equal_unbatched_and_keep_order(onnx_backend):
    texts = [f"sepatu lari {'ringan ' * (i % 7)}{i}" for i in range(40)]
    engine = Engine(onnx_backend, BatchingConfig(max_batch_tokens=256, max_wait_ms=1))
    try:
        got, n_tokens = engine.embed_sync(texts, "query")
    finally:
        engine.close()
    ids = onnx_backend.tokenize(texts, "query")
    single = np.concatenate([onnx_backend.embed_ids([s]) for s in ids])
    assert got.shape == (40, onnx_backend.dim)
    np.testing.assert_allclose(got, single, atol=1e-5)
    assert n_tokens == sum(len(s) for s in ids)


def test_token_budget_is_respected_and_concurrent_requests_share_batches():
    backend = RecordingBackend(delay=0.01)
    engine = Engine(backend, BatchingConfig(max_batch_tokens=60, max_batch_size=64, max_wait_ms=20))
    texts = [["a" * n for n in range(1, 12)], ["b" * 20, "c"], ["d" * 5] * 6]

    async def run():
        return await asyncio.gather(*[engine.embed(t) for t in texts])

    try:
        results = asyncio.run(run())
    finally:
        engine.close()
    for t, (vecs, n_tok) in zip(texts, results, strict=True):
        assert [int(v) for v in vecs[:, 0]] == [len(s) + 2 for s in t]  # row i is text i
        assert n_tok == sum(len(s) + 2 for s in t)
    for lens in backend.batches:
        assert len(lens) * max(lens) <= 60 or len(lens) == 1
    assert len(backend.batches) < sum(len(t) for t in texts)  # sequences were actually batched together


def test_prompt_is_applied():
    backend = RecordingBackend()
    engine = Engine(backend)
    try:
        with_prompt, _ = engine.embed_sync(["x"], "query")
        without, _ = engine.embed_sync(["x"], None)
    finally:
        engine.close()
    assert with_prompt[0, 0] == without[0, 0] + len("q: ")


def test_backend_error_fails_only_its_request():
    backend = RecordingBackend(fail_on=2 + 3)
    engine = Engine(backend, BatchingConfig(max_batch_tokens=5, max_wait_ms=0))
    try:
        with pytest.raises(RuntimeError, match="boom"):
            engine.embed_sync(["abc"])
        vecs, _ = engine.embed_sync(["abcd"])  # the worker survived
        assert vecs[0, 0] == 6
    finally:
        engine.close()


def test_close_drains_queued_work_then_refuses_new_work():
    backend = RecordingBackend(delay=0.02)
    engine = Engine(backend, BatchingConfig(max_batch_tokens=8, max_wait_ms=0))
    futures = [engine.submit([f"text {i}"]) for i in range(10)]
    closer = threading.Thread(target=engine.close)
    closer.start()
    closer.join(10)
    assert all(f.done() and f.exception() is None for f in futures)
    with pytest.raises(EngineClosed):
        engine.submit(["late"])


def test_empty_request_returns_empty_array():
    engine = Engine(RecordingBackend())
    try:
        vecs, n = engine.embed_sync([])
    finally:
        engine.close()
    assert vecs.shape == (0, 8) and n == 0


def test_small_request_after_a_big_one_finishes_first(onnx_backend):
    """Fair scheduling (#15 item 6): with the tiny model, a 1-text request submitted after a 1000-text request
    finishes before it, long before the big one is done, and both get the right rows."""
    ran: list[int] = []
    engine = Engine(onnx_backend, BatchingConfig(max_batch_tokens=256, max_wait_ms=0),
                    on_batch=lambda s: ran.append(s.size))
    big_texts = [f"sepatu lari ringan nomor {i} " * 3 for i in range(1000)]
    finished: list[str] = []
    ran_when_small_done: list[int] = []
    try:
        big = engine.submit(big_texts, "query")
        big.add_done_callback(lambda _f: finished.append("big"))
        small = engine.submit(["tas ransel"], "query")
        small.add_done_callback(lambda _f: (finished.append("small"), ran_when_small_done.append(sum(ran))))
        small_vec, _ = small.result(60)
        big_vecs, _ = big.result(120)
    finally:
        engine.close()
    assert finished == ["small", "big"]
    assert ran_when_small_done[0] < 200  # sequences run before the small one was done: not most of the big one
    ref = onnx_backend.embed_ids(onnx_backend.tokenize(["tas ransel"], "query"))
    np.testing.assert_allclose(small_vec, ref, atol=1e-5)
    ids = onnx_backend.tokenize(big_texts[:3], "query")
    np.testing.assert_allclose(big_vecs[:3], onnx_backend.embed_ids(ids), atol=1e-5)


def test_cancelled_request_stops_after_its_current_batch():
    backend = RecordingBackend(delay=0.02)
    engine = Engine(backend, BatchingConfig(max_batch_tokens=20, max_batch_size=4, max_wait_ms=0))
    try:
        fut = engine.submit(["abc"] * 400)  # 5 tokens each: 4 per batch, 100 batches of 20 ms
        import time

        time.sleep(0.15)
        assert fut.cancel()
        ran_at_cancel = len(backend.batches)
        vecs, _ = engine.embed_sync(["z"], timeout=10)  # the worker moved on
        assert vecs[0, 0] == 3
    finally:
        engine.close()
    assert len(backend.batches) <= ran_at_cancel + 2  # at most the batch in flight, then the new request
    assert sum(len(b) for b in backend.batches) < 100


def test_cancelling_the_awaiting_task_cancels_the_request():
    backend = RecordingBackend(delay=0.02)
    engine = Engine(backend, BatchingConfig(max_batch_tokens=20, max_batch_size=4, max_wait_ms=0))

    async def run():
        task = asyncio.ensure_future(engine.embed(["abc"] * 400))
        await asyncio.sleep(0.15)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.1)

    try:
        asyncio.run(run())
        n = len(backend.batches)
        import time

        time.sleep(0.2)
        assert len(backend.batches) == n  # nothing more ran for it
    finally:
        engine.close()
    assert sum(len(b) for b in backend.batches) < 100


def test_token_budget_per_request():
    from seaembed.engine.batching import RequestTooLarge

    engine = Engine(RecordingBackend())
    try:
        with pytest.raises(RequestTooLarge, match="12 tokens; the limit is 11"):
            engine.submit(["abcd", "efgh"], max_tokens=11)  # 2 x (4 + 2 special) tokens
        vecs, n = engine.submit(["abcd", "efgh"], max_tokens=12).result(10)
    finally:
        engine.close()
    assert n == 12 and vecs.shape == (2, 8)


def test_a_big_tokenisation_does_not_block_the_event_loop(onnx_backend):
    """100 x 7,900 characters take the tokenizer ~1 s; a 1-text request arriving meanwhile used to tokenise on the
    event loop and wait there for the backend's tokenizer lock, freezing every other request. Now big requests
    tokenise in slices off the loop and a small one that finds the tokenizer busy goes to a thread."""
    import asyncio

    from seaembed.engine.batching import Engine

    engine = Engine(onnx_backend)
    big = [("sepatu lari pria ringan sol karet " * 250)[:7900] for _ in range(100)]

    async def scenario() -> tuple[float, float]:
        gaps, stop = [], asyncio.Event()

        async def ticker() -> None:
            last = time.perf_counter()
            while not stop.is_set():
                await asyncio.sleep(0.005)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        tick = asyncio.create_task(ticker())
        big_task = asyncio.create_task(engine.embed(big, "query"))
        await asyncio.sleep(0.05)
        start = time.perf_counter()
        await engine.embed(["kaos"], "query")
        small = time.perf_counter() - start
        await big_task
        stop.set()
        await tick
        return max(gaps), small

    try:
        worst_gap, small = asyncio.run(scenario())
    finally:
        engine.close()
    assert worst_gap < 0.25, f"the event loop stalled {worst_gap:.2f} s"
    assert small < 0.5, f"the 1-text request took {small:.2f} s"
