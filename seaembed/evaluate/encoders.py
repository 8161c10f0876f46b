"""Encoders for evaluation: a small protocol, a sentence-transformers wrapper, and an on-disk embedding cache.

The cache is keyed by (model fingerprint, prompt text, text) and lives in one SQLite file per model under
`$SEAEMBED_HOME/cache/embeddings/`. SQLite gives atomic, concurrent-safe writes (each batch is one transaction)
without our own file-locking code; re-evaluating a model only encodes texts it has not seen.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np


def seaembed_home() -> Path:
    """`$SEAEMBED_HOME`, else `~/.cache/seaembed`."""
    return Path(os.environ.get("SEAEMBED_HOME") or Path.home() / ".cache" / "seaembed")


@runtime_checkable
class Encoder(Protocol):
    """Anything that turns texts into L2-normalised float32 rows. `prompt` is a prompt name (`query`, `passage`)."""

    name: str
    fingerprint: str

    def encode(self, texts: Sequence[str], prompt: str | None = None) -> np.ndarray: ...


def fingerprint_of(model: Any) -> str:
    """The fingerprint of a loaded model's current weights (`seaembed.models.model_fingerprint`)."""
    from seaembed.models import model_fingerprint

    return model_fingerprint(model)


class SentenceTransformerEncoder:
    """Wrap a loaded `SentenceTransformer`; prompt names the model does not define are encoded without a prompt."""

    def __init__(self, model: Any, *, name: str | None = None, batch_size: int = 32, show_progress: bool = False):
        self.model = model
        self.name = name or "model"
        self.batch_size = batch_size
        self.show_progress = show_progress
        self._fingerprint: str | None = None

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = fingerprint_of(self.model)
        return self._fingerprint

    def prompt_name(self, prompt: str | None) -> str | None:
        """`prompt` if the model defines it, else None."""
        return prompt if prompt and prompt in (getattr(self.model, "prompts", None) or {}) else None

    def prompt_text(self, prompt: str | None) -> str:
        """The literal prefix the prompt name stands for ('' for none): part of the cache key."""
        name = self.prompt_name(prompt)
        return self.model.prompts[name] if name else ""

    def encode(self, texts: Sequence[str], prompt: str | None = None) -> np.ndarray:
        texts = list(texts)
        if not texts:
            dim_of = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
            return np.zeros((0, dim_of()), dtype=np.float32)
        name = self.prompt_name(prompt)
        from seaembed.models.encode import encode

        return encode(self.model, texts, prompt=name, batch_size=self.batch_size, show_progress=self.show_progress)


class EmbeddingCache:
    """Embeddings on disk, one SQLite file per model fingerprint; keys hash the prompt text and the text."""

    def __init__(self, fingerprint: str, root: str | Path | None = None):
        root = Path(root) if root is not None else seaembed_home() / "cache" / "embeddings"
        root.mkdir(parents=True, exist_ok=True)
        self.path = root / f"{fingerprint}.sqlite"
        self._db = sqlite3.connect(self.path, timeout=60)
        self._db.execute("CREATE TABLE IF NOT EXISTS emb (key BLOB PRIMARY KEY, vec BLOB NOT NULL)")
        self._db.commit()

    @staticmethod
    def key(prompt_text: str, text: str) -> bytes:
        return hashlib.sha256(prompt_text.encode() + b"\x00" + text.encode()).digest()

    def get_many(self, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        found: dict[bytes, np.ndarray] = {}
        for start in range(0, len(keys), 500):
            chunk = list(keys[start:start + 500])
            marks = ",".join("?" * len(chunk))
            for key, vec in self._db.execute(f"SELECT key, vec FROM emb WHERE key IN ({marks})", chunk):
                found[bytes(key)] = np.frombuffer(vec, dtype=np.float32)
        return found

    def put_many(self, items: Sequence[tuple[bytes, np.ndarray]]) -> None:
        with self._db:  # one transaction: all rows or none
            self._db.executemany("INSERT OR REPLACE INTO emb VALUES (?, ?)",
                                 [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in items])

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM emb").fetchone()[0]

    def close(self) -> None:
        self._db.close()


class CachedEncoder:
    """An encoder that looks texts up in an `EmbeddingCache` first and encodes only the misses (deduplicated)."""

    def __init__(self, inner: SentenceTransformerEncoder, cache: EmbeddingCache | None = None, *, chunk: int = 2048):
        self.inner = inner
        self.chunk = chunk
        self.name = inner.name
        self.fingerprint = inner.fingerprint
        self.cache = cache if cache is not None else EmbeddingCache(self.fingerprint)
        self.hits = 0
        self.misses = 0

    def encode(self, texts: Sequence[str], prompt: str | None = None) -> np.ndarray:
        texts = list(texts)
        prompt_text = self.inner.prompt_text(prompt)
        keys = [EmbeddingCache.key(prompt_text, t) for t in texts]
        found = self.cache.get_many(list(dict.fromkeys(keys)))
        todo: dict[bytes, str] = {}
        for k, t in zip(keys, texts, strict=True):
            if k not in found and k not in todo:
                todo[k] = t
        self.hits += len(texts) - sum(1 for k in keys if k in todo)
        self.misses += len(todo)
        items = list(todo.items())
        for start in range(0, len(items), self.chunk):  # stored chunk by chunk: an interrupted run resumes
            part = items[start:start + self.chunk]
            vecs = self.inner.encode([t for _, t in part], prompt)
            new = [(k, v) for (k, _), v in zip(part, vecs, strict=True)]
            self.cache.put_many(new)
            found.update(new)
        if not texts:
            return self.inner.encode([], prompt)
        return np.stack([found[k] for k in keys]).astype(np.float32, copy=False)


def load_encoder(source: Any, *, batch_size: int = 32, show_progress: bool = False, cache: bool = True,
                 name: str | None = None) -> Encoder:
    """An `Encoder` from a model source string, a loaded SentenceTransformer, or an Encoder (returned as is)."""
    if isinstance(source, Encoder) and not hasattr(source, "state_dict"):
        return source
    if isinstance(source, str | Path):
        name = name or str(source)
        model = _load_model(str(source))
    else:
        model = source
    enc = SentenceTransformerEncoder(model, name=name, batch_size=batch_size, show_progress=show_progress)
    return CachedEncoder(enc) if cache else enc


def _load_model(source: str) -> Any:
    """Resolve a model source (local dir, hub id, packaged:...) with `seaembed.models.load_model`."""
    from seaembed.models import load_model

    return load_model(source)
