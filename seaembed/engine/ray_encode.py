"""Bulk encoding with Ray Data (#16): `map_batches` over a pool of actors, each loading the model once.

Each actor calls a picklable loader once (`EngineLoader`: an `Engine` over a backend, which plans its batches by
token length, what `seaembed index` embeds with; `seaembed.models.encode.EncodeLoader`: sentence-transformers'
encode, what `seaembed encode` embeds with) on one intra-op thread; rows carry their position, and the vectors are
placed back by it, so the output has the same rows in the same order as the single-process path.

`ray_encoder` is a `seaembed.engine.shards.ShardEncoder`: `seaembed index --ray` and `seaembed encode --ray` write
the same shards as their in-process paths. It pulls shards in windows of about `window_rows` rows, runs one Ray
Data job a window (the window's texts go through Ray's object store; its vectors come back to the driver) and
yields each shard as soon as all its rows are back, so the driver holds one window, never the whole input. Each
window starts its actor pool anew (one model load per actor per window: with the default 65,536-row windows a
small cost next to the encoding).

`address` None joins RAY_ADDRESS when set, else starts a local Ray with a CPU per worker (at least the machine's
cores); "auto" or "ray://HOST:10001" joins a cluster (see docs/scaling.md for what was verified). On a cluster the
model path must exist on every worker.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from seaembed.engine.shards import Shard, ShardEncoder, TextEmbedder, iter_shards

WINDOW_ROWS = 65_536


@dataclass(frozen=True)
class RayOptions:
    """How `--ray` runs (`seaembed index`, `seaembed encode`): actors (None: one per CPU Ray reports), cluster
    address (None: RAY_ADDRESS, else a local Ray), rows per actor call, rows per Ray Data job."""

    workers: int | None = None
    address: str | None = None
    batch_size: int = 256
    window_rows: int = WINDOW_ROWS


def require_ray() -> None:
    """Raise a one-line `ConfigError` when Ray Data is not importable (it is an optional dependency)."""
    try:
        import ray  # noqa: F401
        import ray.data  # noqa: F401
    except ImportError as e:
        from seaembed.errors import ConfigError

        missing = getattr(e, "name", None) or "ray"
        raise ConfigError(f"--ray needs Ray Data, and '{missing}' is not installed: pip install 'ray[data]' "
                          "(or seaembed[ray])") from None


def init_ray(address: str | None = None, num_workers: int | None = None) -> bool:
    """Connect to Ray unless already connected: `address`, else RAY_ADDRESS, else a new local Ray with
    `max(num_workers, cores)` CPUs. Returns True when this call connected (the caller then shuts it down)."""
    import ray

    if ray.is_initialized():
        return False
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address:
        ray.init(address=address, log_to_driver=False)
    else:
        ray.init(num_cpus=max(num_workers or 0, os.cpu_count() or 1), include_dashboard=False, log_to_driver=False)
    return True


#: a picklable loader, called once in each actor with its intra-op thread count
EmbedderLoader = Callable[[int], TextEmbedder]


@dataclass(frozen=True)
class EngineLoader:
    """Loads an `Engine` over `backend` for `model` and embeds with `prompt` (what `seaembed index` uses)."""

    model: str
    backend: str = "onnx"
    prompt: str | None = "passage"

    def __call__(self, threads: int) -> TextEmbedder:
        from seaembed.engine.backends import create_backend
        from seaembed.engine.batching import Engine

        engine = Engine(create_backend(self.backend, self.model, threads=threads))
        prompt = self.prompt
        return lambda texts: engine.embed_sync(texts, prompt)[0]


class _EncodeActor:
    """One model per actor; `__call__` embeds a batch {"row", "text"} into {"row", "vector"}."""

    def __init__(self, load: EmbedderLoader, threads: int) -> None:
        self.embed = load(threads)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        texts = [str(t) for t in batch["text"]]
        vectors = np.asarray(self.embed(texts), dtype=np.float32)
        return {"row": np.asarray(batch["row"], dtype=np.int64), "vector": vectors}


def _windows(shards: Iterable[Shard], window_rows: int) -> Iterator[list[Shard]]:
    window: list[Shard] = []
    rows = 0
    for shard in shards:
        window.append(shard)
        rows += len(shard.texts)
        if rows >= window_rows:
            yield window
            window, rows = [], 0
    if window:
        yield window


def _encode_window(window: list[Shard], actor_kwargs: dict[str, Any], num_workers: int,
                   batch_size: int) -> Iterator[tuple[Shard, np.ndarray]]:
    """One Ray Data job over the window's rows; yields each shard once all its rows are back."""
    import pandas as pd
    import ray

    offsets = np.cumsum([0] + [len(s.texts) for s in window])
    texts = [t for s in window for t in s.texts]
    # several blocks per worker (a block goes to one actor), made in the driver: a read task would need a CPU
    # slot, and the actors (num_cpus=1 each) can hold them all
    n_blocks = max(1, min(len(texts), 4 * num_workers))
    bounds = np.linspace(0, len(texts), n_blocks + 1).astype(int)
    ds = ray.data.from_pandas([pd.DataFrame({"row": np.arange(a, b), "text": texts[a:b]})
                               for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a])
    del texts
    out = ds.map_batches(_EncodeActor, fn_constructor_kwargs=actor_kwargs, batch_size=batch_size,
                         batch_format="numpy", concurrency=num_workers, num_cpus=1)
    buffers: dict[int, np.ndarray] = {}
    filled = np.zeros(len(window), dtype=np.int64)
    for batch in out.iter_batches(batch_size=None, batch_format="numpy"):
        rows, vectors = np.asarray(batch["row"]), np.asarray(batch["vector"], dtype=np.float32)
        which = np.searchsorted(offsets, rows, side="right") - 1
        for i in np.unique(which):
            sel = which == i
            if i not in buffers:
                buffers[i] = np.empty((len(window[i].texts), vectors.shape[1]), dtype=np.float32)
            buffers[i][rows[sel] - offsets[i]] = vectors[sel]
            filled[i] += int(sel.sum())
            if filled[i] == len(window[i].texts):
                yield window[i], buffers.pop(i)


