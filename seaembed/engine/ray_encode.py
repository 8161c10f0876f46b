"""Bulk encoding with Ray Data (#16 item 3): `map_batches` over a pool of actors, each loading the model once.

Each actor builds its own `Engine` (which plans its batches by token length, so a Ray batch is sorted by length
before the forward passes) on one intra-op thread; rows carry their position, and the vectors are placed back by
it, so the output has the same ids in the same order as the single-process path. `address` None starts (or joins)
a local Ray; "auto" or "ray://HOST:10001" joins a cluster (see docs/scaling.md for what was verified).

Not done yet: the sharded, resumable output and the `--ray` flag on `seaembed encode` / `seaembed index`; this
returns the vectors in memory.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class _EncodeActor:
    """One model per actor; `__call__` embeds a batch {"row", "text"} into {"row", "vector"}."""

    def __init__(self, model: str, backend: str, prompt: str | None, threads: int) -> None:
        from seaembed.engine.backends import create_backend
        from seaembed.engine.batching import Engine

        self.engine = Engine(create_backend(backend, model, threads=threads))
        self.prompt = prompt

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        texts = [str(t) for t in batch["text"]]
        vectors, _ = self.engine.embed_sync(texts, self.prompt)
        return {"row": np.asarray(batch["row"], dtype=np.int64), "vector": vectors.astype(np.float32)}


def encode_with_ray(model: str, texts: Sequence[str], *, backend: str = "onnx", prompt: str | None = "passage",
                    num_workers: int = 2, batch_size: int = 256, threads: int = 1,
                    address: str | None = None) -> np.ndarray:
    """Embeddings of `texts` (rows in input order) computed by `num_workers` Ray actors."""
    import ray

    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    import pandas as pd

    # several blocks per worker (one block would keep all but one actor idle), made in the driver: a read task
    # would need a CPU slot, and the actors (num_cpus=1 each) can hold them all
    blocks = max(1, min(len(texts), 4 * num_workers))
    bounds = np.linspace(0, len(texts), blocks + 1).astype(int)
    ds = ray.data.from_pandas([pd.DataFrame({"row": np.arange(a, b), "text": list(texts[a:b])})
                               for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a])
    out = ds.map_batches(_EncodeActor, fn_constructor_kwargs={"model": model, "backend": backend, "prompt": prompt,
                                                              "threads": threads},
                         batch_size=batch_size, batch_format="numpy", concurrency=num_workers, num_cpus=1)
    result: np.ndarray | None = None
    for batch in out.iter_batches(batch_size=None, batch_format="numpy"):
        if result is None:
            result = np.zeros((len(texts), batch["vector"].shape[1]), dtype=np.float32)
        result[batch["row"]] = batch["vector"]
    return result if result is not None else np.zeros((0, 0), dtype=np.float32)
