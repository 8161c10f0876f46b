"""Sharded, resumable embedding output for large catalogs (#16): one `.npy` per `shard_rows` rows plus a manifest.

A shard's key is a sha256 of the model key (the model's weight fingerprint, backend family and prompt) and of the
shard's own texts, and its file is named by that key (`shard_000012-<key[:20]>.npy`, written atomically). So a
rerun skips exactly the shards whose texts and model are unchanged, wherever the catalog or model lives, whatever
stopped the previous run, and whichever encoder (in-process or Ray) wrote them; a changed text re-encodes its shard
only, a changed model every shard. `manifest.json` lists each finished shard's index, row range, key and file; it
is rewritten as shards land (at most once a second, and when encoding stops), for readers: resuming needs only the
file names.

    store = ShardStore(work / "shards")
    encode_to_shards(iter_shards(texts, 1024, model_key), store, engine_encoder(engine))
    vectors = store.assemble(out / "embeddings.npy")   # memory-mapped, copied shard by shard

Only one shard's texts and vectors are held at a time by the in-process encoders (`embedder_encoder`,
`engine_encoder`); the Ray encoder (`seaembed.engine.ray_encode.ray_encoder`) holds one window of shards.
`seaembed.engine.staging` puts the pieces together for a stream of texts (`seaembed index`, `seaembed encode`).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from seaembed.atomic import atomic_path, write_json

MANIFEST = "manifest.json"
VERSION = 1
KEY_CHARS = 20  # of the sha256 in a shard's file name: enough that two contents never share a name


@dataclass(frozen=True)
class Shard:
    """Rows `start .. start + len(texts)` of the catalog, shard number `index`, with its content key."""

    index: int
    start: int
    texts: list[str] = field(repr=False)
    key: str

    @property
    def stop(self) -> int:
        return self.start + len(self.texts)

    @property
    def file(self) -> str:
        return f"shard_{self.index:06d}-{self.key[:KEY_CHARS]}.npy"


#: takes the shards to encode (lazily: pull one when ready for it), yields each with its vectors, in any order
ShardEncoder = Callable[[Iterable[Shard]], Iterator[tuple[Shard, np.ndarray]]]
#: texts -> their (n, dim) float32 vectors, rows in input order
TextEmbedder = Callable[[list[str]], np.ndarray]


def model_key(model_weights: str, backend: str, prompt: str | None, *, dtype: str | None = None) -> dict[str, Any]:
    """What, besides the texts, decides the vectors: the weights' fingerprint, the backend family (`torch`,
    `onnx`, ...: an export's format is in its weights' fingerprint), the prompt and a compute dtype other than
    float32 (left out for float32, so keys written before it was recorded stay valid)."""
    key = {"version": VERSION, "model_weights": model_weights, "backend": backend.split("-")[0], "prompt": prompt}
    if dtype not in (None, "float32", "fp32"):
        key["dtype"] = dtype
    return key


def shard_key(texts: Sequence[str], key: Mapping[str, Any]) -> str:
    """sha256 of the model key and the exact texts (each length-prefixed, so no two lists of texts collide)."""
    h = hashlib.sha256(json.dumps(dict(key), sort_keys=True).encode("utf-8"))
    for t in texts:
        b = t.encode("utf-8", "surrogatepass")
        h.update(len(b).to_bytes(8, "little") + b)
    return h.hexdigest()


def iter_shards(texts: Iterable[str], shard_rows: int, key: Mapping[str, Any]) -> Iterator[Shard]:
    """Cut a stream of texts into consecutive shards of `shard_rows` (the last may be shorter)."""
    if shard_rows < 1:
        raise ValueError("shard_rows must be >= 1")
    part: list[str] = []
    index = start = 0
    for t in texts:
        part.append(t)
        if len(part) == shard_rows:
            yield Shard(index, start, part, shard_key(part, key))
            index, start, part = index + 1, start + len(part), []
    if part:
        yield Shard(index, start, part, shard_key(part, key))


@dataclass
class ShardStats:
    """What `encode_to_shards` did."""

    encoded: int = 0  # shards encoded in this run
    skipped: int = 0  # shards a previous run had finished
    rows_encoded: int = 0

    @property
    def shards(self) -> int:
        return self.encoded + self.skipped


class ShardStore:
    """A directory of embedding shards and their manifest."""

    def __init__(self, root: str | Path, *, manifest_every_s: float = 1.0) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.entries: dict[int, dict[str, Any]] = {}
        self.dim: int | None = None
        self.manifest_every_s = manifest_every_s
        self._last_manifest = 0.0

    def has(self, shard: Shard) -> bool:
        """True when a previous run wrote this shard (same index, same content key); records it in the manifest
        (which lists the shards this run found or wrote, nothing from an older manifest)."""
        if not (self.root / shard.file).is_file():
            return False
        if self.dim is None:
            self.dim = int(np.load(self.root / shard.file, mmap_mode="r").shape[1])
        self.entries[shard.index] = self._entry(shard)
        return True

    def write(self, shard: Shard, vectors: np.ndarray) -> None:
        """Write one shard atomically (then drop that index's files of other contents)."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != len(shard.texts):
            raise ValueError(f"shard {shard.index}: {len(shard.texts)} texts but vectors of shape {vectors.shape}")
        if self.dim is not None and vectors.shape[1] != self.dim:
            raise ValueError(f"shard {shard.index}: dim {vectors.shape[1]}, the other shards have {self.dim}")
        with atomic_path(self.root / shard.file) as tmp, open(tmp, "wb") as f:
            np.save(f, vectors)
        self.dim = int(vectors.shape[1])
        for stale in self.root.glob(f"shard_{shard.index:06d}-*.npy"):
            if stale.name != shard.file:
                stale.unlink()
        self.entries[shard.index] = self._entry(shard)
        if time.monotonic() - self._last_manifest >= self.manifest_every_s:
            self.write_manifest()

    @staticmethod
    def _entry(shard: Shard) -> dict[str, Any]:
        return {"index": shard.index, "start": shard.start, "stop": shard.stop, "key": shard.key, "file": shard.file}

    def write_manifest(self, *, complete: bool = False, key: Mapping[str, Any] | None = None) -> None:
        """manifest.json: version, dim, the finished shards in order and (`complete`) the total row count."""
        shards = [self.entries[i] for i in sorted(self.entries)]
        doc: dict[str, Any] = {"version": VERSION, "dim": self.dim, "complete": complete, "shards": shards}
        if key is not None:
            doc["model"] = dict(key)
        if complete:
            doc["rows"] = shards[-1]["stop"] if shards else 0
        write_json(self.root / MANIFEST, doc)
        self._last_manifest = time.monotonic()

    def finish(self, n_shards: int, key: Mapping[str, Any] | None = None) -> None:
        """After every shard `0 .. n_shards - 1` is in: drop shards beyond them (the catalog shrank) and files of
        other contents, and write the complete manifest."""
        missing = [i for i in range(n_shards) if i not in self.entries]
        if missing:
            raise RuntimeError(f"{self.root}: shards {missing[:5]} were never written")
        self.entries = {i: e for i, e in self.entries.items() if i < n_shards}
        keep = {e["file"] for e in self.entries.values()}
        for path in self.root.glob("shard_*.npy"):
            if path.name not in keep:
                path.unlink()
        self.write_manifest(complete=True, key=key)

    @property
    def rows(self) -> int:
        return max((e["stop"] for e in self.entries.values()), default=0)

    def iter_vectors(self) -> Iterator[np.ndarray]:
        """Each shard's vectors in row order (memory-mapped)."""
        for i in sorted(self.entries):
            yield np.load(self.root / self.entries[i]["file"], mmap_mode="r")

    def assemble(self, path: str | Path) -> np.ndarray:
        """All shards, in order, copied one at a time into the `.npy` at `path`; returns it memory-mapped."""
        if self.dim is None:
            raise RuntimeError(f"{self.root}: no shards")
        out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(self.rows, self.dim))
        for i in sorted(self.entries):
            e = self.entries[i]
            out[e["start"]:e["stop"]] = np.load(self.root / e["file"], mmap_mode="r")
        out.flush()
        return np.load(path, mmap_mode="r")


