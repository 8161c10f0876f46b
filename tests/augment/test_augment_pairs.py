import pytest

from seaembed.augment.config import DataConfig, PairsConfig
from seaembed.augment.filters import dedupe, length_filter, normalise
from seaembed.augment.pairs import build_pairs, example, query_category, title_description
from seaembed.augment.records import DropLog, Product
from seaembed.augment.sources import read_sources
from seaembed.errors import ConfigError


@pytest.fixture
def built(sources, make_config):
    drops = DropLog()
    data = read_sources(DataConfig.model_validate(make_config("unused")), sources, drops)
    pairs_drops = DropLog()
    return build_pairs(data, PairsConfig(), pairs_drops), pairs_drops


def _of(rows, task):
    return [r for r in rows if r.task == task]


def test_title_category_pairs_carry_the_category_as_label(built):
    rows, _ = built
    tc = {r.query: r for r in _of(rows, "title-category")}
    r = tc["Sepatu Lari Pria Ringan Hitam"]
    assert (r.positive, r.label, r.lang, r.model_extra["origin_id"], r.model_extra["group"]) == (
        "Fashion > Sepatu > Sepatu Lari", "Fashion > Sepatu > Sepatu Lari", "id", "p1", "item:p1")


def test_query_item_from_logs_and_unknown_ids_are_logged(built):
    rows, drops = built
    qi = {(r.query, r.positive) for r in _of(rows, "query-item") if r.source == "queries"}
    assert qi == {("sepatu lari hitam", "Sepatu Lari Pria Ringan Hitam"),
                  ("hp samsung a55", "Samsung Galaxy A55 5G 8/256GB Awesome Navy")}
    assert [(d.reason, d.detail) for d in drops.drops if "unknown" in d.reason] == [("query log: unknown item id", "p404")]


def test_relevance_positives_become_pairs_and_negatives_hard_negatives(built):
    rows, drops = built
    rel = [r for r in rows if r.source == "relevance"]
    assert len(rel) == 1
    assert (rel[0].query, rel[0].positive, rel[0].negatives) == (
        "sepatu running", "Sepatu Lari Pria Ringan Hitam", ["Tas Ransel Wanita Kulit Coklat"])
    assert any(d.reason == "relevance: query has no relevant target" and d.preview == "kulkas" for d in drops.drops)


def test_other_rules(built):
    rows, _ = built
    assert {r.task for r in rows} == {"title-category", "title-description", "query-category", "query-item",
                                      "review-item", "bitext", "classification"}
    bt = _of(rows, "bitext")
    assert [(r.query, r.positive, r.lang, r.model_extra["positive_lang"]) for r in bt][0] == (
        "My father is a teacher.", "Ayah saya guru.", "en", "id")
    assert bt[0].model_extra["group"] == bt[1].model_extra["group"]
    assert [(r.query, r.positive) for r in _of(rows, "review-item")] == [
        ("sepatunya enak dipakai lari", "Sepatu Lari Pria Ringan Hitam")]
    cls = _of(rows, "classification")
    assert {(r.query, r.label) for r in cls} >= {("jelek kecewa", "negative")}


def test_title_description_includes_attributes_and_query_category_caps_per_category():
    ps = [Product(id=str(i), title=f"Kaos {i}", description="Kaos katun", category=["Fashion", "Kaos"],
                  attributes={"warna": "hitam"}) for i in range(5)]
    td = title_description(ps[:1] + [Product(id="x", title="Kaos", attributes={"seller": "Jakarta"})])
    assert [r.positive for r in td] == ["Kaos katun warna: hitam"]
    qc = query_category(ps, per_category=3)
    assert [(r.query, r.label) for r in qc] == [("Kaos", "Fashion > Kaos")] * 3


def test_unknown_rule_is_a_config_error(built):
    from seaembed.augment.records import SourceData

    with pytest.raises(ConfigError, match="unknown rule"):
        build_pairs(SourceData(), PairsConfig(rules=["nope"]), DropLog())


def test_dedupe_on_normalised_text_and_length_filter():
    rows = [example("Sepatu Lari!", "Sepatu Lari Pria", "query-item", lang="id", source="s", origin_id="a"),
            example("sepatu  lari", "sepatu lari pria.", "query-item", lang="id", source="s", origin_id="b"),
            example("sepatu lari", "sepatu lari pria", "query-category", lang="id", source="s", origin_id="c"),
            example("Kaos", "kaos", "query-item", lang="id", source="s", origin_id="d"),
            example("a", "kaos hitam", "query-item", lang="id", source="s", origin_id="e"),
            example("kaos", "x" * 50, "query-item", lang="id", source="s", origin_id="f"),
            example("bagus sekali", "5", "classification", lang="id", source="s", origin_id="g", label="5")]
    drops = DropLog()
    kept = dedupe(length_filter(rows, min_chars=2, max_chars=40, drops=drops), drops=drops)
    assert [r.model_extra["origin_id"] for r in kept] == ["a", "c", "g"]  # a class name may be short
    assert {(d.where, d.reason) for d in drops.drops} == {
        ("b", "duplicate"), ("d", "query equals positive"), ("e", "shorter than 2 chars"),
        ("f", "longer than 40 chars")}
    assert normalise("รองเท้า  วิ่ง!") == "รองเท้า วิ่ง"  # Thai vowel marks survive


def test_label_names_give_readable_positives_and_keep_the_class_key(tmp_path):
    from seaembed.augment.pairs import labelled

    p = tmp_path / "stars.jsonl"
    p.write_text('{"text": "sira agad", "label": "0"}\n{"text": "ang ganda", "label": "4"}\n', encoding="utf-8")
    cfg = DataConfig.model_validate({"sources": {"labelled": [
        {"path": str(p), "lang": "tl", "label_names": {"0": "1-star review: very dissatisfied",
                                                       "4": "5-star review: very satisfied"}}]}})
    data = read_sources(cfg, tmp_path, DropLog())
    rows = labelled(data.labelled)
    assert [(r.positive, r.label) for r in rows] == [("1-star review: very dissatisfied", "0"),
                                                     ("5-star review: very satisfied", "4")]
