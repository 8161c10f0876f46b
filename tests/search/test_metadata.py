"""MetadataStore: rows read on demand equal the file's lines, filter columns keep the list-of-dicts semantics."""

from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from seaembed.search.metadata import COLUMNS, Columns, ColumnsBuilder, MetadataStore, scan, write_row
from seaembed.search.search_index import Filters, SearchIndex

ROWS = [
    {"id": "a", "title": "รองเท้าวิ่ง ผู้ชาย", "category": "Fashion", "lang": "th", "price": 450000},
    {"id": "b", "title": "Giày chạy bộ 👟", "category": "fashion", "lang": "VI", "price": 99.5},
    {"id": "c", "title": "line\u2028separator and \u0085 NEL", "category": "Elektronik", "lang": "id"},  # no price
    {"id": "d", "title": "no category, no price, no lang"},
    {"id": "e", "title": "empty strings", "category": "", "lang": "", "price": None},
    {"id": "f", "title": "Straße", "category": "STRASSE", "lang": "de", "price": 0},
    {"id": "g", "title": "rupiah", "category": "Elektronik", "lang": "id", "price": 25_999_999},
    {"id": "h", "title": "a number as category", "category": 7, "lang": "id", "price": 16_777_217},
    {"id": "i", "title": "nested", "category": "Fashion", "lang": "th", "price": 1.25, "attrs": {"k": [1, "ü"]}},
]


def old_semantics(rows):
    """What SearchIndex did with a list of dicts (before the store), for comparison."""
    cat = np.array([str(m.get("category") or "").casefold() for m in rows], dtype=object)
    lang = np.array([str(m.get("lang") or "").casefold() for m in rows], dtype=object)
    price = np.array([np.nan if m.get("price") is None else float(m["price"]) for m in rows])

    def mask(f: Filters):
        if f.is_empty():
            return None
        m = np.ones(len(rows), dtype=bool)
        if f.category:
            m &= np.isin(cat, [c.casefold() for c in f.category])
        if f.lang:
            m &= np.isin(lang, [c.casefold() for c in f.lang])
        if f.price_min is not None:
            m &= price >= f.price_min
        if f.price_max is not None:
            m &= price <= f.price_max
        return m

    cats = sorted({str(m.get("category")) for m in rows if m.get("category")})
    langs = sorted({str(m.get("lang")) for m in rows if m.get("lang")})
    return mask, cats, langs


FILTERS = [
    Filters(category=["FASHION"]), Filters(category=["fashion", "elektronik"]), Filters(category=["strasse"]),
    Filters(category=["7"]), Filters(category=["nope"]), Filters(category=[""]), Filters(lang=["vi"]),
    Filters(lang=["TH", "id"]), Filters(lang=[""]), Filters(price_min=0), Filters(price_max=100),
    Filters(price_min=100, price_max=500_000), Filters(price_min=25_999_999.5), Filters(price_min=16_777_217),
    Filters(price_max=16_777_216), Filters(category=["Fashion"], lang=["th"], price_max=10), Filters(),
]


@pytest.fixture
def jsonl(tmp_path):
    path = tmp_path / "metadata.jsonl"
    builder = ColumnsBuilder()
    with open(path, "wb") as f:
        for row in ROWS:
            write_row(f, row, builder)
    builder.finish().save(tmp_path / COLUMNS)
    return path


def _index(meta) -> SearchIndex:
    return SearchIndex(None, {}, None, None, meta, None)


@pytest.mark.parametrize("with_columns", [True, False])
def test_rows_equal_json_loads_of_each_line(jsonl, with_columns):
    if not with_columns:
        (jsonl.parent / COLUMNS).unlink()
    store = MetadataStore.open(jsonl)
    lines = jsonl.read_text(encoding="utf-8").split("\n")[:-1]  # not splitlines: U+2028 is inside a row
    assert len(store) == len(lines) == len(ROWS)
    assert [store[i] for i in range(len(store))] == [json.loads(x) for x in lines] == ROWS
    assert store[-1] == ROWS[-1] and list(store) == ROWS
    with pytest.raises(IndexError):
        store[len(ROWS)]