def embedder_encoder(embed: TextEmbedder) -> ShardEncoder:
    """The in-process encoder: each shard's texts through `embed`, one shard at a time."""

    def encode(shards: Iterable[Shard]) -> Iterator[tuple[Shard, np.ndarray]]:
        for shard in shards:
            yield shard, embed(shard.texts)

    return encode


def engine_encoder(engine: Any, prompt: str | None = "passage") -> ShardEncoder:
    """`embedder_encoder` over `engine.embed_sync` (a `seaembed.engine.batching.Engine`)."""
    return embedder_encoder(lambda texts: engine.embed_sync(texts, prompt)[0])


def encode_to_shards(shards: Iterable[Shard], store: ShardStore, encoder: ShardEncoder, *,
                     key: Mapping[str, Any] | None = None,
                     on_rows: Callable[[int], None] | None = None) -> ShardStats:
    """Encode the shards `store` does not have yet with `encoder` and write each as it comes back; then prune and
    write the complete manifest. `on_rows(n)` is called as rows are skipped or encoded (a progress bar)."""
    stats = ShardStats()
    n_shards = 0

    def todo() -> Iterator[Shard]:
        nonlocal n_shards
        for shard in shards:
            n_shards = shard.index + 1
            if store.has(shard):
                stats.skipped += 1
                if on_rows:
                    on_rows(len(shard.texts))
                continue
            yield shard

    try:
        for shard, vectors in encoder(todo()):
            store.write(shard, vectors)
            stats.encoded += 1
            stats.rows_encoded += len(shard.texts)
            if on_rows:
                on_rows(len(shard.texts))
    finally:
        store.write_manifest(key=key)
    store.finish(n_shards, key)
    return stats
