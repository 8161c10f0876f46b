"""The guide model: a sentence-transformers model used to judge and mine (consistency filter, hard negatives,
self-validation). Loaded through `seaembed.models` (local dir, hub id or `packaged:multilingual-e5-small`)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Literal

import numpy as np


@lru_cache(maxsize=2)
def load_guide(source: str, *, dtype: str = "float32", max_seq_length: int | None = 128) -> Any:
    """Load (once per process) the guide model named by `source`.

    A guide only ranks and judges, so it reads at most `max_seq_length` tokens (titles and queries are short; long
    reviews are cut) and may run in bfloat16 (~2x faster on CPUs with bf16 support, cosine >= 0.998 to fp32)."""
    from seaembed.models import load_model  # the shared loader (local dir, hub id, packaged:...)

    model = load_model(source, device="cpu", dtype=dtype)
    if max_seq_length is not None and (model.max_seq_length or 0) > max_seq_length:
        model.max_seq_length = max_seq_length
    return model


def encode(model: Any, texts: Sequence[str], *, prompt: Literal["query", "passage"] | None = None,
           batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
    """L2-normalised float32 embeddings (n, d) of `texts`, with the model's `query`/`passage` prompt if it has one."""
    if not texts:
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        dim = get_dim() or 0
        return np.zeros((0, dim), dtype=np.float32)
    from sentence_transformers import SentenceTransformer

    from seaembed.models.encode import encode as shared_encode

    if isinstance(model, SentenceTransformer):
        return np.asarray(shared_encode(model, list(texts), prompt=prompt, batch_size=batch_size,
                                        show_progress=show_progress), dtype=np.float32)
    # any object with a sentence-transformers-like `encode` (e.g. a test double) works too
    prompt_name = prompt if prompt and prompt in (getattr(model, "prompts", None) or {}) else None
    emb = model.encode(list(texts), prompt_name=prompt_name, batch_size=batch_size, normalize_embeddings=True,
                       convert_to_numpy=True, show_progress_bar=show_progress)
    return np.asarray(emb, dtype=np.float32)


# In-process memo: the stages of one build encode many of the same texts (titles, queries) with the same model.
_MEMO: dict[tuple[int, str | None], dict[str, np.ndarray]] = {}
_MEMO_LIMIT = 500_000


def unique_encode(model: Any, texts: Sequence[str], *, prompt: Literal["query", "passage"] | None = None,
                  batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
    """`encode`, computing each distinct text once per process (and model, and prompt)."""
    if not len(texts):
        return encode(model, [], prompt=prompt)
    memo = _MEMO.setdefault((id(model), prompt), {})
    have = {t: memo[t] for t in dict.fromkeys(texts) if t in memo}
    todo = [t for t in dict.fromkeys(texts) if t not in have]
    if todo:
        new = dict(zip(todo, encode(model, todo, prompt=prompt, batch_size=batch_size, show_progress=show_progress),
                       strict=True))
        if sum(len(m) for m in _MEMO.values()) + len(new) > _MEMO_LIMIT:
            _MEMO.clear()
            memo = _MEMO.setdefault((id(model), prompt), {})
        memo.update(new)
        have.update(new)
    return np.stack([have[t] for t in texts])
