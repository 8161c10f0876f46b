"""The normalised rows the readers produce, and the log of every row a stage drops (with its reason)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar


@dataclass
class Product:
    id: str
    title: str
    description: str = ""
    category: list[str] = field(default_factory=list)  # path from root to leaf
    attributes: dict[str, str] = field(default_factory=dict)
    price: float | None = None
    currency: str | None = None
    brand: str | None = None
    lang: str | None = None
    source: str = "catalog"
    where: str = ""  # file:line


@dataclass
class QueryLog:
    query: str
    item_ids: list[str]
    lang: str | None = None
    source: str = "query-log"
    where: str = ""


@dataclass
class Labelled:
    text: str
    label: str
    task: str = "classification"
    label_text: str | None = None  # the positive's text when it differs from the label (see `label_names`)
    lang: str | None = None
    source: str = "labelled"
    where: str = ""


@dataclass
class Relevance:
    query: str
    target: str  # an item id, an item text, or a category
    label: int  # 1 relevant, 0 not
    kind: str = "item"
    lang: str | None = None
    source: str = "relevance"
    where: str = ""


@dataclass
class Parallel:
    src: str
    tgt: str
    src_lang: str | None = None
    tgt_lang: str | None = None
    group: str | None = None
    source: str = "parallel"
    where: str = ""


@dataclass
class Review:
    item_id: str
    text: str
    rating: float | None = None
    lang: str | None = None
    source: str = "reviews"
    where: str = ""


@dataclass
class SourceData:
    """Everything the readers read."""

    products: list[Product] = field(default_factory=list)
    query_logs: list[QueryLog] = field(default_factory=list)
    labelled: list[Labelled] = field(default_factory=list)
    relevance: list[Relevance] = field(default_factory=list)
    parallel: list[Parallel] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)
    rows_read: dict[str, int] = field(default_factory=dict)  # per source name

    ROWS_FORMAT: ClassVar[int] = 2  # iter_rows/load: a header line {"rows_read": ...}, then one row a line

    def iter_rows(self) -> Iterator[dict[str, Any]]:
        """The header, then every row as a dict tagged with its kind (`_kind`), for a streamed JSONL file."""
        yield {"rows_read": self.rows_read}
        for kind in KINDS:
            for x in getattr(self, kind):
                yield {"_kind": kind, **asdict(x)}

    @classmethod
    def load(cls, path: str | Path, kinds: Iterable[str] | None = None) -> SourceData:
        """Read a file written from `iter_rows` line by line, keeping only the rows of `kinds` (None: all; an
        empty list: only `rows_read`)."""
        keep = set(KINDS) if kinds is None else set(kinds)
        data = cls()
        with open(path, encoding="utf-8") as f:
            data.rows_read = json.loads(f.readline())["rows_read"]
            for line in f if keep else ():
                row = json.loads(line)
                kind = row.pop("_kind")
                if kind in keep:
                    getattr(data, kind).append(KINDS[kind](**row))
        return data

    @staticmethod
    def iter_kind(path: str | Path, kind: str) -> Iterator[Any]:
        """The rows of one kind of a file written from `iter_rows`, one at a time."""
        with open(path, encoding="utf-8") as f:
            f.readline()
            for line in f:
                row = json.loads(line)
                if row.pop("_kind") == kind:
                    yield KINDS[kind](**row)

    def to_json(self) -> dict[str, Any]:
        return {k: ([asdict(x) for x in v] if isinstance(v, list) else v) for k, v in self.__dict__.items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SourceData:
        kinds = {"products": Product, "query_logs": QueryLog, "labelled": Labelled, "relevance": Relevance,
                 "parallel": Parallel, "reviews": Review}
        return cls(**{k: [kinds[k](**x) for x in data.get(k, [])] for k in kinds}, rows_read=data.get("rows_read", {}))


KINDS: dict[str, type] = {"products": Product, "query_logs": QueryLog, "labelled": Labelled, "relevance": Relevance,
                          "parallel": Parallel, "reviews": Review}


@dataclass
class Drop:
    """One dropped (or down-weighted) row: which stage, why, where it came from, and a short preview."""

    stage: str
    reason: str
    where: str = ""
    detail: str = ""
    preview: str = ""
    lang: str = ""  # the row's language ("" when the stage does not know it, e.g. a malformed source row)


class DropLog:
    """Every row a stage drops, so that none is lost silently; the report counts them per reason."""

    def __init__(self) -> None:
        self.drops: list[Drop] = []

    def add(self, stage: str, reason: str, *, where: str = "", detail: str = "", preview: str = "",
            lang: str | None = None) -> None:
        self.drops.append(Drop(stage, reason, where, detail, preview[:120], lang or ""))

    def extend(self, other: DropLog) -> None:
        self.drops.extend(other.drops)

    def counts(self) -> dict[str, int]:
        return dict(Counter(f"{d.stage}: {d.reason}" for d in self.drops))

    def counts_per_lang(self) -> dict[str, dict[str, int]]:
        """language -> "stage: reason" -> rows ("und" where the language is not known)."""
        out: dict[str, Counter[str]] = {}
        for d in self.drops:
            out.setdefault(d.lang or "und", Counter())[f"{d.stage}: {d.reason}"] += 1
        return {lang: dict(c.most_common()) for lang, c in sorted(out.items())}

    def to_json(self) -> list[dict[str, Any]]:
        return [asdict(d) for d in self.drops]

    @classmethod
    def from_json(cls, rows: list[dict[str, Any]]) -> DropLog:
        log = cls()
        log.drops = [Drop(**r) for r in rows]
        return log

    def __len__(self) -> int:
        return len(self.drops)
