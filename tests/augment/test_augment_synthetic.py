import random

import pytest

from seaembed.augment.config import SyntheticConfig
from seaembed.augment.records import DropLog, Product
from seaembed.augment.synthetic import generate_synthetic
from seaembed.augment.synthetic.consistency import consistent
from seaembed.augment.synthetic.templates import (
    available_languages,
    candidates,
    code_mix,
    load_templates,
    model_code,
    short_name,
    template_queries,
)
from seaembed.augment.synthetic.typos import add_typo

PHONE = Product(id="p3", title="Samsung Galaxy A55 5G 8/256GB Awesome Navy", category=["Elektronik", "Handphone"],
                attributes={"warna": "Awesome Navy", "memori": "8/256GB"}, brand="Samsung", lang="id")


def test_templates_exist_for_the_sea_languages():
    assert {"id", "ms", "vi", "th", "tl", "en"} <= set(available_languages())
    for lang in ("id", "ms", "vi", "th", "tl", "en"):
        t = load_templates(lang)
        assert t["lang"] == lang and t["colloquial"] and t["brand"] and t["attribute"]


def test_forms_drop_attributes_and_use_brand_category_model():
    assert short_name(PHONE) == "Samsung Galaxy A55"
    assert model_code(PHONE.title) == "A55"
    assert model_code("Blender 2L 500W") is None
    qs = {(c.form, c.query) for c in candidates(PHONE, "id")}
    assert ("dropped-attributes", "Samsung Galaxy A55") in qs
    assert ("brand", "Samsung handphone") in qs and ("brand", "Samsung A55") in qs
    assert ("colloquial", "samsung galaxy a55 murah") in qs
    assert ("attribute", "handphone awesome navy") in qs
    assert not any(q == PHONE.title for _, q in qs)
    vi = {c.query for c in candidates(PHONE, "vi")}
    assert "samsung galaxy a55 giá rẻ" in vi


@pytest.mark.parametrize("kind", ["keyboard", "deletion", "transposition"])
def test_each_typo_kind_changes_one_letter(kind):
    rng = random.Random(0)
    text = "sepatu lari"
    out, got = add_typo(text, rng, kind)
    assert got == kind and out != text
    assert abs(len(out) - len(text)) <= 1
    assert add_typo("hp a5", rng) == ("hp a5", "")  # no word of 4+ letters: unchanged


def test_code_mixing_swaps_a_local_word_for_english():
    rng = random.Random(0)
    assert code_mix("sepatu lari murah", {"sepatu": "shoes"}, rng) == "shoes lari murah"
    assert code_mix("รองเท้าวิ่ง ราคาถูก", {"รองเท้า": "shoes"}, rng) == "shoes วิ่ง ราคาถูก"
    assert code_mix("kaos polos", {"sepatu": "shoes"}, rng) is None


def test_template_queries_are_diverse_and_reproducible():
    a = template_queries(PHONE, "id", n=4, rng=random.Random(5), typo_rate=0.0, code_mix_rate=0.0)
    b = template_queries(PHONE, "id", n=4, rng=random.Random(5), typo_rate=0.0, code_mix_rate=0.0)
    assert [q.query for q in a] == [q.query for q in b]
    assert len({q.form for q in a}) == 4
    typo = template_queries(PHONE, "id", n=4, rng=random.Random(5), typo_rate=1.0, code_mix_rate=0.0)
    assert all(q.form.endswith("+typo") for q in typo)


def test_consistency_filter_keeps_queries_whose_product_ranks_in_top_k(bow):
    titles = ["sepatu lari pria hitam", "tas ransel wanita", "blender philips dapur"]
    keep, ranks = consistent(bow, ["sepatu lari", "blender philips", "tas ransel"], [0, 2, 0], titles, top_k=1)
    assert keep.tolist() == [True, True, False] and ranks.tolist() == [0, 0, -1]


def test_generate_synthetic_logs_what_the_filter_drops(bow):
    products = [PHONE, Product(id="p1", title="Sepatu Lari Pria Ringan Hitam", category=["Fashion", "Sepatu"],
                               attributes={"warna": "Hitam"}, brand="Adidas", lang="id")]
    cfg = SyntheticConfig.model_validate({"templates": {"per_product": 6, "typo_rate": 0, "code_mix_rate": 0},
                                          "consistency": {"top_k": 1}})
    drops = DropLog()
    out = generate_synthetic(products, cfg, drops, guide=bow)
    assert out and all(ex.task == "query-item" and ex.source == "synthetic-query:template" for ex in out)
    for ex in out:
        p = next(p for p in products if p.id == ex.model_extra["origin_id"])
        assert ex.positive == p.title and ex.model_extra["guide_rank"] == 0
    assert len(out) + len(drops) == 12
    assert all(d.reason == "consistency: source product not in top 1" for d in drops.drops)
