"""Readers: catalogs, query logs, labelled sets, relevance sets, parallel text and reviews -> normalised rows.

Files are read with `seaembed.data.io.iter_records` (JSONL, CSV/TSV, Parquet), renaming the user's columns with
the source's `fields` mapping. A malformed row is never lost silently: it is logged in the `DropLog` with its
file:line and reason (or raised, with `errors: raise`). Rows without a language get one from `langid`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from seaembed.augment.config import DataConfig, SourceFile, resolve_path
from seaembed.augment.langid import detect_languages
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
from seaembed.data.io import ReadReport, Record, iter_records
from seaembed.errors import InputError

STAGE = "read"


def _text(rec: Record, name: str, *, required: bool = True) -> str:
    value = rec.get(name, required=required)
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise InputError(rec.path, f"expected text, got {type(value).__name__}", line=rec.line, field=name)
    return " ".join(value.split())


def _optional_float(rec: Record, name: str) -> float | None:
    value = rec.get(name, required=False)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return float(str(value).replace(",", "")) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise InputError(rec.path, f"expected a number, got {value!r}", line=rec.line, field=name) from None


def _attributes(rec: Record, name: str = "attributes") -> dict[str, str]:
    value = rec.get(name, required=False)
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        s = value.strip()
        if s.startswith("{"):
            try:
                value = json.loads(s)
            except json.JSONDecodeError:
                raise InputError(rec.path, "attributes: invalid JSON object", line=rec.line, field=name) from None
        else:  # "color: red; size: XL"
            pairs = [p.split(":", 1) for p in s.split(";") if ":" in p]
            return {k.strip(): v.strip() for k, v in pairs if k.strip() and v.strip()}
    if not isinstance(value, dict):
        raise InputError(rec.path, f"expected an object, got {type(value).__name__}", line=rec.line, field=name)
    return {str(k): " ".join(str(v).split()) for k, v in value.items() if v not in (None, "", [])}


def _category(rec: Record, sep: str) -> list[str]:
    value = rec.get("category", required=False)
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return [" ".join(str(v).split()) for v in value if str(v).strip()]
    if not isinstance(value, str):
        raise InputError(rec.path, f"expected a path or a list, got {type(value).__name__}", line=rec.line,
                         field="category")
    return [" ".join(p.split()) for p in value.split(sep) if p.strip()]


def _ids(rec: Record, name: str, sep: str) -> list[str]:
    value = rec.get(name)
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    if isinstance(value, int | str):
        s = str(value).strip()
        if s.startswith("["):
            try:
                return [str(v) for v in json.loads(s)]
            except json.JSONDecodeError:
                raise InputError(rec.path, "invalid JSON list", line=rec.line, field=name) from None
        return [p.strip() for p in s.split(sep) if p.strip()]
    raise InputError(rec.path, f"expected a list of ids, got {type(value).__name__}", line=rec.line, field=name)


def _label01(rec: Record, name: str = "label") -> int:
    value = rec.get(name)
    s = str(value).strip().lower()
    if s in ("1", "1.0", "true", "yes", "relevant"):
        return 1
    if s in ("0", "0.0", "false", "no", "irrelevant"):
        return 0
    raise InputError(rec.path, f"expected 0 or 1, got {value!r}", line=rec.line, field=name)


def _lang(rec: Record, src: SourceFile) -> str | None:
    value = rec.get("lang", required=False)
    return str(value).strip().lower() if value not in (None, "") else src.lang


def _records(src: SourceFile, base: Path | None, required: list[str], drops: DropLog,
             errors: str) -> Iterator[Record]:
    """Records with the user's columns renamed to ours. The mapping is applied here, not by `iter_records`, so that
    a mapped column wins over a column that already has our name (e.g. `category: category_path` in a file that
    has both `category` and `category_path`)."""
    path = resolve_path(src.path, base)
    report = ReadReport()
    columns: set[str] = set()
    for rec in iter_records(path, fmt=src.format, errors=errors, report=report, delimiter=src.delimiter,
                            skip_blank=True):
        columns.update(rec.data)
        data = dict(rec.data)
        for ours, theirs in src.fields.items():
            data[ours] = rec.data.get(theirs)
        yield Record(rec.path, rec.line, data)
    for err in report.errors:
        drops.add(STAGE, "malformed row", where=f"{err.path}:{err.line}" if err.line else err.path,
                  detail=err.reason if err.field is None else f"field '{err.field}': {err.reason}")
    absent = [(ours, theirs) for ours, theirs in src.fields.items() if theirs not in columns]
    if absent and (columns or not report.errors):
        ours, theirs = absent[0]
        raise InputError(path, f"'{ours}' is mapped to the column '{theirs}', which no row has (columns: "
                               f"{', '.join(sorted(columns)) or 'none'})", field=f"fields.{ours}")



def _convert(src: SourceFile, base: Path | None, required: list[str], drops: DropLog, errors: str,
             make: Callable[[Record, str], Any]) -> list[Any]:
    """Read a source and turn each record into a row with `make`; bad rows go to `drops` (or raise)."""
    name = src.name or Path(src.path.split(":", 1)[-1] if src.path.startswith("sample:") else src.path).stem
    rows = []
    for rec in _records(src, base, required, drops, errors):
        try:
            for field_name in required:
                rec.get(field_name)
            rows.append(make(rec, name))
        except InputError as e:
            if errors == "raise":
                raise
            drops.add(STAGE, "malformed row", where=f"{e.path}:{e.line}",
                      detail=e.reason if e.field is None else f"field '{e.field}': {e.reason}")
    return rows


def read_sources(cfg: DataConfig, base: Path | None = None, drops: DropLog | None = None) -> SourceData:
    """Read every configured source; rows without a language get a detected one."""
    drops = drops if drops is not None else DropLog()
    data = SourceData()
    s, errs = cfg.sources, cfg.errors

    for src in s.catalogs:
        def product(rec: Record, name: str, src=src) -> Product:
            return Product(id=_text(rec, "id"), title=_text(rec, "title"),
                           description=_text(rec, "description", required=False),
                           category=_category(rec, src.category_sep), attributes=_attributes(rec),
                           price=_optional_float(rec, "price"), currency=_text(rec, "currency", required=False) or None,
                           brand=_text(rec, "brand", required=False) or None, lang=_lang(rec, src), source=name,
                           where=f"{rec.path}:{rec.line}")
        data.products += _convert(src, base, ["id", "title"], drops, errs, product)

    for src in s.query_logs:
        def qlog(rec: Record, name: str, src=src) -> QueryLog:
            return QueryLog(query=_text(rec, "query"), item_ids=_ids(rec, "item_ids", src.ids_sep),
                            lang=_lang(rec, src), source=name, where=f"{rec.path}:{rec.line}")
        data.query_logs += _convert(src, base, ["query", "item_ids"], drops, errs, qlog)

    for src in s.labelled:
        def labelled(rec: Record, name: str, src=src) -> Labelled:
            label = _text(rec, "label")
            return Labelled(text=_text(rec, "text"), label=label, task=src.task, lang=_lang(rec, src),
                            label_text=src.label_names.get(label), source=name, where=f"{rec.path}:{rec.line}")
        rows = _convert(src, base, ["text", "label"], drops, errs, labelled)
        check_label_names(rows, src.label_names, resolve_path(src.path, base))
        if src.label_space:
            apply_label_space(rows, src.label_space, src.label_map, resolve_path(src.path, base))
        data.labelled += rows

    for src in s.relevance:
        def relevance(rec: Record, name: str, src=src) -> Relevance:
            return Relevance(query=_text(rec, "query"), target=_text(rec, "target"), label=_label01(rec),
                             kind=src.kind, lang=_lang(rec, src), source=name, where=f"{rec.path}:{rec.line}")
        data.relevance += _convert(src, base, ["query", "target", "label"], drops, errs, relevance)

    for src in s.parallel:
        def parallel(rec: Record, name: str, src=src) -> Parallel:
            group = rec.get("group", required=False)
            return Parallel(src=_text(rec, "src"), tgt=_text(rec, "tgt"),
                            src_lang=_text(rec, "src_lang", required=False) or None,
                            tgt_lang=_text(rec, "tgt_lang", required=False) or None,
                            group=None if group in (None, "") else f"{name}:{group}", source=name,
                            where=f"{rec.path}:{rec.line}")
        data.parallel += _convert(src, base, ["src", "tgt"], drops, errs, parallel)

    for src in s.reviews:
        def review(rec: Record, name: str, src=src) -> Review:
            return Review(item_id=_text(rec, "item_id"), text=_text(rec, "text"),
                          rating=_optional_float(rec, "rating"), lang=_lang(rec, src), source=name,
                          where=f"{rec.path}:{rec.line}")
        rows = _convert(src, base, ["item_id", "text"], drops, errs, review)
        for r in rows:
            if src.min_rating is not None and (r.rating is None or r.rating < src.min_rating):
                drops.add(STAGE, "review rating below min_rating", where=r.where, preview=r.text)
            else:
                data.reviews.append(r)

    for kind in ("products", "query_logs", "labelled", "relevance", "parallel", "reviews"):
        for row in getattr(data, kind):
            data.rows_read[row.source] = data.rows_read.get(row.source, 0) + 1
    if cfg.langid.enabled:
        fill_languages(data, cfg.langid.langs)
    return data


def check_label_names(rows: list[Labelled], label_names: dict[str, str], path: Path) -> None:
    """With `label_names` given, every label of the file must have a name and every name must be of a label that
    occurs: a name for a label no row carries is a typo or an off-by-one (names for 0-4 over labels 1-5), and
    would make the unnamed labels train toward their bare code. Raises `InputError` naming the file and the label."""
    if not label_names:
        return
    first: dict[str, str] = {}
    for r in rows:
        first.setdefault(r.label, r.where)
    unnamed = [lab for lab in first if lab not in label_names]
    if unnamed:
        where = first[unnamed[0]]
        line = where.rsplit(":", 1)[-1]
        raise InputError(path, f"label {unnamed[0]!r} has no name in label_names (names given for "
                         f"{_labels(label_names)}; labels in the file: {_labels(first)})",
                         line=int(line) if line.isdigit() else None, field="label")
    unused = [lab for lab in label_names if lab not in first]
    if unused:
        raise InputError(path, f"label {unused[0]!r} is named in label_names but no row carries it (labels in the "
                         f"file: {_labels(first)})", field="label_names")


def apply_label_space(rows: list[Labelled], space: str, label_map: dict[str, str], path: Path) -> None:
    """Give each row the shared label "<space>:<name>" (name = `label_map[label]`, default the label itself), so
    sources mapped into one label space share class keys; the positive's text does not change. A `label_map` entry for a label no row carries is an
    error, as for `label_names`."""
    seen = {r.label for r in rows}
    unused = [lab for lab in label_map if lab not in seen]
    if unused:
        raise InputError(path, f"label {unused[0]!r} is in label_map but no row carries it (labels in the file: "
                         f"{_labels(seen)})", field="label_map")
    for r in rows:
        # the positive's text stays the source's own (its label_names entry, else its label)
        r.label_text = r.label_text or r.label
        r.label = f"{space}:{label_map.get(r.label, r.label)}"


def _labels(labels: Iterable[str]) -> str:
    return ", ".join(repr(x) for x in sorted(labels)) or "none"


def fill_languages(data: SourceData, langs: list[str]) -> int:
    """Detect the language of every row that has none; returns how many were detected."""
    # (rows, language attribute, the text it is detected from)
    fields: list[tuple[list, str, Callable[[Any], str]]] = [
        (data.products, "lang", lambda p: p.title + " " + p.description[:200]),
        (data.query_logs, "lang", lambda q: q.query),
        (data.labelled, "lang", lambda r: r.text),
        (data.relevance, "lang", lambda r: r.query),
        (data.reviews, "lang", lambda r: r.text),
        (data.parallel, "src_lang", lambda r: r.src),
        (data.parallel, "tgt_lang", lambda r: r.tgt),
    ]
    slots = [(row, attr, text(row)) for rows, attr, text in fields for row in rows if not getattr(row, attr)]
    found = detect_languages([t for _, _, t in slots], langs) if slots else []
    for (row, attr, _), lang in zip(slots, found, strict=True):
        setattr(row, attr, lang)
    return len(slots)
