"""Context-grounded synthetic queries: templates and an LLM, filtered by consistency under the guide model."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from seaembed.augment.config import SyntheticConfig
from seaembed.augment.pairs import example
from seaembed.augment.records import DropLog, Product
from seaembed.augment.synthetic.templates import available_languages, template_queries
from seaembed.data.schema import TrainingExample

STAGE = "synthetic"


def _langs(p: Product, cfg: SyntheticConfig) -> list[str]:
    have = set(available_languages())
    if cfg.templates.langs:
        return [lang for lang in cfg.templates.langs if lang in have]
    return [p.lang if p.lang in have else "en"]


def _template_rows(products: Iterable[Product], cfg: SyntheticConfig, rng: random.Random
                   ) -> Iterator[tuple[Product, str, str, str]]:
    """(product, query, form, lang) of every template query, one product at a time."""
    for p in products:
        for lang in _langs(p, cfg):
            for q in template_queries(p, lang, n=cfg.templates.per_product, rng=rng, typo_rate=cfg.templates.typo_rate,
                                      code_mix_rate=cfg.templates.code_mix_rate):
                yield p, q.query, "template:" + q.form, lang


def _example(p: Product, q: str, form: str, lang: str, rank: int | None) -> TrainingExample:
    return example(q, p.title, "query-item", lang=lang, source=f"synthetic-query:{form.split(':')[0]}",
                   origin_id=p.id, group=f"item:{p.id}", synthetic_form=form,
                   **({"guide_rank": rank} if rank is not None else {}))


def streams(cfg: SyntheticConfig) -> bool:
    """Whether `iter_template_examples` gives what `generate_synthetic` would: templates only, no consistency
    filter (LLM queries and the filter need all products and queries at once)."""
    return not cfg.llm.enabled and not cfg.consistency.enabled


def iter_template_examples(products: Iterable[Product], cfg: SyntheticConfig, *, seed: int = 0,
                           show_progress: bool = False) -> Iterator[TrainingExample]:
    """The rows of `generate_synthetic` when `streams(cfg)`, yielded one product at a time (`products` may be a
    generator over the read stage's file)."""
    from seaembed.progress import tqdm

    if cfg.max_products is not None:
        products = itertools.islice(products, cfg.max_products)
    if cfg.templates.enabled:
        rng = random.Random(seed)
        for p, q, form, lang in _template_rows(tqdm(products, desc="template queries", disable=not show_progress),
                                               cfg, rng):
            yield _example(p, q, form, lang, None)


def generate_synthetic(products: list[Product], cfg: SyntheticConfig, drops: DropLog, *, seed: int = 0,
                       guide: Any = None, cache_dir: str | Path | None = None, batch_size: int = 64,
                       show_progress: bool = False) -> list[TrainingExample]:
    """Template (and, if enabled, LLM) queries for `products`, each kept only if the consistency filter agrees."""
    from seaembed.progress import tqdm

    if cfg.max_products is not None:
        products = products[:cfg.max_products]
    rows: list[tuple[Product, str, str, str]] = []  # (product, query, form, lang)
    if cfg.templates.enabled:
        rng = random.Random(seed)
        rows += _template_rows(tqdm(products, desc="template queries", disable=not show_progress), cfg, rng)
    if cfg.llm.enabled:
        from seaembed.augment.translate.cache import TranslationCache
        from seaembed.augment.translate.openai_chat import ChatClient
        from seaembed.errors import ConfigError

        if cfg.llm.backend is None or cfg.llm.backend.kind != "openai":
            raise ConfigError("synthetic.llm.backend: needs kind 'openai' (an OpenAI-compatible chat endpoint)")
        from seaembed.augment.synthetic.llm import llm_queries

        chosen = products[:cfg.llm.max_products]
        lang_of = {p.id: (p.lang or "en") for p in chosen}
        cache = TranslationCache(Path(cache_dir or ".") / "translations.sqlite")
        client = ChatClient.from_config(cfg.llm.backend)
        try:
            made = llm_queries(client, chosen, lang_of, n=cfg.llm.per_product, cache=cache)
        finally:
            client.close()
            cache.close()
        for p in chosen:
            rows += [(p, q, "llm", lang_of[p.id]) for q in made.get(p.id, [])]

    keep = [True] * len(rows)
    ranks = [None] * len(rows)
    if cfg.consistency.enabled and rows and guide is not None:
        from seaembed.augment.synthetic.consistency import consistent

        index = {id(p): i for i, p in enumerate(products)}
        mask, rk = consistent(guide, [q for _, q, _, _ in rows], [index[id(p)] for p, _, _, _ in rows],
                              [p.title for p in products], top_k=cfg.consistency.top_k, batch_size=batch_size,
                              show_progress=show_progress)
        keep, ranks = mask.tolist(), rk.tolist()
    out = []
    for (p, q, form, lang), ok, rank in zip(rows, keep, ranks, strict=True):
        if not ok:
            drops.add(STAGE, f"consistency: source product not in top {cfg.consistency.top_k}", where=p.id,
                      detail=form, preview=q, lang=lang)
            continue
        out.append(_example(p, q, form, lang, rank))
    return out
