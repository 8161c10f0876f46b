"""Read a product catalog (JSONL/CSV/TSV/Parquet) into the texts to embed and the metadata to filter on."""

from __future__ import annotations

import math
from collections.abc import Iterator
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


def iter_catalog(path: str | Path, *, text_fields: list[str], id_field: str = "id",
                 field_map: dict[str, str] | None = None, default_lang: str | None = None,
                 detect_lang: bool = False, chunk_rows: int = 4096) -> Iterator[Catalog]:
    """Stream a catalog as `Catalog` chunks of up to `chunk_rows` rows (the rules are `read_catalog`'s).

    Only the ids seen so far (for the duplicate check) grow with the catalog. The checks that need every row (an
    empty catalog, a text or id field no row has) raise after the last chunk, so a caller writing the chunks
    somewhere should commit them only once the iteration finished."""
    if not text_fields:
        raise InputError(path, "no text fields given (e.g. --text-fields title,category)")
    seen: dict[str, int] = {}
    columns: set[str] = set()
    chunk = Catalog([], [], [])
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
        chunk.ids.append(item_id)
        chunk.texts.append(". ".join(parts))
        chunk.meta.append(row)
        if len(chunk.ids) >= chunk_rows:
            yield _with_languages(chunk, detect_lang)
            chunk = Catalog([], [], [])
    if not seen:
        raise InputError(path, "the catalog has no rows")
    # a field no row has is a typo (e.g. --text-fields titel), not an empty column
    # (the default pair is exempt: a catalog without a category column indexes its titles, as it always did)
    missing = [] if list(text_fields) == list(DEFAULT_TEXT_FIELDS) else [f for f in text_fields if f not in columns]
    if id_field != "id" and id_field not in columns:
        missing.append(id_field)
    if missing:
        raise InputError(path, f"no row has a '{missing[0]}' column (columns: {', '.join(sorted(columns))})",
                         field=missing[0])
    if chunk.ids:
        yield _with_languages(chunk, detect_lang)


def _with_languages(chunk: Catalog, detect_lang: bool) -> Catalog:
    """`chunk` with the language of rows without one identified (when `detect_lang`)."""
    missing = [i for i, m in enumerate(chunk.meta) if not m.get("lang")] if detect_lang else []
    if missing:
        from seaembed.augment.langid import detect_languages

        for i, lang in zip(missing, detect_languages([chunk.texts[i] for i in missing]), strict=True):
            chunk.meta[i]["lang"] = lang
    return chunk


def read_catalog(path: str | Path, *, text_fields: list[str], id_field: str = "id",
                 field_map: dict[str, str] | None = None, default_lang: str | None = None,
                 detect_lang: bool = False) -> Catalog:
    """Read a whole catalog. Each row needs the first text field (e.g. `title`); the others are joined when present.

    `id` defaults to the row's line number when the column is absent; duplicate ids are an error. `price` must be a
    number when present; `lang` comes from the row, else `default_lang`, else (with `detect_lang`) language
    identification of the text. `iter_catalog` streams the same rows in chunks.
    """
    out = Catalog([], [], [])
    for chunk in iter_catalog(path, text_fields=text_fields, id_field=id_field, field_map=field_map,
                              default_lang=default_lang, detect_lang=detect_lang):
        out.ids += chunk.ids
        out.texts += chunk.texts
        out.meta += chunk.meta
    return out
