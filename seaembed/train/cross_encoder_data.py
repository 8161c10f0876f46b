"""Labelled relevance pairs for the cross-encoder: read from QC/QI files (JSONL `text1,text2,label,kind,lang` as the
bundled task has them, or the CIKM-shaped CSVs of examples/) and derived from a catalog with queries.

`catalog_pairs` is the data the bundled experiment trains on (the task's queries and titles are held out of the
samples): each query's relevant items give QI positives and their category paths QC positives; every product gives a
title-category positive; negatives are label-0 pairs, either random (a target from another top-level category) or
semantic hard negatives (the nearest targets of another top-level category under a bi-encoder's scores).
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from seaembed.errors import InputError
from seaembed.train.cross_encoder import KIND_MARKERS, RelevancePair


def read_relevance_jsonl(path: str | Path) -> list[RelevancePair]:
    """Pairs of a JSONL file with `text1`, `text2`, `label` (0/1), `kind` and optional `lang`; bad rows raise
    `InputError` naming file, line and field."""
    out = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise InputError(path, f"not valid JSON ({e.msg})", line=n) from None
            for f in ("text1", "text2", "label"):
                if f not in row:
                    raise InputError(path, "is missing", line=n, field=f)
            if row["label"] not in (0, 1):
                raise InputError(path, f"must be 0 or 1, got {row['label']!r}", line=n, field="label")
            kind = row.get("kind", "query-item")
            if kind not in KIND_MARKERS:
                raise InputError(path, f"is {kind!r}; use one of {sorted(KIND_MARKERS)}", line=n, field="kind")
            out.append(RelevancePair(str(row["text1"]), str(row["text2"]), int(row["label"]), kind, row.get("lang")))
    return out


def read_cikm_csv(path: str | Path, kind: str) -> list[RelevancePair]:
    """The CIKM AnalytiCup 2025 shape: `language, origin_query, category_path | item_title, label`."""
    target = "category_path" if KIND_MARKERS[kind] == "category" else "item_title"
    out = []
    with open(path, encoding="utf-8", newline="") as fh:
        for n, row in enumerate(csv.DictReader(fh), 2):
            for f in ("origin_query", target, "label"):
                if not (row.get(f) or "").strip():
                    raise InputError(path, "is missing or empty", line=n, field=f)
            if row["label"].strip() not in ("0", "1"):
                raise InputError(path, f"must be 0 or 1, got {row['label']!r}", line=n, field="label")
            out.append(RelevancePair(row["origin_query"], row[target], int(row["label"]), kind, row.get("language")))
    return out


def _top(path: str) -> str:
    return path.split(">")[0].strip().lower()


def catalog_pairs(catalog: Sequence[dict], queries: Sequence[dict], *, seed: int = 0, negatives: int = 1,
                  hard_scores: Callable[[list[str], list[str]], np.ndarray] | None = None) -> list[RelevancePair]:
    """Positives from `queries` (`query`, `item_ids`, `lang`) over `catalog` (`id`, `title`, `category_path`) and
    each product's own category, plus `negatives` label-0 pairs per positive: random targets of another top-level
    category, or (with `hard_scores(queries, targets) -> matrix`) the highest-scoring such targets."""
    rng = random.Random(seed)
    by_id = {p["id"]: p for p in catalog}
    titles = [p["title"] for p in catalog]
    title_top = [_top(p.get("category_path") or "") for p in catalog]
    cats = sorted({p["category_path"] for p in catalog if p.get("category_path")})
    cat_top = [_top(c) for c in cats]
    pos: list[RelevancePair] = []
    for q in queries:
        items = [by_id[i] for i in q.get("item_ids", []) if i in by_id]
        for it in items:
            pos.append(RelevancePair(q["query"], it["title"], 1, "query-item", q.get("lang")))
        for c in dict.fromkeys(it["category_path"] for it in items if it.get("category_path")):
            pos.append(RelevancePair(q["query"], c, 1, "query-category", q.get("lang")))
    for p in catalog:
        if p.get("category_path"):
            pos.append(RelevancePair(p["title"], p["category_path"], 1, "title-category", p.get("lang")))

    def pool(kind: str) -> tuple[list[str], list[str]]:
        return (titles, title_top) if kind == "query-item" else (cats, cat_top)

    hard: dict[tuple[str, str], list[int]] = {}
    if hard_scores is not None and negatives:
        for kind in ("query-item", "query-category", "title-category"):
            qs = list(dict.fromkeys(p.query for p in pos if p.kind == kind))
            targets, _ = pool(kind)
            if qs:
                order = np.argsort(-hard_scores(qs, targets), axis=1)
                hard.update({(kind, q): order[i].tolist() for i, q in enumerate(qs)})
    pos_tops: dict[tuple[str, str], set[str]] = {}
    pos_targets: dict[tuple[str, str], set[str]] = {}
    for p in pos:
        top = _top(p.target) if KIND_MARKERS[p.kind] == "category" else _top(
            next((c["category_path"] for c in catalog if c["title"] == p.target), ""))
        pos_tops.setdefault((p.kind, p.query), set()).add(top)
        pos_targets.setdefault((p.kind, p.query), set()).add(p.target)
    out = list(pos)
    used: set[tuple[str, str, str]] = set()
    for p in pos:
        targets, tops = pool(p.kind)
        bad_tops, own = pos_tops[(p.kind, p.query)], pos_targets[(p.kind, p.query)]
        candidates = hard.get((p.kind, p.query)) or rng.sample(range(len(targets)), len(targets))
        got = 0
        for j in candidates:
            t = targets[j]
            if tops[j] in bad_tops or t in own or (p.kind, p.query, t) in used:
                continue
            used.add((p.kind, p.query, t))
            out.append(RelevancePair(p.query, t, 0, p.kind, p.lang))
            got += 1
            if got >= negatives:
                break
    return out


def pairs_from_data_config(data_cfg, base: str | Path | None = None) -> tuple[list[RelevancePair], dict[str, int]]:
    """The `sources.relevance` rows of a `seaembed data build` config (`augment.config.DataConfig`) as labelled pairs,
    read the way the data build reads them (field mapping, `errors` mode); an item target that is the id of a
    product of the config's catalogs becomes that product's title. Returns (pairs, rows dropped per reason)."""
    from seaembed.augment.config import LangIdConfig, Sources
    from seaembed.augment.records import DropLog
    from seaembed.augment.sources import read_sources

    sources = Sources(relevance=data_cfg.sources.relevance, catalogs=data_cfg.sources.catalogs)
    cfg = data_cfg.model_copy(update={"sources": sources, "langid": LangIdConfig(enabled=False)})
    drops = DropLog()
    data = read_sources(cfg, Path(base) if base is not None else None, drops)
    titles = {p.id: p.title for p in data.products}
    out = [RelevancePair(r.query, titles.get(r.target, r.target) if r.kind == "item" else r.target, int(r.label),
                         "query-item" if r.kind == "item" else "query-category", r.lang)
           for r in data.relevance]
    return out, drops.counts()
