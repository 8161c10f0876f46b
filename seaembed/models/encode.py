"""Encode texts into float32, L2-normalised embeddings, in length-sorted batches with a progress bar.

Sorting by length keeps padding (wasted compute) small; the output rows are restored to the input order.
`dtype="bfloat16"` runs an fp32 model under CPU autocast (matmuls in bf16, weights cast on every call). Loading
the model with `load_model(..., dtype="bfloat16")` (what `seaembed encode --dtype bfloat16` does) is as fast or
faster and halves the memory: both ran ~2.2-2.5x faster than fp32 on an idle 2-core machine
(benchmarks/results/encode.md). Outputs are always float32.
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from seaembed.errors import ConfigError

PROMPTS = (None, "query", "passage")


def _prompt_name(model: Any, prompt: str | None) -> str | None:
    if prompt is None:
        return None
    if prompt not in ("query", "passage", "document"):
        raise ConfigError(f"unknown prompt '{prompt}'; use query or passage")
    prompts = getattr(model, "prompts", None) or {}
    if prompt == "passage" and "passage" not in prompts and prompts.get("document"):
        return "document"
    if prompt not in prompts:
        warnings.warn(f"the model defines no '{prompt}' prompt (it has {sorted(prompts)}); encoding without one",
                      stacklevel=3)
        return None
    return prompt


def embedding_dimension(model: Any) -> int:
    """The output dimension of a sentence-transformers model (v6 renamed the v5 method)."""
    get = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    return int(get())


def _autocast(model: Any, dtype: str | None):
    import torch

    if dtype is None or str(dtype).lower() in ("float32", "fp32"):
        return contextlib.nullcontext()
    if str(dtype).lower() not in ("bfloat16", "bf16"):
        raise ConfigError(f"unknown dtype '{dtype}'; use one of float32, bfloat16")
    if next(model.parameters()).dtype == torch.bfloat16:
        return contextlib.nullcontext()
    return torch.autocast(device_type=model.device.type, dtype=torch.bfloat16)


def encode(
    model: Any,
    texts: Sequence[str],
    *,
    prompt: str | None = None,
    batch_size: int = 32,
    show_progress: bool = False,
    dtype: str | None = None,
) -> np.ndarray:
    """Embed `texts` with a `SentenceTransformer`: an (n, d) float32 array of unit-length rows, in input order.

    `prompt` is `None`, `"query"` or `"passage"` (the model's saved prompts, e.g. e5's `query: ` / `passage: `).
    """
    import torch

    from seaembed.progress import tqdm

    if batch_size < 1:
        raise ConfigError(f"batch size must be >= 1, got {batch_size}")
    texts = list(texts)
    bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
    if bad is not None:
        raise ConfigError(f"text {bad} is a {type(texts[bad]).__name__}, expected a string")
    dim = embedding_dimension(model)
    if not texts:
        return np.zeros((0, dim), dtype=np.float32)
    prompt_name = _prompt_name(model, prompt)
    order = np.argsort([-len(t) for t in texts], kind="stable")
    out = np.empty((len(texts), dim), dtype=np.float32)
    with tqdm(total=len(texts), desc="encoding", unit="text", disable=not show_progress) as bar, \
            torch.inference_mode(), _autocast(model, dtype):
        for start in range(0, len(texts), batch_size):
            idx = order[start : start + batch_size]
            emb = model.encode([texts[i] for i in idx], prompt_name=prompt_name, batch_size=len(idx),
                               convert_to_tensor=True, show_progress_bar=False)
            out[idx] = emb.float().cpu().numpy()
            bar.update(len(idx))
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    np.divide(out, np.maximum(norms, 1e-12), out=out)
    return out


@dataclass(frozen=True)
class EncodeLoader:
    """`encode` with one model and its settings, the model loaded when called: what `seaembed encode` embeds with,
    in process or in each Ray actor (it is picklable; `seaembed.engine.ray_encode` calls it with the actor's
    thread count)."""

    model: str
    prompt: str | None = None
    batch_size: int = 32
    dtype: str = "float32"

    def __call__(self, threads: int | None = None) -> Callable[[Sequence[str]], np.ndarray]:
        """Load the model (with `threads` intra-op threads when given); returns `texts -> encode(model, texts)`."""
        from seaembed.models.sources import load_model

        if threads:
            import torch

            torch.set_num_threads(int(threads))
        model = load_model(self.model, dtype=self.dtype)
        return functools.partial(_encode_with, model, self.prompt, self.batch_size)


def _encode_with(model: Any, prompt: str | None, batch_size: int, texts: Sequence[str]) -> np.ndarray:
    return encode(model, texts, prompt=prompt, batch_size=batch_size)
