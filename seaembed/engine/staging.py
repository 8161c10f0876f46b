"""A work directory for embedding a stream of texts into resumable shards (`seaembed index`, `seaembed encode`).

One pass writes the texts to `WORK/texts.jsonl` (one JSON string a line, atomically; the caller's reader validates
every row first), then `embed_to_shards` embeds them shard by shard into `WORK/shards/` (`seaembed.engine.shards`)
with any `ShardEncoder` (in process or Ray), skipping the shards a previous run finished. So the texts are read and
checked once, a rerun after an interruption encodes only what is missing, and only one shard (in process) or one
window (Ray) of texts and vectors is held at a time.

    with staging(work):
        n = stage_texts(iter_texts(path), work)
    store, stats = embed_to_shards(encoder, work, n, key, chunk_size=1024)
    store.assemble(out)   # one .npy, copied shard by shard
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

from seaembed.atomic import atomic_path
from seaembed.engine import shards
from seaembed.engine.shards import ShardEncoder, ShardStats, ShardStore

log = logging.getLogger(__name__)
TEXTS, SHARDS = "texts.jsonl", "shards"


@contextlib.contextmanager
def staging(work: Path) -> Iterator[Path]:
    """Create `work` if needed; when the body fails, remove it again if this call created it (a bad input leaves
    no new work directory, and an old one, with its finished shards, is kept)."""
    created = not work.exists()
    work.mkdir(parents=True, exist_ok=True)
    try:
        yield work
    except BaseException:
        if created:
            shutil.rmtree(work, ignore_errors=True)
        raise


def write_text_line(f: TextIO, text: str) -> None:
    """One staged text (a JSON string; ASCII escapes, so a lone surrogate survives the trip)."""
    f.write(json.dumps(text) + "\n")


def stage_texts(texts: Iterable[str], work: Path) -> int:
    """Write `texts` to `work/texts.jsonl` atomically; returns how many."""
    n = 0
    with atomic_path(work / TEXTS) as tmp, open(tmp, "w", encoding="utf-8") as f:
        for text in texts:
            write_text_line(f, text)
            n += 1
    return n


def read_texts(work: Path) -> Iterator[str]:
    """The staged texts, streamed."""
    with open(work / TEXTS, encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)


def embed_to_shards(encoder: ShardEncoder, work: Path, n: int, key: Mapping[str, Any], *, chunk_size: int = 1024,
                    show_progress: bool = True, desc: str = "embedding") -> tuple[ShardStore, ShardStats]:
    """Embed the staged texts into `work/shards/` with `encoder`, skipping shards a previous run finished;
    returns the complete store and what was encoded or kept."""
    from seaembed.progress import tqdm

    store = ShardStore(work / SHARDS)
    with tqdm(total=n, desc=desc, unit="text", disable=not show_progress) as bar:
        stats = shards.encode_to_shards(shards.iter_shards(read_texts(work), chunk_size, key), store, encoder,
                                        key=key, on_rows=bar.update)
    log.info("%s: %d shards encoded (%d rows), %d kept from an earlier run", work, stats.encoded,
             stats.rows_encoded, stats.skipped)
    return store, stats


__all__ = ["SHARDS", "TEXTS", "embed_to_shards", "read_texts", "stage_texts", "staging", "write_text_line"]
