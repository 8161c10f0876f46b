"""Read user files (txt, JSONL, CSV/TSV, Parquet) as records, locating every problem as file:line and field.

`iter_records` is the one reader every stage uses. With `errors="raise"` the first bad row stops the run with an
`InputError`; with `errors="collect"` bad rows are appended to `report.errors` (each still located and counted) and
reading goes on, so nothing is silently lost.

Every format is streamed: a line (or a batch of `PARQUET_BATCH_ROWS` Parquet rows) at a time, so memory does not
grow with the file, and the rows before a bad one come out before it is reached.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from seaembed.errors import InputError

FORMATS = ("txt", "jsonl", "csv", "tsv", "parquet")
PARQUET_BATCH_ROWS = 1024  # rows held as Python objects at once when reading Parquet


@dataclass
class Record:
    """One row of a user file: its 1-based line (row for Parquet) and its fields."""

    path: str
    line: int
    data: dict[str, Any]

    def get(self, name: str, *, required: bool = True, default: Any = None) -> Any:
        """The value of field `name`; a missing or empty required field raises an `InputError` naming it."""
        value = self.data.get(name, default)
        if required and (value is None or (isinstance(value, str) and not value.strip())):
            raise InputError(self.path, "missing or empty", line=self.line, field=name)
        return value


@dataclass
class ReadReport:
    """What a read saw: rows read and bad rows (each an `InputError` with file:line)."""

    rows: int = 0
    errors: list[InputError] = field(default_factory=list)


def detect_format(path: str | Path) -> str:
    """The format of `path` from its suffix (.txt, .jsonl/.json/.ndjson, .csv, .tsv, .parquet)."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    ext = suffixes[-1] if suffixes else ""
    mapping = {".txt": "txt", ".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl", ".csv": "csv",
               ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet"}
    if ext not in mapping:
        raise InputError(path, f"cannot tell the format from the suffix '{ext}'; use one of {', '.join(FORMATS)}")
    return mapping[ext]


def _lines(path: Path, fail: Callable[[InputError], None] | None = None) -> Iterator[tuple[int, str]]:
    """Decoded lines with their 1-based numbers; a line of invalid UTF-8 goes to `fail` (which raises or collects
    it; the line is skipped) or, without `fail`, raises an `InputError` at its line."""
    opener = open
    if path.suffix == ".gz":
        import gzip

        opener = gzip.open  # type: ignore[assignment]
    with opener(path, "rb") as f:
        for i, raw in enumerate(f, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                err = InputError(path, f"invalid UTF-8 at byte {e.start} of the line", line=i)
                if fail is None:
                    raise err from None
                fail(err)
                continue
            if i == 1 and text.startswith("\ufeff"):
                text = text[1:]
            yield i, text.rstrip("\r\n")


def _check_exists(path: Path) -> None:
    if not path.exists():
        raise InputError(path, "no such file")
    if path.is_dir():
        raise InputError(path, "is a directory, expected a file")


def _csv_rows(path: Path, delimiter: str | None, fail: Callable[[InputError], None]) -> Iterator[tuple[int, list[str]]]:
    """The CSV rows of `path` (header first), streamed, each with the file line it ends on (a quoted field may span
    lines; lines of invalid UTF-8 go to `fail` and are left out). `delimiter` None: sniffed from the first line."""
    lines = _lines(path, fail)
    first = next(lines, None)
    if first is None:
        raise InputError(path, "empty file: expected a header row")
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(first[1], delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    last = first[0]

    def feed() -> Iterator[str]:
        # csv.reader pulls a line only when the record needs it, so `last` is the line the row just read ends on
        nonlocal last
        yield first[1] + "\n"
        for line, text in lines:
            last = line
            yield text + "\n"

    reader = csv.reader(feed(), delimiter=delimiter)
    for row in reader:
        yield last, row


def _parquet_rows(path: Path) -> Iterator[dict[str, Any]]:
    """The rows of a Parquet file as dicts, read `PARQUET_BATCH_ROWS` at a time."""
    try:
        import pyarrow.parquet as pq
    except ImportError as e:  # pragma: no cover - pyarrow is a dependency
        raise InputError(path, "reading Parquet needs pyarrow (pip install pyarrow)") from e

    def unreadable(e: Exception) -> InputError:
        return InputError(path, f"not a readable Parquet file ({e})")

    try:
        pfile = pq.ParquetFile(path)
    except Exception as e:  # noqa: BLE001 - pyarrow raises many types for a corrupt file
        raise unreadable(e) from None
    with pfile:
        batches = pfile.iter_batches(batch_size=PARQUET_BATCH_ROWS)
        while True:
            try:
                batch = next(batches, None)
            except Exception as e:  # noqa: BLE001 - a corrupt row group shows only when it is read
                raise unreadable(e) from None
            if batch is None:
                return
            yield from batch.to_pylist()


def iter_records(
    path: str | Path,
    *,
    fmt: str | None = None,
    text_field: str = "text",
    field_map: Mapping[str, str] | None = None,
    required: Sequence[str] = (),
    skip_blank: bool = False,
    errors: Literal["raise", "collect"] = "raise",
    report: ReadReport | None = None,
    delimiter: str | None = None,
) -> Iterator[Record]:
    """Yield the records of a file.

    - txt: each line is a record `{text_field: line}`.
    - jsonl: each line must be a JSON object.
    - csv/tsv: the first row is the header (`delimiter` overrides the sniffed one).
    - parquet: each row is a record; `line` is the 1-based row number.

    `field_map` renames user fields to ours (`{ours: theirs}`); `required` fields must be present and non-empty.
    Blank lines are errors unless the caller passes `skip_blank=True`.
    """
    path = Path(path)
    _check_exists(path)
    fmt = fmt or detect_format(path)
    report = report if report is not None else ReadReport()
    rename = {theirs: ours for ours, theirs in (field_map or {}).items()}

    def emit(line: int, data: dict[str, Any]) -> Record | None:
        if rename:  # mapped columns win over unmapped ones that already carry one of our names
            mapped = {rename[k]: v for k, v in data.items() if k in rename}
            data = {**{k: v for k, v in data.items() if k not in rename and k not in mapped}, **mapped}
        rec = Record(str(path), line, data)
        try:
            for name in required:
                rec.get(name)
        except InputError as e:
            if errors == "raise":
                raise
            report.errors.append(e)
            return None
        report.rows += 1
        return rec

    def fail(err: InputError) -> None:
        if errors == "raise":
            raise err
        report.errors.append(err)

    if fmt == "parquet":
        for i, row in enumerate(_parquet_rows(path), start=1):
            rec = emit(i, row)
            if rec is not None:
                yield rec
        return

    if fmt in ("csv", "tsv"):
        header: list[str] | None = None
        for line, row in _csv_rows(path, delimiter or ("\t" if fmt == "tsv" else None), fail):
            if header is None:
                header = [h.strip() for h in row]
                continue
            if not row or all(not c.strip() for c in row):
                if not skip_blank:
                    fail(InputError(path, "empty line", line=line))
                continue
            if len(row) != len(header):
                fail(InputError(path, f"has {len(row)} columns, the header has {len(header)}", line=line))
                continue
            rec = emit(line, dict(zip(header, row, strict=True)))
            if rec is not None:
                yield rec
        return

    for line, text in _lines(path, fail):
        if not text.strip():
            if not skip_blank:
                fail(InputError(path, "empty line", line=line))
            continue
        if fmt == "txt":
            rec = emit(line, {text_field: text})
        else:
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as e:
                fail(InputError(path, f"invalid JSON ({e.msg} at column {e.colno})", line=line))
                continue
            if not isinstance(obj, dict):
                fail(InputError(path, f"expected a JSON object, got {type(obj).__name__}", line=line))
                continue
            rec = emit(line, obj)
        if rec is not None:
            yield rec


def iter_texts(path: str | Path, *, field: str | None = None, fmt: str | None = None) -> Iterator[str]:
    """The texts of a file, streamed: txt lines, or the column `field` (default `text`) of JSONL/CSV/Parquet."""
    name = field or "text"
    for rec in iter_records(path, fmt=fmt, text_field=name, required=[name]):
        value = rec.get(name)
        if not isinstance(value, str):
            raise InputError(path, f"expected a string, got {type(value).__name__}", line=rec.line, field=name)
        yield value


def read_texts(path: str | Path, *, field: str | None = None, fmt: str | None = None) -> list[str]:
    """All texts of a file (`iter_texts`, as a list)."""
    return list(iter_texts(path, field=field, fmt=fmt))