def ray_encoder(load: EmbedderLoader, *, num_workers: int | None = None, batch_size: int = 256, threads: int = 1,
                address: str | None = None, window_rows: int = WINDOW_ROWS) -> ShardEncoder:
    """A `ShardEncoder` running `num_workers` Ray actors (None: one per CPU Ray reports, over `threads`), each
    embedding with `load(threads)` (`EngineLoader`, `seaembed.models.encode.EncodeLoader`)."""
    require_ray()
    actor_kwargs = {"load": load, "threads": threads}

    def encode(shards: Iterable[Shard]) -> Iterator[tuple[Shard, np.ndarray]]:
        started, workers = False, 0
        try:
            for window in _windows(shards, window_rows):
                if not workers:  # only once there is work: a resumed, finished run needs no Ray
                    import ray

                    started = init_ray(address, num_workers)
                    ray.data.DataContext.get_current().enable_progress_bars = False
                    workers = num_workers or max(1, int(ray.cluster_resources().get("CPU", 1)) // threads)
                yield from _encode_window(window, actor_kwargs, workers, batch_size)
        finally:
            if started:
                import ray

                ray.shutdown()

    return encode


def encode_with_ray(model: str, texts: Sequence[str], *, backend: str = "onnx", prompt: str | None = "passage",
                    num_workers: int = 2, batch_size: int = 256, threads: int = 1,
                    address: str | None = None) -> np.ndarray:
    """Embeddings of `texts` (rows in input order) computed by `num_workers` Ray actors, in memory."""
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    encoder = ray_encoder(EngineLoader(str(model), backend, prompt), num_workers=num_workers, batch_size=batch_size,
                          threads=threads, address=address, window_rows=len(texts))
    ((_, vectors),) = encoder(iter_shards(texts, len(texts), {}))
    return vectors
