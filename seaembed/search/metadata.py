"""An index's row metadata without a Python object per row.

`metadata.jsonl` (one JSON object a line) stays the source of truth. Beside it, `metadata_columns.npz` holds what
a search needs for every row, as numpy arrays: the byte offset of each line (so `store[i]` reads and parses that
one line on demand) and the filter fields — category and lang as int32 codes into small sorted vocabularies of
their casefolded values ("" for a missing value; the spellings as written kept for `names()`), price as float64
with NaN for a missing price. At 1M rows that is ~24 MB instead of a list of dicts (~2 GiB at catalog width).

The columns are built in the same streaming pass that writes `metadata.jsonl` (`write_row` + `ColumnsBuilder`,
used by `seaembed index`), or, for an index written before the file existed (or a file that does not match its
metadata.jsonl), by one streaming pass at load time (`scan`), nothing but the columns kept.

Price is float64, not float32: prices here are often large integers (IDR, VND) and float32 rounds above 2**24,
which would move items across a `price_min` / `price_max` bound; 4 more bytes a row keep the filter exact.
"""

from __future__ import annotations

import json
import logging
import os
import zipfile
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from seaembed.atomic import atomic_path

log = logging.getLogger(__name__)
COLUMNS = "metadata_columns.npz"
FIELDS = ("category", "lang")  # the coded filter fields
FORMAT = 1


@dataclass(frozen=True)
class Columns:
    """Per-row arrays: `offsets` (n+1 line starts in metadata.jsonl, the last its size; None for rows held in
    memory), `codes[field]` (int32) into `vocab[field]` (sorted casefolded values), `names[field]` (the distinct
    non-empty values as written, sorted) and `price` (float64, NaN when missing)."""

    offsets: np.ndarray | None
    codes: dict[str, np.ndarray]
    vocab: dict[str, np.ndarray]
    names: dict[str, list[str]]
    price: np.ndarray

    def __len__(self) -> int:
        return len(self.price)

    def save(self, path: str | Path) -> Path:
        """Write to `path` (.npz, no pickles) atomically."""
        arrays: dict[str, np.ndarray] = {"format": np.asarray(FORMAT), "price": self.price}
        if self.offsets is not None:
            arrays["offsets"] = self.offsets
        for f in FIELDS:
            arrays |= {f"{f}_codes": self.codes[f], f"{f}_vocab": self.vocab[f],
                       f"{f}_names": np.array(self.names[f], dtype=str)}
        with atomic_path(path) as tmp, open(tmp, "wb") as out:  # a file object: np.savez would append ".npz"
            np.savez(out, **arrays)
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> Columns:
        """Read a file `save` wrote (ValueError for another format)."""
        with np.load(path, allow_pickle=False) as z:
            if int(z["format"]) != FORMAT:
                raise ValueError(f"format {int(z['format'])}, expected {FORMAT}")
            return cls(z["offsets"] if "offsets" in z.files else None,
                       {f: z[f"{f}_codes"] for f in FIELDS}, {f: z[f"{f}_vocab"] for f in FIELDS},
                       {f: z[f"{f}_names"].tolist() for f in FIELDS}, z["price"])


class _Coder:
    """One field's codes in first-seen order while streaming, renumbered to sorted order at the end."""

    def __init__(self) -> None:
        self.vocab: dict[str, int] = {}
        self.codes = array("i")  # 4 bytes a row, not a Python int each
        self.names: set[str] = set()

    def add(self, value: Any) -> None:
        if value:
            self.names.add(str(value))
        key = str(value or "").casefold()  # the filter's matching rule
        code = self.vocab.get(key)
        if code is None:
            code = self.vocab[key] = len(self.vocab)
        self.codes.append(code)

    def finish(self) -> tuple[np.ndarray, np.ndarray, list[str]]:
        ordered = sorted(self.vocab)
        renumber = np.empty(len(ordered), dtype=np.int32)
        renumber[[self.vocab[k] for k in ordered]] = np.arange(len(ordered), dtype=np.int32)
        codes = renumber[np.frombuffer(self.codes, dtype=np.int32)] if self.codes else np.zeros(0, np.int32)
        return codes, np.array(ordered, dtype=str), sorted(self.names)


