"""Evaluation tasks: load a task directory (design.md "Evaluation task" format) and validate it.

A task directory holds `task.json` (`type`, `name`, `languages`, `main_metric`, optional prompts) and the files
of its type. Every problem raises an `InputError` naming the file (and line and field where there is one), so a
user never sees a traceback for a bad task.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seaembed.data.io import iter_records
from seaembed.errors import InputError

TASK_TYPES = ("retrieval", "classification", "pair-classification", "bitext", "clustering")

# The metrics each task type reports (the keys of `metrics` in results.json); the first is the default main one.
METRICS: dict[str, tuple[str, ...]] = {
    "retrieval": ("ndcg_at_10", "recall_at_10", "recall_at_100", "mrr_at_10", "map_at_10"),
    "classification": ("accuracy", "f1_macro", "accuracy_std", "f1_macro_std"),
    "pair-classification": ("f1", "ap", "precision", "recall", "accuracy"),
    "bitext": ("f1", "accuracy", "precision", "recall"),
    "clustering": ("v_measure",),
}

# The files each type needs, relative to the task directory (optional ones are not listed).
REQUIRED_FILES: dict[str, tuple[str, ...]] = {
    "retrieval": ("corpus.jsonl", "queries.jsonl", "qrels/test.tsv"),
    "classification": ("train.jsonl", "test.jsonl"),
    "pair-classification": ("test.jsonl",),
    "bitext": ("pairs.jsonl",),
    "clustering": ("test.jsonl",),
}


@dataclass
class Example:
    """One labelled text (classification, clustering)."""

    text: str
    label: str
    lang: str | None = None


@dataclass
class Pair:
    """One text pair with a 0/1 label (pair classification)."""

    text1: str
    text2: str
    label: int
    lang: str | None = None


@dataclass
class BitextPair:
    """One translation pair (bitext mining)."""

    src: str
    tgt: str
    src_lang: str
    tgt_lang: str


@dataclass
class Task:
    """A loaded, validated evaluation task. Only the fields of its `type` are filled."""

    name: str
    type: str
    path: Path
    languages: list[str]
    main_metric: str
    query_prompt: str | None = None
    passage_prompt: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    # retrieval
    corpus: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> {"title","text","lang"}
    queries: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> {"text","lang"}
    qrels: dict[str, dict[str, int]] = field(default_factory=dict)  # query id -> {corpus id: score}
    # classification / clustering / pair-classification / bitext
    train: list[Example] = field(default_factory=list)
    test: list[Any] = field(default_factory=list)
    dev: list[Pair] | None = None
    pairs: list[BitextPair] = field(default_factory=list)

    @property
    def symmetric_prompt(self) -> str | None:
        """The prompt for symmetric tasks (both sides encoded alike): `query_prompt`, as e5 recommends."""
        return self.query_prompt

    def describe(self) -> dict[str, int]:
        """Sizes, for logs and results."""
        if self.type == "retrieval":
            return {"corpus": len(self.corpus), "queries": len(self.qrels), "qrels": sum(map(len, self.qrels.values()))}
        if self.type == "classification":
            return {"train": len(self.train), "test": len(self.test)}
        if self.type == "pair-classification":
            return {"test": len(self.test), "dev": len(self.dev or [])}
        if self.type == "bitext":
            return {"pairs": len(self.pairs)}
        return {"test": len(self.test)}


def find_task_dirs(paths: list[str | Path] | tuple[str | Path, ...]) -> list[Path]:
    """Expand each path to task directories: a dir with `task.json`, or a dir whose sub-directories have one."""
    found: list[Path] = []
    for p in paths:
        p = Path(p)
        if not p.exists():
            raise InputError(p, "no such task directory")
        if not p.is_dir():
            raise InputError(p, "is a file; expected a task directory (with task.json) or a directory of them")
        if (p / "task.json").is_file():
            found.append(p)
            continue
        subs = sorted(d.parent for d in p.rglob("task.json"))
        if not subs:
            raise InputError(p / "task.json", "no such file (and no sub-directory has one): not a task directory")
        found.extend(subs)
    seen: set[Path] = set()
    unique = []
    for d in found:
        if d.resolve() not in seen:
            seen.add(d.resolve())
            unique.append(d)
    return unique


def _read_task_json(path: Path) -> dict[str, Any]:
    meta_path = path / "task.json"
    if not meta_path.is_file():
        raise InputError(meta_path, "no such file: a task directory needs task.json (type, name, languages, main_metric)")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise InputError(meta_path, f"invalid JSON ({e.msg})", line=e.lineno) from None
    if not isinstance(meta, dict):
        raise InputError(meta_path, "expected a JSON object")
    ttype = meta.get("type")
    if ttype not in TASK_TYPES:
        raise InputError(meta_path, f"must be one of {', '.join(TASK_TYPES)}; got {ttype!r}", field="type")
    main = meta.get("main_metric", METRICS[ttype][0])
    if main not in METRICS[ttype]:
        raise InputError(meta_path, f"{ttype} tasks report {', '.join(METRICS[ttype])}; got {main!r}",
                         field="main_metric")
    meta["main_metric"] = main
    langs = meta.get("languages", [])
    if isinstance(langs, str):
        langs = [langs]
    if not isinstance(langs, list) or not all(isinstance(x, str) for x in langs):
        raise InputError(meta_path, "expected a list of language codes", field="languages")
    meta["languages"] = langs
    for key in ("query_prompt", "passage_prompt"):
        if key in meta and meta[key] is not None and not isinstance(meta[key], str):
            raise InputError(meta_path, "expected a prompt name (string) or null", field=key)
    return meta


def _check_files(path: Path, ttype: str) -> None:
    missing = [f for f in REQUIRED_FILES[ttype] if not (path / f).is_file()]
    if missing:
        raise InputError(path / missing[0], f"no such file: a {ttype} task needs {', '.join(REQUIRED_FILES[ttype])}"
                         f" (missing: {', '.join(missing)})")


def _str(rec, name: str, *, required: bool = True) -> str | None:
    value = rec.get(name, required=required)
    if value is None or (not required and value == ""):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise InputError(rec.path, f"expected a string, got {type(value).__name__}", line=rec.line, field=name)
    return value


def _read_labelled(path: Path) -> list[Example]:
    out = []
    for rec in iter_records(path, fmt="jsonl", required=["text", "label"]):
        out.append(Example(_str(rec, "text"), _str(rec, "label"), _str(rec, "lang", required=False)))
    if not out:
        raise InputError(path, "empty file: no labelled rows")
    return out


def _check_classes(path: Path, rows: list[Example]) -> None:
    classes = Counter(r.label for r in rows)
    if len(classes) < 2:
        only = next(iter(classes))
        raise InputError(path, f"has one class ({only!r}); a label column needs at least two", field="label")


def _read_pairs(path: Path) -> list[Pair]:
    out = []
    for rec in iter_records(path, fmt="jsonl", required=["text1", "text2", "label"]):
        label = rec.get("label")
        if isinstance(label, str) and label.strip() in ("0", "1"):
            label = int(label.strip())
        if isinstance(label, bool) or label not in (0, 1):
            raise InputError(path, f"expected 0 or 1, got {label!r}", line=rec.line, field="label")
        out.append(Pair(_str(rec, "text1"), _str(rec, "text2"), int(label), _str(rec, "lang", required=False)))
    if not out:
        raise InputError(path, "empty file: no pairs")
    if len({p.label for p in out}) < 2:
        raise InputError(path, f"has one class ({out[0].label}); a label column needs both 0 and 1", field="label")
    return out


def _load_retrieval(task: Task) -> None:
    corpus_path, queries_path, qrels_path = (task.path / f for f in REQUIRED_FILES["retrieval"])
    for rec in iter_records(corpus_path, fmt="jsonl", required=["_id"]):
        doc_id = _str(rec, "_id")
        if doc_id in task.corpus:
            raise InputError(corpus_path, f"duplicate _id {doc_id!r}", line=rec.line, field="_id")
        title = _str(rec, "title", required=False) or ""
        text = _str(rec, "text", required=False) or ""
        if not (title or text):
            raise InputError(corpus_path, "a document needs a title or a text", line=rec.line, field="text")
        task.corpus[doc_id] = {"title": title, "text": text, "lang": _str(rec, "lang", required=False)}
    if not task.corpus:
        raise InputError(corpus_path, "empty corpus: no documents")
    for rec in iter_records(queries_path, fmt="jsonl", required=["_id", "text"]):
        qid = _str(rec, "_id")
        if qid in task.queries:
            raise InputError(queries_path, f"duplicate _id {qid!r}", line=rec.line, field="_id")
        task.queries[qid] = {"text": _str(rec, "text"), "lang": _str(rec, "lang", required=False)}
    if not task.queries:
        raise InputError(queries_path, "empty file: no queries")
    n = 0
    for rec in iter_records(qrels_path, fmt="tsv", delimiter="\t", required=["query-id", "corpus-id", "score"]):
        qid, did = _str(rec, "query-id"), _str(rec, "corpus-id")
        if qid not in task.queries:
            raise InputError(qrels_path, f"query-id {qid!r} is not in queries.jsonl", line=rec.line, field="query-id")
        if did not in task.corpus:
            raise InputError(qrels_path, f"corpus-id {did!r} is not in corpus.jsonl", line=rec.line,
                             field="corpus-id")
        try:
            score = int(float(rec.get("score")))
        except ValueError:
            raise InputError(qrels_path, f"expected an integer, got {rec.get('score')!r}", line=rec.line,
                             field="score") from None
        task.qrels.setdefault(qid, {})[did] = score
        n += 1
    if n == 0:
        raise InputError(qrels_path, "no judgements: expected a header 'query-id\tcorpus-id\tscore' and rows")
    if not any(s > 0 for rel in task.qrels.values() for s in rel.values()):
        raise InputError(qrels_path, "no positive judgement (score > 0)", field="score")


def load_task(path: str | Path) -> Task:
    """Load and validate the task in directory `path`."""
    path = Path(path)
    if not path.is_dir():
        raise InputError(path, "no such task directory")
    meta = _read_task_json(path)
    ttype = meta["type"]
    _check_files(path, ttype)
    default_q = "query"
    task = Task(
        name=str(meta.get("name") or path.name), type=ttype, path=path, languages=meta["languages"],
        main_metric=meta["main_metric"], query_prompt=meta.get("query_prompt", default_q),
        passage_prompt=meta.get("passage_prompt", "passage" if ttype == "retrieval" else default_q), meta=meta,
    )
    if ttype == "retrieval":
        _load_retrieval(task)
    elif ttype == "classification":
        task.train = _read_labelled(path / "train.jsonl")
        task.test = _read_labelled(path / "test.jsonl")
        _check_classes(path / "train.jsonl", task.train)
        unseen = sorted({r.label for r in task.test} - {r.label for r in task.train})
        if unseen:
            raise InputError(path / "test.jsonl", f"labels not in train.jsonl: {', '.join(map(repr, unseen[:5]))}",
                             field="label")
    elif ttype == "pair-classification":
        task.test = _read_pairs(path / "test.jsonl")
        if (path / "dev.jsonl").is_file():
            task.dev = _read_pairs(path / "dev.jsonl")
    elif ttype == "bitext":
        p = path / "pairs.jsonl"
        for rec in iter_records(p, fmt="jsonl", required=["src", "tgt", "src_lang", "tgt_lang"]):
            task.pairs.append(BitextPair(*(_str(rec, k) for k in ("src", "tgt", "src_lang", "tgt_lang"))))
        if not task.pairs:
            raise InputError(p, "empty file: no pairs")
    else:
        task.test = _read_labelled(path / "test.jsonl")
        _check_classes(path / "test.jsonl", task.test)
    return task
