"""Shopper-style queries cut from titles: words come from the title, grades mark the source and its variants."""

from __future__ import annotations

from seaembed.evaluate.title_queries import cut_title_queries, title_words

ITEMS = [
    ("a", "Sepatu Running Pria Ortuseight Hyperglide 39-44"),
    ("b", "Sepatu Running Pria Ortuseight Jogosala"),
    ("c", "Kaos Polos Hitam Cotton Combed 30s"),
    ("d", "Minyak Goreng Sawit Pouch 2L"),
    ("e", "TV"),  # too few words to make a query
]


def test_title_words_are_lowercase_and_start_with_a_letter():
    assert title_words("Minyak Goreng 2L Pouch 500ml!") == ["minyak", "goreng", "pouch", "ml"]
    assert title_words("SSD RX7 512GB") == ["ssd", "rx7", "gb"]


def test_queries_copy_title_words_and_grade_source_and_variants():
    queries, qrels = cut_title_queries(ITEMS, n_queries=10, seed=3)
    assert len(queries) == 4  # "TV" is not eligible
    sources = {q: d for q, d, g in qrels if g == 2}
    assert set(sources) == {q["_id"] for q in queries} and sorted(sources.values()) == ["a", "b", "c", "d"]
    titles = dict(ITEMS)
    for q in queries:
        words = q["text"].split()
        assert 1 <= len(words) <= 3 and q["lang"] == "id"
        assert set(words) <= set(title_words(titles[sources[q["_id"]]])[:6])
    variants = {(q, d) for q, d, g in qrels if g == 1}
    q_of_a = next(q for q, d in sources.items() if d == "a")
    q_of_c = next(q for q, d in sources.items() if d == "c")
    assert (q_of_a, "b") in variants  # same first three words
    assert not any(q == q_of_c for q, _ in variants)


def test_seeded_and_capped():
    assert cut_title_queries(ITEMS, 10, seed=1) == cut_title_queries(ITEMS, 10, seed=1)
    assert len(cut_title_queries(ITEMS, 2, seed=1)[0]) == 2
