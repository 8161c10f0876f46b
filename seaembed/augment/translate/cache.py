"""A disk cache of translations (sqlite), keyed by backend + src + tgt + text, so a rerun asks the backend nothing.

sqlite (standard library) gives atomic, concurrent-safe writes for free; each finished batch is committed, so an
interrupted run keeps what it already paid for.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from seaembed.augment.translate.base import Translator


class TranslationCache:
    """`get_many` / `put_many` over a sqlite file."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path))
        self._db.execute("CREATE TABLE IF NOT EXISTS translations (key TEXT PRIMARY KEY, backend TEXT, src TEXT, "
                         "tgt TEXT, text TEXT, translation TEXT)")
        self._db.commit()

    @staticmethod
    def key(backend: str, src: str, tgt: str, text: str) -> str:
        return hashlib.sha256(f"{backend}\0{src}\0{tgt}\0{text}".encode()).hexdigest()

    def get_many(self, backend: str, src: str, tgt: str, texts: Sequence[str]) -> dict[str, str]:
        """The cached translations of `texts` (those present), by text."""
        keys = {self.key(backend, src, tgt, t): t for t in texts}
        found: dict[str, str] = {}
        items = list(keys)
        for i in range(0, len(items), 500):
            chunk = items[i:i + 500]
            marks = ",".join("?" * len(chunk))
            for k, translation in self._db.execute(
                    f"SELECT key, translation FROM translations WHERE key IN ({marks})", chunk):
                found[keys[k]] = translation
        return found

    def put_many(self, backend: str, src: str, tgt: str, pairs: Sequence[tuple[str, str]]) -> None:
        self._db.executemany("INSERT OR REPLACE INTO translations VALUES (?, ?, ?, ?, ?, ?)",
                             [(self.key(backend, src, tgt, t), backend, src, tgt, t, tr) for t, tr in pairs])
        self._db.commit()

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM translations").fetchone()[0]

    def close(self) -> None:
        self._db.close()


class CachedTranslator:
    """Wraps a `Translator`: texts already in the cache never reach the backend; new ones are sent in batches of
    `batch_size` and stored as each batch returns."""

    def __init__(self, backend: Translator, cache: TranslationCache, *, batch_size: int = 64):
        self.backend = backend
        self.cache = cache
        self.batch_size = batch_size
        self.name = backend.name
        self.hits = 0
        self.misses = 0

    def supports(self, src: str, tgt: str) -> bool:
        return self.backend.supports(src, tgt)

    def translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        found = self.cache.get_many(self.name, src, tgt, texts)
        todo = [t for t in dict.fromkeys(texts) if t not in found]
        self.hits += len(texts) - sum(1 for t in texts if t in todo)
        self.misses += len(todo)
        for i in range(0, len(todo), self.batch_size):
            batch = todo[i:i + self.batch_size]
            out = self.backend.translate(batch, src, tgt)
            if len(out) != len(batch):
                raise RuntimeError(f"translator {self.name} returned {len(out)} texts for {len(batch)}")
            self.cache.put_many(self.name, src, tgt, list(zip(batch, out, strict=True)))
            found.update(zip(batch, out, strict=True))
        return [found[t] for t in texts]
