"""Read a product catalog (JSONL/CSV/TSV/Parquet) into the texts to embed and the metadata to filter on."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seaembed.data.io import iter_records
from seaembed.errors import InputError

FILTER_FIELDS = ("category", "lang", "price")
DEFAULT_TEXT_FIELDS = ("title", "category")


@dataclass
class Catalog:
    """Parallel lists: `ids[i]`, `texts[i]` (what gets embedded and BM25-indexed) and `meta[i]` (stored fields)."""

    ids: list[str]
    texts: list[str]
    meta: list[dict[str, Any]]


def _price(value: Any, path: str, line: int) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        price = float(str(value).replace(",", "").strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise InputError(path, f"not a number: {value!r}", line=line, field="price") from None
    if math.isnan(price) or price < 0:
        raise InputError(path, f"price must be a non-negative number, got {value!r}", line=line, field="price")
    return price


def read_catalog(path: str | Path, *, text_fields: list[str], id_field: str = "id",
                 field_map: dict[str, str] | None = None, default_lang: str | None = None,
                 detect_lang: bool = False) -> Catalog:
    """Read a catalog. Each row needs the first text field (e.g. `title`); the others are joined when present.

    `id` defaults to the row's line number when the column is absent; duplicate ids are an error. `price` must be a
    number when present; `lang` comes from the row, else `default_lang`, else (with `detect_lang`) language
    identification of the text.
    """
    if not text_fields:
        raise InputError(path, "no text fields given (e.g. --text-fields title,category)")
    ids: list[str] = []
    texts: list[str] = []
    meta: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    columns: set[str] = set()
    for rec in iter_records(path, field_map=field_map, required=[text_fields[0]]):
        columns.update(rec.data)
        parts = []
        for name in text_fields:
            value = rec.data.get(name)
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            if not isinstance(value, str | int | float):
                raise InputError(path, f"expected text, got {type(value).__name__}", line=rec.line, field=name)
            parts.append(str(value).strip())
        raw_id = rec.data.get(id_field)
        item_id = str(raw_id) if raw_id not in (None, "") else str(rec.line)
        if item_id in seen:
            raise InputError(path, f"duplicate id '{item_id}' (first at line {seen[item_id]})", line=rec.line,
                             field=id_field)
        seen[item_id] = rec.line
        row = {k: v for k, v in rec.data.items() if k != id_field}
        row["price"] = _price(rec.data.get("price"), rec.path, rec.line)
        if not row.get("lang"):
            row["lang"] = default_lang
        ids.append(item_id)
        texts.append(". ".join(parts))
        meta.append(row)
    if not ids:
        raise InputError(path, "the catalog has no rows")
    # a field no row has is a typo (e.g. --text-fields titel), not an empty column
    # (the default pair is exempt: a catalog without a category column indexes its titles, as it always did)
    missing = [] if list(text_fields) == list(DEFAULT_TEXT_FIELDS) else [f for f in text_fields if f not in columns]
    if id_field != "id" and id_field not in columns:
        missing.append(id_field)
    if missing:
        raise InputError(path, f"no row has a '{missing[0]}' column (columns: {', '.join(sorted(columns))})",
                         field=missing[0])
    if detect_lang:
        missing = [i for i, m in enumerate(meta) if not m.get("lang")]
        if missing:
            from seaembed.augment.langid import detect_languages

            for i, lang in zip(missing, detect_languages([texts[i] for i in missing]), strict=True):
                meta[i]["lang"] = lang
    return Catalog(ids, texts, meta)
