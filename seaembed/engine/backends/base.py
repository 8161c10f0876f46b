"""What every inference backend provides: tokenisation to ids and one padded forward pass to unit vectors.

The engine (`seaembed.engine.batching`) owns batching; a backend only turns a list of token-id lists (already truncated,
with special tokens) into an `(n, dim)` float32 array of L2-normalised embeddings.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np


class Backend(ABC):
    """An embedding model behind a uniform, thread-confined interface (called from one worker thread)."""

    name: str = "base"
    dim: int
    max_length: int
    prompts: dict[str, str]
    pad_id: int = 0
    pad_multiple: int = 1  # `pad` rounds the batch width up to a multiple of this; the engine budgets with it

    def __init__(self, tokenizer, *, max_length: int, prompts: dict[str, str] | None = None) -> None:
        self.tokenizer = tokenizer
        self.max_length = int(max_length)
        self.prompts = dict(prompts or {})
        self.pad_id = int(tokenizer.pad_token_id or 0)
        # HF fast tokenizers set truncation state on every call; concurrent calls from two threads can fail with
        # "Already borrowed", so calls are serialised (tokenising is short next to the forward pass).
        self._tokenize_lock = threading.Lock()

    def prompt_text(self, prompt: str | None) -> str:
        """The prefix for a prompt name (`query`/`passage`); '' for None or a name the model does not define."""
        if not prompt:
            return ""
        return self.prompts.get(prompt, "")

    def tokenize(self, texts: Sequence[str], prompt: str | None = None) -> list[list[int]]:
        """Token ids per text (prompt prefixed, special tokens added, truncated to `max_length`)."""
        prefix = self.prompt_text(prompt)
        with self._tokenize_lock:
            enc = self.tokenizer([prefix + t for t in texts], add_special_tokens=True, truncation=True,
                                 max_length=self.max_length, padding=False, return_attention_mask=False,
                                 return_token_type_ids=False)
        return enc["input_ids"]

    def pad(self, batch: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
        """Right-pad to the longest sequence: `(input_ids, attention_mask)` as int64 arrays."""
        width = max(len(s) for s in batch)
        ids = np.full((len(batch), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for i, seq in enumerate(batch):
            ids[i, : len(seq)] = seq
            mask[i, : len(seq)] = 1
        return ids, mask

    @abstractmethod
    def embed_ids(self, batch: Sequence[Sequence[int]]) -> np.ndarray:
        """Embeddings `(len(batch), dim)`, float32, L2-normalised."""

    def warmup(self, max_batch_tokens: int, max_batch_size: int) -> int:
        """Run the batch shapes the engine will send, so the first requests do not pay for them; returns how many
        shapes ran. Most backends need none (onnxruntime and torch handle new shapes without extra cost)."""
        return 0

    def describe(self) -> dict:
        """A few facts for /health and benchmark reports."""
        return {"backend": self.name, "dim": self.dim, "max_length": self.max_length}


def l2_normalise(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)
