"""Structured pairs: one small function per rule, each turning source rows into `TrainingExample`s.

Every example carries `origin_id` (the source row: a product id, or file:line) and `group` (rows sharing a group
are the same thing in other words: the same product, or translations of each other); hard-negative mining never
takes a candidate of the positive's group.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator

from seaembed.augment.config import PairsConfig
from seaembed.augment.records import (
    DropLog,
    Labelled,
    Parallel,
    Product,
    QueryLog,
    Relevance,
    Review,
    SourceData,
)
from seaembed.data.schema import TrainingExample

STAGE = "pairs"


def example(query: str, positive: str, task: str, *, lang: str | None, source: str, origin_id: str,
            group: str | None = None, label: str | None = None, negatives: list[str] | None = None,
            **extra: object) -> TrainingExample:
    """A `TrainingExample` with our extra fields (`origin_id`, `group`, ...)."""
    return TrainingExample.model_validate({
        "query": query, "positive": positive, "negatives": negatives or [], "task": task, "label": label,
        "lang": lang, "source": source, "origin_id": origin_id, "group": group, **extra})


def category_path(p: Product) -> str:
    return " > ".join(p.category)


def attributes_text(attributes: dict[str, str]) -> str:
    return "; ".join(f"{k}: {v}" for k, v in attributes.items())


def title_category(products: Iterable[Product]) -> list[TrainingExample]:
    """title -> category path (task title-category; the label is the category path)."""
    return [example(p.title, category_path(p), "title-category", lang=p.lang, source=p.source, origin_id=p.id,
                    group=f"item:{p.id}", label=category_path(p)) for p in products if p.category]


def title_description(products: Iterable[Product]) -> list[TrainingExample]:
    """title -> description and attributes (task title-description). Products without a description are skipped:
    attributes alone (often seller location, rating, sales count) do not describe the product."""
    out = []
    for p in products:
        body = " ".join(x for x in (p.description, attributes_text(p.attributes)) if x)
        if p.description:
            out.append(example(p.title, body, "title-description", lang=p.lang, source=p.source, origin_id=p.id,
                               group=f"item:{p.id}"))
    return out


def query_category(products: Iterable[Product], *, level: str = "leaf", per_category: int = 100) -> list[TrainingExample]:
    """category name as a query -> its products (task query-category; label = the category path)."""
    by_cat: dict[str, list[Product]] = defaultdict(list)
    for p in products:
        if p.category:
            by_cat[category_path(p)].append(p)
    out = []
    for path, items in sorted(by_cat.items()):
        for p in items[:per_category]:
            name = p.category[-1] if level == "leaf" else path
            out.append(example(name, p.title, "query-category", lang=p.lang, source=p.source, origin_id=p.id,
                               group=f"item:{p.id}", label=path))
    return out


def query_item(logs: Iterable[QueryLog], by_id: dict[str, Product], drops: DropLog) -> list[TrainingExample]:
    """query -> the title of each clicked or bought item (task query-item); unknown item ids are dropped."""
    out = []
    for q in logs:
        for item_id in q.item_ids:
            p = by_id.get(item_id)
            if p is None:
                drops.add(STAGE, "query log: unknown item id", where=q.where, detail=item_id, preview=q.query)
                continue
            out.append(example(q.query, p.title, "query-item", lang=q.lang, source=q.source, origin_id=p.id,
                               group=f"item:{p.id}"))
    return out


def review_item(reviews: Iterable[Review], by_id: dict[str, Product], drops: DropLog) -> list[TrainingExample]:
    """review text -> the reviewed product's title (task review-item)."""
    out = []
    for r in reviews:
        p = by_id.get(r.item_id)
        if p is None:
            drops.add(STAGE, "review: unknown item id", where=r.where, detail=r.item_id, preview=r.text)
            continue
        out.append(example(r.text, p.title, "review-item", lang=r.lang, source=r.source, origin_id=p.id,
                           group=f"item:{p.id}"))
    return out


