"""Prepare the model for training: load it, freeze the word-embedding table, add LoRA adapters, merge them after."""

from __future__ import annotations

import logging

from torch import nn

logger = logging.getLogger(__name__)


def load_base_model(source: str, device: str = "cpu"):
    """Load a SentenceTransformer from a local dir, hub id or `packaged:` source (via seaembed.models when present)."""
    try:
        from seaembed.models import load_model  # type: ignore[attr-defined]
    except ImportError:
        load_model = None
    if load_model is not None:
        return load_model(source, device=device)
    from pathlib import Path

    from sentence_transformers import SentenceTransformer

    from seaembed.errors import ModelSourceError

    if source.startswith("packaged:") or not Path(source).exists():
        raise ModelSourceError(f"cannot load model '{source}': seaembed.models is not available and it is no local dir")
    return SentenceTransformer(source, device=device)


def _word_embeddings(model) -> nn.Module | None:
    auto = getattr(model[0], "auto_model", None)
    if auto is None:
        return None
    return auto.get_input_embeddings()


def freeze_word_embeddings(model) -> int:
    """Stop training the token-embedding table; returns the number of parameters frozen."""
    try:
        from seaembed.models import freeze_word_embeddings as shared  # type: ignore[attr-defined]
    except ImportError:
        shared = None
    if shared is not None:
        return int(shared(model) or 0)
    emb = _word_embeddings(model)
    if emb is None:
        return 0
    n = 0
    for p in emb.parameters():
        if p.requires_grad:
            p.requires_grad_(False)
            n += p.numel()
    return n


def add_lora(model, r: int, alpha: int, dropout: float, target_modules: list[str]) -> None:
    """Wrap the transformer of `model` with peft LoRA adapters (only the adapters train)."""
    from peft import LoraConfig, get_peft_model

    transformer = model[0]
    present = {name.rsplit(".", 1)[-1] for name, _ in transformer.auto_model.named_modules()}
    targets = [t for t in target_modules if t in present]
    if not targets:
        from seaembed.errors import ConfigError

        raise ConfigError(f"lora.target_modules {target_modules} match no module of the model "
                          f"(module names include {sorted(present)[:12]})")
    config = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=targets, bias="none")
    _set_backbone(transformer, get_peft_model(transformer.auto_model, config))


def _set_backbone(transformer, backbone) -> None:
    """Replace the HF model inside a sentence-transformers Transformer module (`auto_model` is read-only in ST 6)."""
    if isinstance(getattr(type(transformer), "auto_model", None), property):
        transformer.model = backbone
    else:
        transformer.auto_model = backbone


def merge_lora(model) -> bool:
    """Fold LoRA adapters back into the base weights (a plain model again); returns whether there were any."""
    from peft import PeftModel

    transformer = model[0]
    if isinstance(transformer.auto_model, PeftModel):
        _set_backbone(transformer, transformer.auto_model.merge_and_unload())
        return True
    return False


def count_parameters(model) -> tuple[int, int]:
    """(trainable, total) parameter counts."""
    params = list(model.parameters())
    return sum(p.numel() for p in params if p.requires_grad), sum(p.numel() for p in params)
