"""PyTorch backend: the sentence-transformers model itself, fp32 or bf16, on CPU."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from seaembed.engine.backends.base import Backend, l2_normalise


class TorchBackend(Backend):
    """Runs the sentence-transformers module stack (Transformer -> Pooling -> Normalize) on padded id batches."""

    name = "torch"

    def __init__(self, source: str | Path, *, dtype: str = "float32", threads: int | None = None) -> None:
        import torch

        from seaembed.engine.loading import load_sentence_transformer

        if threads:
            torch.set_num_threads(int(threads))
        self.model = load_sentence_transformer(source, dtype=dtype)
        self.dtype = dtype
        super().__init__(self.model.tokenizer, max_length=self.model.max_seq_length or 512,
                         prompts=self.model.prompts)
        self.dim = int(self.model.get_embedding_dimension())
        self.name = f"torch-{'bf16' if dtype == 'bfloat16' else 'fp32'}"

    def embed_ids(self, batch: Sequence[Sequence[int]]) -> np.ndarray:
        import torch

        ids, mask = self.pad(batch)
        with torch.inference_mode():
            out = self.model({"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask)})
        return l2_normalise(out["sentence_embedding"].float().numpy())
