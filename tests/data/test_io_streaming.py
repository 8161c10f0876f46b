"""The shared reader streams CSV/TSV and Parquet (#16 item 2): rows come out before the rest of the file is read,
memory stays bounded by a batch, and the line numbers stay the file's."""

from __future__ import annotations

import tracemalloc

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from seaembed.data.io import ReadReport, iter_records
from seaembed.errors import InputError

ROWS = 20_000  # enough to tell a streamed read (tens of KB) from a whole-file one (over 10 MB)


def _peak_bytes_reading(path) -> tuple[int, int]:
    """(rows read, peak bytes traced by tracemalloc) while reading `path` without keeping the records."""
    tracemalloc.start()
    try:
        n = sum(1 for _ in iter_records(path, required=["title"]))
        return n, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_csv_yields_rows_before_a_bad_line_further_down(tmp_path):
    p = tmp_path / "big.csv"
    p.write_bytes(b"id,title\n" + b"".join(b"%d,kaos %d\n" % (i, i) for i in range(2000)) + b"9999,bad \xff\n")
    it = iter_records(p)
    first = next(it)  # a reader that reads the whole file first fails here, on line 2002
    assert (first.line, first.data) == (2, {"id": "0", "title": "kaos 0"})
    with pytest.raises(InputError, match=r"big\.csv:2002: invalid UTF-8"):
        list(it)


def test_csv_reads_in_bounded_memory(tmp_path):
    p = tmp_path / "big.csv"
    with open(p, "w", encoding="utf-8") as f:
        f.write("id,title,category,price\n")
        for i in range(ROWS):
            f.write(f'{i},"Kaos polos pria lengan pendek, nomor {i}",Fashion > Pakaian Pria,{i % 500}.5\n')
    n, peak = _peak_bytes_reading(p)
    assert n == ROWS
    assert p.stat().st_size > 1_500_000
    assert peak < 300_000, peak  # the whole-file reader peaked at 12 MB here (its lines, joined, parsed)


def test_parquet_reads_in_bounded_memory(tmp_path):
    p = tmp_path / "big.parquet"
    titles = [f"Kaos polos pria lengan pendek, nomor {i}" for i in range(ROWS)]
    pq.write_table(pa.table({"id": list(range(ROWS)), "title": titles, "price": [i % 500 + 0.5 for i in range(ROWS)]}),
                   p, row_group_size=10_000)
    del titles
    n, peak = _peak_bytes_reading(p)
    assert n == ROWS
    assert peak < 1_000_000, peak  # the whole-file reader (every row a dict at once) peaked at 7.8 MB


def test_parquet_row_numbers_run_on_across_batches_and_row_groups(tmp_path):
    p = tmp_path / "c.parquet"
    titles = [f"t{i}" for i in range(1, 2501)]
    titles[1499] = None  # row 1500
    pq.write_table(pa.table({"name": titles}), p, row_group_size=1000)
    report = ReadReport()
    recs = list(iter_records(p, field_map={"title": "name"}, required=["title"], errors="collect", report=report))
    assert [r.line for r in recs] == [i for i in range(1, 2501) if i != 1500]
    assert all(r.data == {"title": f"t{r.line}"} for r in recs)
    assert [str(e) for e in report.errors] == [f"{p}:1500: field 'title': missing or empty"]
    assert report.rows == 2499


def test_unreadable_parquet_is_an_input_error(tmp_path):
    p = tmp_path / "c.parquet"
    p.write_bytes(b"not parquet at all")
    with pytest.raises(InputError, match=r"c\.parquet: not a readable Parquet file"):
        list(iter_records(p))


def test_csv_quoted_newlines_and_skipped_bad_lines_keep_the_file_line_numbers(tmp_path):
    p = tmp_path / "q.csv"
    p.write_bytes(b'id,title\n1,"satu\ndua"\nbad \xff,x\n2,"a\nb\nc"\n3\n4,ok\n')
    report = ReadReport()
    recs = list(iter_records(p, errors="collect", report=report))
    # a record's line is the physical line it ends on (what the whole-file reader gave; default ids use it)
    assert [(r.line, r.data["title"]) for r in recs] == [(3, "satu\ndua"), (7, "a\nb\nc"), (9, "ok")]
    assert [(e.line, e.reason.split(" at")[0]) for e in report.errors] == [
        (4, "invalid UTF-8"), (8, "has 1 columns, the header has 2")]


def test_empty_csv_still_needs_a_header(tmp_path):
    p = tmp_path / "e.csv"
    p.write_bytes(b"")
    with pytest.raises(InputError, match=r"e\.csv: empty file: expected a header row"):
        list(iter_records(p))
