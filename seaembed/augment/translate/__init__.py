"""Translation backends (one per file) behind the `Translator` protocol, a sqlite cache, and the augmentation step.

`make_translator(cfg, cache_dir)` builds the configured backend wrapped in the disk cache.
"""

from __future__ import annotations

from pathlib import Path

from seaembed.augment.translate.base import Translator
from seaembed.augment.translate.cache import CachedTranslator, TranslationCache

__all__ = ["CachedTranslator", "TranslationCache", "Translator", "backend_unavailable", "make_backend",
           "make_translator"]


def backend_unavailable(cfg) -> str | None:
    """Why the backend of `cfg` cannot run on this machine (one line naming how to enable it), or None.

    Only the backends that need something outside pip are checked: apertium (a Debian program) and the FreeDict
    dictionary (a Debian data package). The others fail, if they fail, with their own error when first called.
    """
    if cfg.kind == "apertium":
        from seaembed.augment.translate.apertium import apertium_pairs

        if not apertium_pairs():
            return ("apertium is not on PATH (Debian: apt-get install apertium apertium-ind-zlm, or "
                    "`make system-deps`)")
    if cfg.kind == "dictionary":
        from seaembed.augment.translate.dictionary import DEFAULT_INDEX

        index = Path(cfg.dict_path) if cfg.dict_path else DEFAULT_INDEX
        if not index.exists():
            return f"no FreeDict dictionary at {index} (Debian: apt-get install dict-freedict-eng-ind)"
    return None


def make_backend(cfg) -> Translator:
    """The raw backend named by a `BackendConfig`."""
    if cfg.kind == "openai":
        from seaembed.augment.translate.openai_chat import ChatClient, OpenAITranslator

        return OpenAITranslator(ChatClient.from_config(cfg), batch_size=cfg.batch_size)
    if cfg.kind == "hf":
        from seaembed.augment.translate.hf_seq2seq import HFSeq2SeqTranslator
        from seaembed.errors import ConfigError

        if not cfg.model_path:
            raise ConfigError("translate.backend: kind 'hf' needs model_path (a hub id or a local directory)")
        return HFSeq2SeqTranslator(cfg.model_path, device=cfg.device, batch_size=cfg.batch_size,
                                   max_new_tokens=cfg.max_new_tokens)
    if cfg.kind == "apertium":
        from seaembed.augment.translate.apertium import ApertiumTranslator

        return ApertiumTranslator()
    from seaembed.augment.translate.dictionary import DictionaryCodeSwitcher

    return DictionaryCodeSwitcher(cfg.dict_path, fraction=cfg.fraction, seed=cfg.seed)


def make_translator(cfg, cache_dir: str | Path) -> CachedTranslator:
    """The configured backend behind the translation cache at `cache_dir/translations.sqlite`."""
    cache = TranslationCache(Path(cache_dir) / "translations.sqlite")
    return CachedTranslator(make_backend(cfg), cache, batch_size=max(cfg.batch_size, 1) * 4)
