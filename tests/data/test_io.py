"""The shared reader: formats, field mapping, and errors located as file:line: field."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from seaembed.data.io import ReadReport, detect_format, iter_records, read_texts
from seaembed.errors import InputError


def test_reads_every_format(tmp_path):
    (tmp_path / "a.txt").write_text("satu\ndua\n", encoding="utf-8")
    (tmp_path / "a.jsonl").write_text('{"text": "satu"}\n{"text": "dua"}\n', encoding="utf-8")
    (tmp_path / "a.csv").write_text("id,text\n1,satu\n2,\"dua, tiga\"\n", encoding="utf-8")
    (tmp_path / "a.tsv").write_text("id\ttext\n1\tsatu\n", encoding="utf-8")
    pq.write_table(pa.table({"text": ["satu", "dua"]}), tmp_path / "a.parquet")
    assert read_texts(tmp_path / "a.txt") == ["satu", "dua"]
    assert read_texts(tmp_path / "a.jsonl") == ["satu", "dua"]
    assert read_texts(tmp_path / "a.csv") == ["satu", "dua, tiga"]
    assert read_texts(tmp_path / "a.tsv") == ["satu"]
    assert read_texts(tmp_path / "a.parquet") == ["satu", "dua"]


def test_semicolon_csv_and_line_numbers(tmp_path):
    p = tmp_path / "products.csv"
    p.write_text("Category;Product Name\nFashion;Kaos\nFood;Kopi\n", encoding="utf-8")
    recs = list(iter_records(p, field_map={"title": "Product Name"}))
    assert [r.data["title"] for r in recs] == ["Kaos", "Kopi"]
    assert [r.line for r in recs] == [2, 3]


def test_missing_file_names_it(tmp_path):
    with pytest.raises(InputError, match=r"nope\.jsonl: no such file"):
        read_texts(tmp_path / "nope.jsonl")


def test_empty_line_is_located(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text("satu\n\ndua\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        read_texts(p)
    assert str(e.value) == f"{p}:2: empty line"


def test_invalid_utf8_is_located(tmp_path):
    p = tmp_path / "t.jsonl"
    p.write_bytes(b'{"text": "ok"}\n{"text": "\xff\xfe"}\n')
    with pytest.raises(InputError, match=r"t\.jsonl:2: invalid UTF-8"):
        read_texts(p)


def test_non_object_jsonl_line(tmp_path):
    p = tmp_path / "t.jsonl"
    p.write_text('{"text": "ok"}\n["a list"]\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"t\.jsonl:2: expected a JSON object, got list"):
        read_texts(p)


def test_missing_field_names_line_and_field(tmp_path):
    p = tmp_path / "t.jsonl"
    p.write_text('{"text": "ok"}\n{"title": "no text"}\n', encoding="utf-8")
    with pytest.raises(InputError) as e:
        read_texts(p)
    assert e.value.line == 2 and e.value.field == "text"
    assert "t.jsonl:2: field 'text'" in str(e.value)


def test_collect_mode_counts_every_bad_row(tmp_path):
    p = tmp_path / "t.jsonl"
    rows = ['{"text": "a"}', "not json", '{"text": ""}', "", "3", '{"text": "b"}']
    p.write_text("\n".join(rows) + "\n", encoding="utf-8")
    report = ReadReport()
    good = list(iter_records(p, required=["text"], errors="collect", report=report))
    assert [r.data["text"] for r in good] == ["a", "b"]
    assert report.rows == 2
    assert sorted(e.line for e in report.errors) == [2, 3, 4, 5]
    assert json.dumps([str(e) for e in report.errors])  # all printable


def test_csv_ragged_row(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("a,b\n1,2\n3\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"t\.csv:3: has 1 columns, the header has 2"):
        list(iter_records(p))


def test_unknown_suffix():
    with pytest.raises(InputError, match="cannot tell the format"):
        detect_format("data.xlsx")


def test_mapped_column_wins_over_a_column_with_our_name(tmp_path):
    p = tmp_path / "c.jsonl"
    p.write_text('{"category": "Sepatu", "category_path": "Fashion > Sepatu"}\n'
                 '{"category_path": "Rumah > Dapur", "category": "Dapur"}\n', encoding="utf-8")
    recs = list(iter_records(p, field_map={"category": "category_path"}))
    assert [r.data["category"] for r in recs] == ["Fashion > Sepatu", "Rumah > Dapur"]
