"""`seaembed eval make-task`: turn a CSV/TSV/JSONL/Parquet/txt file into a task directory (design.md format).

- retrieval: rows of (query, text) -> texts deduplicated into a corpus, each query judges its texts relevant; or
  rows of (text, label) -> each label name is a query, the texts of that label are its relevant documents.
  `input2` adds distractor documents (its `text` field) to the corpus.
- classification: rows of (text, label[, lang]), repeats of (text, label) dropped; split into train/test by `test_fraction` (stratified), or
  `input` is train and `input2` is test.
- pair-classification: rows of (text1, text2, label 0/1[, lang]); split into dev/test by `test_fraction`
  (`1.0` keeps all as test, no dev), or `input` is dev and `input2` is test.
- bitext: rows of (src, tgt[, src_lang, tgt_lang]); or `input` holds the source side and `input2` the target
  side, aligned by `id_field` if given (txt files may be `id<TAB>text` lines, aligned by that id), else by row.
- clustering: rows of (text, label[, lang]) -> test.jsonl.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seaembed.atomic import atomic_dir, write_json, write_jsonl
from seaembed.data.io import detect_format, iter_records
from seaembed.errors import InputError
from seaembed.evaluate.tasks import METRICS, TASK_TYPES, load_task


@dataclass
class Fields:
    """Names of the user's columns (ours -> theirs)."""

    text: str = "text"
    text2: str = "text2"
    label: str = "label"
    query: str = "query"
    title: str | None = None
    lang: str = "lang"
    src: str = "src"
    tgt: str = "tgt"
    src_lang: str = "src_lang"
    tgt_lang: str = "tgt_lang"
    id: str | None = None


def _value(rec, name: str | None, *, required: bool = True) -> str | None:
    if name is None:
        return None
    v = rec.get(name, required=required)
    if v is None or v == "":
        return None
    return v if isinstance(v, str) else str(v)


def _records(path: Path, required: list[str]) -> list:
    rows = list(iter_records(path, required=required, skip_blank=True))
    if not rows:
        raise InputError(path, "empty file: no rows")
    return rows


def _lang(rec, fields: Fields, default: str | None) -> str | None:
    return _value(rec, fields.lang, required=False) or default


def _split(rows: list, fraction: float, seed: int, key=None) -> tuple[list, list]:
    """(rest, test): `fraction` of the rows, per `key` group (stratified) when given, go to test."""
    if not 0 < fraction <= 1:
        raise InputError("--test-fraction", f"must be in (0, 1], got {fraction}")
    rng = random.Random(seed)
    groups: dict[Any, list] = defaultdict(list)
    for r in rows:
        groups[key(r) if key else None].append(r)
    rest, test = [], []
    for _, items in sorted(groups.items(), key=lambda kv: str(kv[0])):
        items = items[:]
        rng.shuffle(items)
        n_test = len(items) if fraction >= 1 else max(1, round(len(items) * fraction)) if len(items) > 1 else 0
        test += items[:n_test]
        rest += items[n_test:]
    return rest, test


