"""The guide model: a sentence-transformers model used to judge and mine (consistency filter, hard negatives,
self-validation). Loaded through `seaembed.models` (local dir, hub id or `packaged:multilingual-e5-small`)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Literal

import numpy as np


@lru_cache(maxsize=2)
def load_guide(source: str) -> Any:
    """Load (once per process) the guide model named by `source`."""
    try:
        from seaembed.models import load_model  # the shared loader (resolves packaged:...)
    except ImportError:  # pragma: no cover - only while the models stage is not there
        load_model = None
    if load_model is not None:
        return load_model(source, device="cpu")
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(source, device="cpu")


def encode(model: Any, texts: Sequence[str], *, prompt: Literal["query", "passage"] | None = None,
           batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
    """L2-normalised float32 embeddings (n, d) of `texts`, with the model's `query`/`passage` prompt if it has one."""
    if not texts:
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        dim = get_dim() or 0
        return np.zeros((0, dim), dtype=np.float32)
    from sentence_transformers import SentenceTransformer

    try:
        from seaembed.models.encode import encode as shared_encode
    except ImportError:
        shared_encode = None
    if shared_encode is not None and isinstance(model, SentenceTransformer):
        return np.asarray(shared_encode(model, list(texts), prompt=prompt, batch_size=batch_size,
                                        show_progress=show_progress), dtype=np.float32)
    # any object with a sentence-transformers-like `encode` (e.g. a test double) works too
    prompt_name = prompt if prompt and prompt in (getattr(model, "prompts", None) or {}) else None
    emb = model.encode(list(texts), prompt_name=prompt_name, batch_size=batch_size, normalize_embeddings=True,
                       convert_to_numpy=True, show_progress_bar=show_progress)
    return np.asarray(emb, dtype=np.float32)


def unique_encode(model: Any, texts: Sequence[str], *, prompt: Literal["query", "passage"] | None = None,
                  batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
    """`encode`, computing each distinct text once."""
    uniq = list(dict.fromkeys(texts))
    pos = {t: i for i, t in enumerate(uniq)}
    emb = encode(model, uniq, prompt=prompt, batch_size=batch_size, show_progress=show_progress)
    return emb[[pos[t] for t in texts]] if len(texts) else emb
