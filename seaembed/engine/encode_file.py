"""`seaembed encode`: the texts of a file into one `.npy` of embeddings, through resumable shards, in process or Ray.

The same path as `seaembed index` (`seaembed.engine.staging`): one pass validates the input into
`OUTPUT.partial/texts.jsonl`; the texts are embedded in shards of `chunk_size` rows (`OUTPUT.partial/shards/`, keyed
by a sha256 of the shard's texts and of the model's weights, the prompt and the dtype), with sentence-transformers'
`encode` (`seaembed.models.encode.EncodeLoader`) in process, or in Ray Data actors with `ray`. Either path writes
the same shards, so a rerun after an interruption (in either) encodes only the missing ones. The shards are then
copied one at a time into OUTPUT (atomically) and `OUTPUT.partial/` is removed. Memory: one shard (in process) or
one Ray window of texts and vectors, never the whole file.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seaembed.atomic import atomic_path, check_writable
from seaembed.engine import shards
from seaembed.engine.ray_encode import RayOptions
from seaembed.engine.shards import ShardStats
from seaembed.engine.staging import embed_to_shards, stage_texts, staging
from seaembed.errors import ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EncodeResult:
    """What `encode_file` wrote: rows, dimension, and the shards it encoded or kept from an earlier run."""

    path: Path
    rows: int
    dim: int
    stats: ShardStats


def encode_file(model: str, input: str | Path, output: str | Path, *, field: str | None = None,
                prompt: str | None = None, batch_size: int = 32, dtype: str = "float32", chunk_size: int = 1024,
                ray: RayOptions | None = None, show_progress: bool = True) -> EncodeResult:
    """Embed the texts of `input` (txt lines, or the column `field` of JSONL/CSV/TSV/Parquet) with `model` into
    the `.npy` at `output` (rows in input order, float32, unit length)."""
    from seaembed.data.io import iter_texts
    from seaembed.models.encode import EncodeLoader
    from seaembed.models.fingerprint import model_fingerprint

    output = Path(output)
    if output.suffix != ".npy":
        raise ConfigError(f"--output {output}: expected a .npy file name")
    check_writable(output)  # before the texts are staged beside it, the model loads and the texts are encoded
    work = output.with_name(output.name + ".partial")
    with staging(work):  # a bad input or model leaves no new work directory
        n = stage_texts(iter_texts(input, field=field), work)  # InputError naming file:line and field
        key = shards.model_key(model_fingerprint(str(model)), "torch", prompt, dtype=dtype)
    loader = EncodeLoader(str(model), prompt=prompt, batch_size=batch_size, dtype=dtype)
    if ray is None:
        encoder = shards.embedder_encoder(loader())
    else:
        from seaembed.engine.ray_encode import ray_encoder

        encoder = ray_encoder(loader, num_workers=ray.workers, address=ray.address, batch_size=ray.batch_size,
                              window_rows=ray.window_rows)
    store, stats = embed_to_shards(encoder, work, n, key, chunk_size=chunk_size, show_progress=show_progress,
                                   desc="encoding")
    with atomic_path(output) as tmp:
        if n:
            dim = int(store.assemble(tmp).shape[1])  # shard by shard into the file
        else:  # no texts: an empty (0, dim) array, as ever
            from seaembed.models.encode import embedding_dimension
            from seaembed.models.sources import load_model

            dim = embedding_dimension(load_model(str(model), dtype=dtype))
            with open(tmp, "wb") as f:
                np.save(f, np.zeros((0, dim), dtype=np.float32))
    shutil.rmtree(work, ignore_errors=True)
    return EncodeResult(output, n, dim, stats)


__all__ = ["EncodeResult", "encode_file"]
