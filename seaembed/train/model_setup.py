"""LoRA for training: add peft adapters to the transformer, merge them back when training ends.

Loading and freezing the word-embedding table are `seaembed.models.load_model` and
`seaembed.models.freeze_word_embeddings`.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def add_lora(model, r: int, alpha: int, dropout: float, target_modules: list[str]) -> None:
    """Wrap the transformer of `model` with peft LoRA adapters (only the adapters train)."""
    from peft import LoraConfig, get_peft_model

    from seaembed.compat import require_peft

    require_peft()

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