def bitext(rows: Iterable[Parallel], *, both_directions: bool = False) -> list[TrainingExample]:
    """parallel text: src -> tgt (task bitext); rows of one group are translations of each other."""
    out = []
    for r in rows:
        group = r.group or f"{r.source}:{r.where.rsplit(':', 1)[-1]}"
        out.append(example(r.src, r.tgt, "bitext", lang=r.src_lang, source=r.source, origin_id=r.where,
                           group=group, positive_lang=r.tgt_lang))
        if both_directions:
            out.append(example(r.tgt, r.src, "bitext", lang=r.tgt_lang, source=r.source, origin_id=r.where,
                               group=group, positive_lang=r.src_lang))
    return out


def labelled(rows: Iterable[Labelled]) -> list[TrainingExample]:
    """text -> its label's name (label-space task, e.g. classification; label = the class)."""
    return [example(r.text, r.label_text or r.label, r.task, lang=r.lang, source=r.source, origin_id=r.where, label=r.label)
            for r in rows]


def relevance(rows: Iterable[Relevance], by_id: dict[str, Product], drops: DropLog) -> list[TrainingExample]:
    """QC / QI rows: each relevant (1) target becomes a pair; the irrelevant (0) targets of the same query become
    its hard negatives. A query with no relevant target is logged and dropped."""
    grouped: dict[tuple[str, str], list[Relevance]] = defaultdict(list)
    for r in rows:
        grouped[(r.kind, r.query)].append(r)
    out = []
    for (kind, query), items in grouped.items():
        def text_of(r: Relevance, kind: str = kind) -> str:
            p = by_id.get(r.target) if kind == "item" else None
            return p.title if p is not None else r.target
        negatives = list(dict.fromkeys(text_of(r) for r in items if r.label == 0))
        positives = [r for r in items if r.label == 1]
        if not positives:
            for r in items:
                drops.add(STAGE, "relevance: query has no relevant target", where=r.where, preview=query)
            continue
        task = "query-item" if kind == "item" else "query-category"
        for r in positives:
            p = by_id.get(r.target) if kind == "item" else None
            out.append(example(query, text_of(r), task, lang=r.lang, source=r.source, origin_id=r.where,
                               group=f"item:{p.id}" if p is not None else None,
                               label=r.target if kind == "category" else None, negatives=negatives,
                               given_negatives=len(negatives)))
    return out


def iter_pairs(data: SourceData, cfg: PairsConfig, drops: DropLog) -> Iterator[TrainingExample]:
    """The configured rules' pairs over the source rows, one rule's rows at a time (an unknown rule raises
    `ConfigError` here, before any row)."""
    by_id = {p.id: p for p in data.products}
    rules: dict[str, Callable[[], list[TrainingExample]]] = {
        "title-category": lambda: title_category(data.products),
        "title-description": lambda: title_description(data.products),
        "query-category": lambda: query_category(data.products, level=cfg.category_level,
                                                 per_category=cfg.max_products_per_category),
        "query-item": lambda: query_item(data.query_logs, by_id, drops),
        "review-item": lambda: review_item(data.reviews, by_id, drops),
        "bitext": lambda: bitext(data.parallel, both_directions=cfg.both_directions),
        "labelled": lambda: labelled(data.labelled),
        "relevance": lambda: relevance(data.relevance, by_id, drops),
    }
    unknown = [r for r in cfg.rules if r not in rules]
    if unknown:
        from seaembed.errors import ConfigError

        raise ConfigError(f"pairs.rules: unknown rule(s) {unknown}; known: {sorted(rules)}")
    return itertools.chain.from_iterable(rules[name]() for name in cfg.rules)


def build_pairs(data: SourceData, cfg: PairsConfig, drops: DropLog) -> list[TrainingExample]:
    """Run the configured rules over the source rows."""
    return list(iter_pairs(data, cfg, drops))