@pytest.mark.parametrize("source", ["file", "scan", "rows"])
def test_filters_and_vocabularies_keep_the_old_semantics(jsonl, source):
    if source == "scan":
        (jsonl.parent / COLUMNS).unlink()
    meta = ROWS if source == "rows" else MetadataStore.open(jsonl)
    index = _index(meta)
    mask, cats, langs = old_semantics(ROWS)
    for f in FILTERS:
        got, want = index.filter_mask(f), mask(f)
        assert (got is None and want is None) or got.tolist() == want.tolist(), f
    assert index.categories() == cats == ["7", "Elektronik", "Fashion", "STRASSE", "fashion"]
    assert index.languages() == langs == ["VI", "de", "id", "th"]
    ids = lambda f: [index.meta[i]["id"] for i in np.flatnonzero(index.filter_mask(f))]  # noqa: E731
    assert ids(Filters(price_min=0)) == ["a", "b", "f", "g", "h", "i"]  # no price (c, d, e): fails both bounds
    assert ids(Filters(price_max=1e12)) == ["a", "b", "f", "g", "h", "i"]
    assert ids(Filters(price_min=16_777_217)) == ["g", "h"]  # exact above 2**24 (float32 would round h down)


def test_columns_file_equals_one_streaming_scan(jsonl):
    saved, scanned = Columns.load(jsonl.parent / COLUMNS), scan(jsonl)
    assert saved.offsets.dtype == np.int64 and saved.offsets[-1] == jsonl.stat().st_size
    assert saved.codes["category"].dtype == np.int32 and saved.price.dtype == np.float64
    assert saved.offsets.tolist() == scanned.offsets.tolist()
    assert np.array_equal(saved.price, scanned.price, equal_nan=True)
    for f in ("category", "lang"):
        assert saved.codes[f].tolist() == scanned.codes[f].tolist()
        assert saved.vocab[f].tolist() == scanned.vocab[f].tolist() == sorted(saved.vocab[f].tolist())
        assert saved.names[f] == scanned.names[f]
    assert saved.vocab["category"].tolist() == ["", "7", "elektronik", "fashion", "strasse"]


def test_a_stale_or_broken_columns_file_is_recomputed(jsonl):
    with open(jsonl, "ab") as f:
        write_row(f, {"id": "z", "category": "New"})  # metadata.jsonl changed, the columns file did not
    store = MetadataStore.open(jsonl)
    assert len(store) == len(ROWS) + 1 and store[len(ROWS)] == {"id": "z", "category": "New"}
    assert "New" in store.names("category")
    (jsonl.parent / COLUMNS).write_bytes(b"not a zip")
    assert len(MetadataStore.open(jsonl)) == len(ROWS) + 1


def test_built_index_has_the_columns_and_an_old_index_without_them_loads(index_dir, tmp_path):
    assert (index_dir / COLUMNS).is_file()
    new = SearchIndex.load(index_dir)
    old_dir = tmp_path / "old"
    shutil.copytree(index_dir, old_dir)
    (old_dir / COLUMNS).unlink()  # as an index built before the columns file
    old = SearchIndex.load(old_dir)
    rows = [json.loads(x) for x in (index_dir / "metadata.jsonl").read_text(encoding="utf-8").splitlines()]
    mask, cats, langs = old_semantics(rows)
    for index in (new, old):
        assert index.size == len(rows) and [index.meta[i] for i in range(index.size)] == rows
        assert index.categories() == cats and index.languages() == langs
        for f in (Filters(category=["FASHION"]), Filters(lang=["vi"]), Filters(price_min=100, price_max=1000)):
            assert index.filter_mask(f).tolist() == mask(f).tolist()
    assert not (old_dir / COLUMNS).exists()  # loading does not write into the index


def test_concurrent_reads_from_threads_agree(tmp_path):
    rows = [{"id": f"r{i}", "title": "ข้อความ " * (i % 7) + str(i), "category": f"c{i % 5}", "price": i}
            for i in range(2000)]
    path, builder = tmp_path / "metadata.jsonl", ColumnsBuilder()
    with open(path, "wb") as f:
        for row in rows:
            write_row(f, row, builder)
    builder.finish().save(tmp_path / COLUMNS)
    store = MetadataStore.open(path)

    def read(seed: int) -> list[bool]:
        order = np.random.default_rng(seed).integers(0, len(rows), 3000)
        return [store[int(i)] == rows[int(i)] for i in order]

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(read, range(16)))
    assert all(all(r) for r in results)
    store.close()