def _retrieval(out: Path, inp: Path, inp2: Path | None, f: Fields, lang: str | None) -> None:
    first = next(iter(iter_records(inp, skip_blank=True)), None)
    if first is None:
        raise InputError(inp, "empty file: no rows")
    by_query = f.query in first.data
    required = [f.query if by_query else f.label, f.text]
    corpus: dict[str, dict] = {}
    queries: dict[str, dict] = {}
    qrels: dict[str, set[str]] = defaultdict(set)
    for rec in _records(inp, required):
        text, row_lang = _value(rec, f.text), _lang(rec, f, lang)
        title = _value(rec, f.title, required=False) or ""
        doc_key = (title, text)
        if doc_key not in corpus:
            corpus[doc_key] = {"_id": f"d{len(corpus)}", "title": title, "text": text, "lang": row_lang}
        q = _value(rec, f.query if by_query else f.label)
        qkey = (q, row_lang) if by_query else q
        if qkey not in queries:
            queries[qkey] = {"_id": f"q{len(queries)}", "text": q, "lang": row_lang if by_query else lang}
        qrels[queries[qkey]["_id"]].add(corpus[doc_key]["_id"])
    if inp2 is not None:
        for rec in _records(inp2, [f.text]):
            title = _value(rec, f.title, required=False) or ""
            key = (title, _value(rec, f.text))
            if key not in corpus:
                corpus[key] = {"_id": f"d{len(corpus)}", "title": title, "text": key[1], "lang": _lang(rec, f, lang)}
    write_jsonl(out / "corpus.jsonl", [{k: v for k, v in d.items() if v is not None} for d in corpus.values()])
    write_jsonl(out / "queries.jsonl", [{k: v for k, v in q.items() if v is not None} for q in queries.values()])
    lines = ["query-id\tcorpus-id\tscore"] + [f"{q}\t{d}\t1" for q, docs in qrels.items() for d in sorted(docs)]
    (out / "qrels").mkdir()
    (out / "qrels" / "test.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _labelled(path: Path, f: Fields, lang: str | None) -> list[dict]:
    """Rows of (text, label[, lang]); exact repeats of (text, label) are dropped so one text cannot sit in both
    train and test (review datasets repeat a product name once per review)."""
    rows = []
    seen: set[tuple[str, str]] = set()
    for rec in _records(path, [f.text, f.label]):
        row = {"text": _value(rec, f.text), "label": _value(rec, f.label)}
        if (row["text"], row["label"]) in seen:
            continue
        seen.add((row["text"], row["label"]))
        if (row_lang := _lang(rec, f, lang)) is not None:
            row["lang"] = row_lang
        rows.append(row)
    return rows


def _pairs(path: Path, f: Fields, lang: str | None) -> list[dict]:
    rows = []
    for rec in _records(path, [f.text, f.text2, f.label]):
        label = _value(rec, f.label).strip()
        if label not in ("0", "1", "0.0", "1.0", "True", "False", "true", "false"):
            raise InputError(path, f"expected 0 or 1, got {label!r}", line=rec.line, field=f.label)
        row = {"text1": _value(rec, f.text), "text2": _value(rec, f.text2),
               "label": int(label in ("1", "1.0", "True", "true"))}
        if (row_lang := _lang(rec, f, lang)) is not None:
            row["lang"] = row_lang
        rows.append(row)
    return rows


_ID_TAB = re.compile(r"^(\S+)\t(.*\S.*)$")


def _side(path: Path, f: Fields) -> list[tuple[str | None, str, int]]:
    """(id or None, text, line) of one side of a bitext made of two files."""
    if detect_format(path) == "txt":
        rows = list(iter_records(path, skip_blank=True))
        parsed = [_ID_TAB.match(r.data["text"]) for r in rows]
        if rows and all(parsed):
            return [(m.group(1), m.group(2), r.line) for m, r in zip(parsed, rows, strict=True)]
        return [(None, r.data["text"], r.line) for r in rows]
    return [(_value(r, f.id) if f.id else None, _value(r, f.text), r.line)
            for r in _records(path, [f.text] + ([f.id] if f.id else []))]


def _bitext(inp: Path, inp2: Path | None, f: Fields, src_lang: str | None, tgt_lang: str | None) -> list[dict]:
    if inp2 is None:
        rows = []
        for rec in _records(inp, [f.src, f.tgt]):
            sl = _value(rec, f.src_lang, required=False) or src_lang
            tl = _value(rec, f.tgt_lang, required=False) or tgt_lang
            if not (sl and tl):
                raise InputError(inp, "no source/target language: add the columns or pass --src-lang/--tgt-lang",
                                 line=rec.line, field=f.src_lang)
            rows.append({"src": _value(rec, f.src), "tgt": _value(rec, f.tgt), "src_lang": sl, "tgt_lang": tl})
        return rows
    if not (src_lang and tgt_lang):
        raise InputError(inp2, "a bitext from two files needs --src-lang and --tgt-lang")
    a, b = _side(inp, f), _side(inp2, f)
    if all(i is not None for i, _, _ in a + b):
        tgt = {i: t for i, t, _ in b}
        pairs = [(s, tgt[i]) for i, s, _ in a if i in tgt]
        if not pairs:
            raise InputError(inp2, f"no id in common with {inp}")
    else:
        if len(a) != len(b):
            raise InputError(inp2, f"has {len(b)} rows, {inp} has {len(a)}: aligned-by-row files must match "
                             "(or give an id column with --id-field)")
        pairs = [(s, t) for (_, s, _), (_, t, _) in zip(a, b, strict=True)]
    return [{"src": s, "tgt": t, "src_lang": src_lang, "tgt_lang": tgt_lang} for s, t in pairs]


def make_task(
    task_type: str, inp: str | Path, out: str | Path, name: str, *, inp2: str | Path | None = None,
    fields: Fields | None = None, lang: str | None = None, src_lang: str | None = None,
    tgt_lang: str | None = None, test_fraction: float = 0.3, seed: int = 0, main_metric: str | None = None,
    max_rows: int | None = None,
) -> Path:
    """Build a task directory at `out` (written atomically) and validate it by loading it back."""
    if task_type not in TASK_TYPES:
        raise InputError("--type", f"must be one of {', '.join(TASK_TYPES)}, got {task_type!r}")
    f = fields or Fields()
    inp, out = Path(inp), Path(out)
    inp2 = Path(inp2) if inp2 else None
    meta: dict[str, Any] = {"type": task_type, "name": name, "main_metric": main_metric or METRICS[task_type][0],
                            "source": [str(p) for p in (inp, inp2) if p], "created_by": "seaembed eval make-task"}
    with atomic_dir(out) as tmp:
        langs: set[str] = set()
        if task_type == "retrieval":
            _retrieval(tmp, inp, inp2, f, lang)
        elif task_type in ("classification", "clustering"):
            rows = _labelled(inp, f, lang)
            if task_type == "clustering":
                write_jsonl(tmp / "test.jsonl", _cap(rows, max_rows, seed))
            elif inp2 is not None:
                write_jsonl(tmp / "train.jsonl", rows)
                write_jsonl(tmp / "test.jsonl", _labelled(inp2, f, lang))
            else:
                train, test = _split(rows, test_fraction, seed, key=lambda r: r["label"])
                write_jsonl(tmp / "train.jsonl", train)
                write_jsonl(tmp / "test.jsonl", test)
            meta["seed"] = seed
        elif task_type == "pair-classification":
            rows = _pairs(inp, f, lang)
            if inp2 is not None:
                write_jsonl(tmp / "dev.jsonl", rows)
                write_jsonl(tmp / "test.jsonl", _pairs(inp2, f, lang))
            elif test_fraction >= 1:
                write_jsonl(tmp / "test.jsonl", rows)
            else:
                dev, test = _split(rows, test_fraction, seed, key=lambda r: r["label"])
                write_jsonl(tmp / "dev.jsonl", dev)
                write_jsonl(tmp / "test.jsonl", test)
            meta["seed"] = seed
        else:
            rows = _bitext(inp, inp2, f, src_lang, tgt_lang)
            write_jsonl(tmp / "pairs.jsonl", _cap(rows, max_rows, seed))
            langs = {r["src_lang"] for r in rows} | {r["tgt_lang"] for r in rows}
        for file in tmp.rglob("*.jsonl"):
            for rec in iter_records(file, fmt="jsonl"):
                if rec.data.get("lang"):
                    langs.add(rec.data["lang"])
        meta["languages"] = sorted(langs) or ([lang] if lang else [])
        write_json(tmp / "task.json", meta)
        try:
            load_task(tmp)  # the same checks a user's own task gets; raises before anything is published
        except InputError as e:
            raise InputError(e.path.replace(str(tmp), str(out)), f"{e.reason} (built from {inp})", line=e.line,
                             field=e.field) from None
    return out


def _cap(rows: list, max_rows: int | None, seed: int) -> list:
    if max_rows is None or len(rows) <= max_rows:
        return rows
    rng = random.Random(seed)
    return [rows[i] for i in sorted(rng.sample(range(len(rows)), max_rows))]
