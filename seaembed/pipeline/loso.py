"""Leave-one-source-out: a run that trains without one e-commerce source and is tested on that source's tasks.

    from seaembed.pipeline.loso import ECOMMERCE_SOURCES, config_excluding
    cfg = config_excluding(cfg, "prdect-id")      # data.exclude_sources += ["prdect-id"]

`data.exclude_sources` (a list of `source` keys) is read by the run's data stage: every row of a JSONL input whose
`source` is listed is dropped before the build (`filter_sources`), and a query log row's `item_ids` lose the ids
of dropped catalog rows (a row left with none is dropped too), so no training example comes from that source.
The counts dropped are in run.json (`loso`).
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from seaembed.errors import ConfigError

# The e-commerce sources of the bundled data and the bundled tasks each one feeds (task.json "source").
# Tasks fed by two sources (distractors) are listed under both; `unseen_tasks` says which are wholly unseen.
ECOMMERCE_SOURCES: dict[str, list[str]] = {
    "prdect-id": ["prdect-category-retrieval", "prdect-title-queries", "prdect-category-clf",
                  "multilingual-product-search", "product-query-relevance"],
    "seaembed-handwritten": ["multilingual-product-search", "product-query-relevance"],
    "filipino-shopee-reviews": ["shopee-ph-review-rating"],
}


def source_tasks(source: str) -> list[str]:
    """The bundled tasks `source` feeds (raises ConfigError for a source that is not an e-commerce source)."""
    if source not in ECOMMERCE_SOURCES:
        raise ConfigError(f"unknown e-commerce source {source!r} (known: {', '.join(ECOMMERCE_SOURCES)})")
    return list(ECOMMERCE_SOURCES[source])


def unseen_tasks(excluded: Iterable[str]) -> list[str]:
    """Bundled tasks every source of which is excluded (read from their task.json)."""
    from seaembed.samples import task_dirs

    excluded = set(excluded)
    out = []
    for d in task_dirs(None):
        meta = json.loads((d / "task.json").read_text(encoding="utf-8"))
        sources = set(meta.get("source") or [])
        if sources and sources <= excluded:
            out.append(meta.get("name") or d.name)
    return out


def config_excluding(config: Any, source: str) -> Any:
    """A copy of a run config (a `RunConfig` or its dict) that trains without `source`.

    Adds `source` to `data.exclude_sources`; when the eval section lists tasks by path (not the `domain` group),
    the source's bundled tasks are added to `eval.domain_tasks`, so the report holds a task the model never
    trained on.
    """
    tasks = source_tasks(source)
    is_model = hasattr(config, "model_dump")
    raw = config.model_dump(mode="json") if is_model else copy.deepcopy(dict(config))
    data = raw.setdefault("data", {})
    data["exclude_sources"] = sorted({*data.get("exclude_sources", []), source})
    ev = raw.setdefault("eval", {})
    domain = list(ev.get("domain_tasks") or ["domain"])
    if "domain" not in domain:
        domain += [f"sample:tasks/{t}" for t in tasks if f"sample:tasks/{t}" not in domain]
    ev["domain_tasks"] = domain
    if is_model:
        return type(config).model_validate(raw)
    return raw


def _filter_rows(rows: list[dict[str, Any]], excluded: set[str], dropped_ids: set[str],
                 counts: Counter) -> list[dict[str, Any]]:
    kept = []
    for r in rows:
        if r.get("source") in excluded:
            counts[str(r["source"])] += 1
            if r.get("id") is not None:
                dropped_ids.add(str(r["id"]))
            continue
        kept.append(r)
    return kept


def filter_sources(sources: dict[str, list[dict[str, Any]]], excluded: Iterable[str], *, base: Path | None,
                   work_dir: Path) -> tuple[dict[str, list[dict[str, Any]]], dict[str, Any]]:
    """Copy every JSONL input without the rows of `excluded` sources into `work_dir`; returns the data config's
    `sources` section pointing at the copies, and what was dropped (`{"exclude_sources", "dropped": {source: n},
    "dropped_item_refs": n}`)."""
    from seaembed.atomic import write_jsonl
    from seaembed.augment.config import resolve_path
    from seaembed.data.io import iter_records

    excluded = set(excluded)
    counts: Counter = Counter()
    dropped_ids: set[str] = set()
    loaded: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for kind, entries in sources.items():
        for i, src in enumerate(entries):
            path = resolve_path(src["path"], base)
            if path.suffix != ".jsonl":
                raise ConfigError(f"data.exclude_sources: {path} is not JSONL; excluding a source needs JSONL "
                                  "inputs whose rows carry a `source` key")
            rows = [rec.data for rec in iter_records(path, fmt="jsonl")]
            loaded[(kind, i)] = _filter_rows(rows, excluded, dropped_ids, counts)
    refs = 0
    out: dict[str, list[dict[str, Any]]] = {}
    for kind, entries in sources.items():
        out[kind] = []
        for i, src in enumerate(entries):
            rows = loaded[(kind, i)]
            if kind == "query_logs":  # a query's answers that were dropped go too; a query with none left goes
                kept = []
                for r in rows:
                    ids = r.get("item_ids")
                    if isinstance(ids, list):
                        left = [x for x in ids if str(x) not in dropped_ids]
                        refs += len(ids) - len(left)
                        if not left:
                            continue
                        r = {**r, "item_ids": left}
                    kept.append(r)
                rows = kept
            target = work_dir / f"{kind}{i}.jsonl"
            write_jsonl(target, rows)
            out[kind].append({**src, "path": str(target)})
    return out, {"exclude_sources": sorted(excluded), "dropped": dict(sorted(counts.items())),
                 "dropped_item_refs": refs}


def training_sources(sources: dict[str, list[dict[str, Any]]], base: Path | None) -> set[str]:
    """The `source` keys present in the JSONL inputs of a data config's `sources` section."""
    from seaembed.augment.config import resolve_path

    found: set[str] = set()
    for entries in sources.values():
        for src in entries:
            path = resolve_path(src["path"], base)
            if path.suffix != ".jsonl" or not path.is_file():
                continue
            with open(path, encoding="utf-8") as f:
                for line in f:
                    line = line.strip()
                    if not line:
                        continue
                    try:
                        value = json.loads(line).get("source")
                    except (json.JSONDecodeError, AttributeError):
                        continue  # the data stage reports bad rows itself
                    if isinstance(value, str):
                        found.add(value)
    return found
