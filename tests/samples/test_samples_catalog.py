"""Catalog, queries, reviews, labels and parallel rows are well-formed and in the right scripts."""

from __future__ import annotations

import re
from collections import Counter

import pytest

LANGS = {"en", "id", "th", "vi", "ms", "tl", "km", "my"}
SCRIPT = {"th": r"[\u0e00-\u0e7f]", "km": r"[\u1780-\u17ff]", "my": r"[\u1000-\u109f]",
          "vi": r"[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]"}
CURRENCY = {"id": "IDR", "th": "THB", "vi": "VND", "ms": "MYR", "tl": "PHP", "km": "KHR", "my": "MMK"}
FIELDS = {"id", "title", "description", "category", "category_path", "price", "currency", "brand", "attributes",
          "lang", "source"}


def test_catalog_rows_are_valid(catalog):
    assert len({r["id"] for r in catalog}) == len(catalog)
    for r in catalog:
        assert set(r) == FIELDS, r["id"]
        assert r["title"].strip() and r["lang"] in LANGS
        top, leaf = r["category_path"].split(" > ")
        assert leaf == r["category"] and top
        assert isinstance(r["price"], int | float) and r["price"] > 0
        assert r["currency"] == CURRENCY[r["lang"]]
        assert isinstance(r["attributes"], dict)
        assert r["source"] in ("prdect-id", "seaembed-handwritten")
        if r["source"] == "prdect-id":
            assert r["description"] is None and r["brand"] is None  # nothing invented for real rows


def test_catalog_covers_the_languages_and_the_category_set(catalog):
    hand = [r for r in catalog if r["source"] == "seaembed-handwritten"]
    assert {r["lang"] for r in hand} == {"th", "vi", "id", "ms", "tl", "km", "my"}
    assert {r["category"] for r in hand} <= {r["category"] for r in catalog if r["source"] == "prdect-id"}
    assert len({r["category"] for r in catalog}) == 29
    assert Counter(r["source"] for r in catalog)["prdect-id"] > 500


@pytest.mark.parametrize("lang", sorted(SCRIPT))
def test_handwritten_text_is_in_its_script(catalog, lang):
    rows = [r for r in catalog if r["source"] == "seaembed-handwritten" and r["lang"] == lang]
    assert rows
    for r in rows:
        assert re.search(SCRIPT[lang], (r["title"] + " " + r["description"]).lower()), r["id"]


def test_query_log_rows(samples, rows, catalog):
    ids = {r["id"]: r for r in catalog}
    qs = rows(samples / "queries.jsonl")
    assert len(qs) > 100 and {q["lang"] for q in qs} >= {"en", "th", "vi", "id", "ms", "tl"}
    for q in qs:
        assert q["query"].strip() and q["item_ids"] and q["source"] == "seaembed-handwritten"
        assert ids[q["item_ids"][0]]["source"] == "seaembed-handwritten"  # the product it was written for


def test_reviews_labels_parallel_rows(samples, rows):
    reviews = rows(samples / "reviews.jsonl")
    assert reviews and all(1 <= r["rating"] <= 5 and r["text"].strip() for r in reviews)
    expected = {"shopee_ph_reviews.jsonl": ("tl", {"1", "2", "3", "4", "5"}),
                "wisesight_sentiment.jsonl": ("th", {"pos", "neu", "neg", "q"}),
                "smsa_sentiment.jsonl": ("id", {"positive", "neutral", "negative"})}
    for name, (lang, labels) in expected.items():
        rs = rows(samples / "labels" / name)
        assert len(rs) >= 500 and {r["lang"] for r in rs} == {lang} and {r["label"] for r in rs} == labels, name
        assert all(r["text"].strip() for r in rs)
    par = rows(samples / "parallel.jsonl")
    assert {r["tgt_lang"] for r in par} == {"id", "th", "vi", "ms", "tl", "km", "my"}
    assert all(r["src"].strip() and r["tgt"].strip() and r["group"] for r in par)
