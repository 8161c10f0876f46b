"""Freeze the word-embedding table for CPU fine-tuning.

multilingual-e5-small has 117.65 M parameters, ~96 M of them in the 250k x 384 word-embedding table. Freezing it
leaves ~21 M trainable parameters, so the optimizer state and the update step shrink five-fold; rows of tokens a
small corpus never sees would not move much anyway.
"""

from __future__ import annotations

from typing import Any


def word_embeddings(model: Any):
    """The input word-embedding module of a `SentenceTransformer` (or a Hugging Face model)."""
    import torch

    candidates = [model] + [m for m in model.modules() if m is not model]
    for m in candidates:
        get = getattr(m, "get_input_embeddings", None)
        if callable(get):
            emb = get()
            if isinstance(emb, torch.nn.Embedding):
                return emb
    raise ValueError("the model has no input word-embedding table")


def freeze_word_embeddings(model: Any) -> int:
    """Stop gradients to the word-embedding table; returns the number of parameters frozen.

    Use before building the optimizer (trainers only optimise parameters with `requires_grad`).
    """
    emb = word_embeddings(model)
    emb.weight.requires_grad_(False)
    return emb.weight.numel()


def trainable_parameters(model: Any) -> int:
    """Number of parameters that still require gradients."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