class ColumnsBuilder:
    """Accumulates `Columns` a row at a time (`add(row, nbytes)`), holding only compact arrays."""

    def __init__(self, *, offsets: bool = True) -> None:
        self._offsets = array("q", [0]) if offsets else None
        self._coders = {f: _Coder() for f in FIELDS}
        self._price = array("d")

    def add(self, row: Mapping[str, Any], nbytes: int = 0) -> None:
        """One row; `nbytes`: the length of its line in metadata.jsonl, newline included."""
        if self._offsets is not None:
            self._offsets.append(self._offsets[-1] + nbytes)
        for f, coder in self._coders.items():
            coder.add(row.get(f))
        price = row.get("price")
        self._price.append(np.nan if price is None else float(price))

    def finish(self) -> Columns:
        done = {f: c.finish() for f, c in self._coders.items()}
        offsets = None if self._offsets is None else np.array(self._offsets, dtype=np.int64)
        return Columns(offsets, {f: d[0] for f, d in done.items()}, {f: d[1] for f, d in done.items()},
                       {f: d[2] for f, d in done.items()}, np.array(self._price, dtype=np.float64))


def write_row(out: BinaryIO, row: Mapping[str, Any], builder: ColumnsBuilder | None = None) -> None:
    """Append `row` to a metadata.jsonl opened in binary mode (and to `builder`'s columns)."""
    line = (json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8")
    out.write(line)
    if builder is not None:
        builder.add(row, len(line))


def scan(path: str | Path) -> Columns:
    """The columns of an existing metadata.jsonl, in one streaming pass (one row parsed at a time)."""
    builder = ColumnsBuilder()
    with open(path, "rb") as f:
        for line in f:  # json.dumps escapes \r and \n, so b"\n" ends each row as text-mode reading splits them
            builder.add(json.loads(line), len(line))
    return builder.finish()


class MetadataStore(Sequence[dict[str, Any]]):
    """The items' metadata: `store[i]` -> row i as a dict, `len(store)`, and the filter columns (`matches`,
    `price`, `names`). Opened on a metadata.jsonl, a row is read with `os.pread` when asked for (no shared file
    position: concurrent reads from threads, or from processes forked after opening, are safe); `from_rows`
    wraps rows already in memory."""

    def __init__(self, columns: Columns, path: Path | None = None, rows: Sequence[Mapping] | None = None) -> None:
        self.columns, self.path, self._rows = columns, path, rows
        self._file = open(path, "rb") if path is not None else None  # noqa: SIM115 - closed by close() or GC

    @classmethod
    def open(cls, path: str | Path, columns_path: str | Path | None = None) -> MetadataStore:
        """A store over `path` (metadata.jsonl) with its columns file (`columns_path`, default the
        `metadata_columns.npz` beside it) when that matches the file (format, byte size), else columns from one
        streaming pass; nothing is written."""
        path = Path(path)
        columns_path = path.with_name(COLUMNS) if columns_path is None else Path(columns_path)
        columns = None
        if columns_path.is_file():
            try:
                columns = Columns.load(columns_path)
                if columns.offsets is None or int(columns.offsets[-1]) != path.stat().st_size:
                    raise ValueError(f"does not match {path.name} ({path.stat().st_size} bytes)")
            except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
                log.warning("%s: %s; reading %s once to recompute it", columns_path, e, path.name)
                columns = None
        return cls(columns if columns is not None else scan(path), path=path)

    @classmethod
    def from_rows(cls, rows: Sequence[Mapping[str, Any]]) -> MetadataStore:
        """A store over rows held in memory (tests, in-memory indexes)."""
        builder = ColumnsBuilder(offsets=False)
        for row in rows:
            builder.add(row)
        return cls(builder.finish(), rows=rows)

    def __len__(self) -> int:
        return len(self.columns)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        n, i = len(self), int(i)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"metadata row {i} out of range ({n} rows)")
        if self._rows is not None:
            return self._rows[i]
        start, end = int(self.columns.offsets[i]), int(self.columns.offsets[i + 1])
        return json.loads(os.pread(self._file.fileno(), end - start, start))

    def __iter__(self) -> Iterator[dict[str, Any]]:
        if self._rows is not None:
            yield from self._rows
            return
        with open(self.path, "rb") as f:  # a sequential pass, not a pread a row
            for line in f:
                yield json.loads(line)

    # --- filters --------------------------------------------------------------------------------------------------
    @property
    def price(self) -> np.ndarray:
        """Each row's price (float64, NaN when missing)."""
        return self.columns.price

    def matches(self, field: str, values: Iterable[str]) -> np.ndarray:
        """Rows whose `field` equals one of `values`, case-insensitively (a missing value matches "")."""
        wanted = {v.casefold() for v in values}
        hits = [code for code, v in enumerate(self.columns.vocab[field].tolist()) if v in wanted]
        return np.isin(self.columns.codes[field], np.asarray(hits, dtype=np.int32))

    def names(self, field: str) -> list[str]:
        """Distinct non-empty values of `field` as written, sorted."""
        return list(self.columns.names[field])

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


__all__ = ["COLUMNS", "Columns", "ColumnsBuilder", "MetadataStore", "scan", "write_row"]
