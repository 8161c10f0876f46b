import pytest

from seaembed.augment.config import DataConfig, HardNegativesConfig
from seaembed.augment.hard_negatives import mine_hard_negatives
from seaembed.augment.pairs import example


def _rows(specs, task="query-item"):
    return [example(q, p, task, lang="id", source="t", origin_id=str(i), group=g, label=lab)
            for i, (q, p, g, lab) in enumerate(specs)]


def test_same_group_candidates_are_never_mined(bow):
    # "Ayah saya guru" and "Bapa saya seorang guru" are translations of one sentence (group 7)
    rows = _rows([("My father is a teacher", "Ayah saya guru", "g7", None),
                  ("My father is a teacher", "Bapa saya seorang guru", "g7", None),
                  ("My mother is a doctor", "Ibu saya dokter", "g8", None),
                  ("My brother is a student", "Adik saya murid", "g9", None)], task="bitext")
    # (both rows share their query too: the same-query rule is off, so that only the group rule is tested)
    cfg = HardNegativesConfig(num_negatives=3, range_max=10, fn_ratio=None, exclude_same_group=False,
                              exclude_same_query_positives=False)
    off, stats_off = mine_hard_negatives(rows, bow, cfg)
    assert "Bapa saya seorang guru" in off[0].negatives and "Ayah saya guru" in off[1].negatives
    assert stats_off.same_group_taken["bitext"] == 2
    on, stats_on = mine_hard_negatives(rows, bow, cfg.model_copy(update={"exclude_same_group": True}))
    assert "Bapa saya seorang guru" not in on[0].negatives and "Ayah saya guru" not in on[1].negatives
    assert set(on[0].negatives) == {"Ibu saya dokter", "Adik saya murid"}
    assert stats_on.excluded["bitext"]["same-group"] == 2 and stats_on.same_group_taken["bitext"] == 0


def _scores(model, query, texts):
    q = model.encode([query])[0]
    return [float(q @ d) for d in model.encode(texts)]


def test_negatives_come_in_descending_score_order(bow):
    rows = _rows([("sepatu lari hitam pria", "sepatu lari hitam pria ringan", None, None),
                  ("kaos", "sepatu lari putih", None, None), ("tas", "sepatu hitam", None, None),
                  ("topi", "lari pagi", None, None), ("blender", "blender dapur", None, None)])
    out, _ = mine_hard_negatives(rows, bow, HardNegativesConfig(num_negatives=3, range_max=10, fn_ratio=None))
    negs = out[0].negatives
    assert len(negs) == 3
    scores = _scores(bow, rows[0].query, negs)
    assert len(set(scores)) == 3  # distinct, so the order is a real check
    assert scores == sorted(scores, reverse=True), list(zip(negs, scores, strict=True))


def test_sibling_positives_of_a_query_are_never_its_negatives(bow):
    # one query with 3 relevant items (each row its own group, as query logs give them), written three ways
    q = ["sepatu lari pria", "Sepatu  Lari Pria ", "SEPATU LARI PRIA"]
    items = ["Sepatu Lari Pria Ringan Hitam", "Sepatu Lari Pria Adidas Biru", "Sepatu Running Pria Nike"]
    rows = _rows([(q[k], items[k], f"item:p{k}", None) for k in range(3)]
                 + [("tas ransel", "Tas Ransel Wanita", "item:p3", None),
                    ("sepatu lari wanita", "Sepatu Lari Wanita Pink", "item:p4", None),
                    ("kaos polos", "Kaos Polos Pria Hitam", "item:p5", None),
                    ("blender", "Blender Philips 2 Liter", "item:p6", None)])
    cfg = HardNegativesConfig(num_negatives=3, range_max=10, fn_ratio=None)
    out, stats = mine_hard_negatives(rows, bow, cfg)
    for k in range(3):
        assert len(out[k].negatives) == 3 and not set(out[k].negatives) & set(items), out[k].negatives
    assert stats.excluded["query-item"]["same-query"] == 6 and stats.known_positive_excluded["query-item"] == 6
    assert stats.false_negative_rate() == 0.0
    # without the rule, each of the 3 rows would take its 2 siblings: 6 of the 21 negatives of the 7 rows
    assert stats.mined_without_same_query["query-item"] == 21
    assert stats.false_negative_rate(without_same_query=True) == pytest.approx(6 / 21)
    off, stats_off = mine_hard_negatives(rows, bow, cfg.model_copy(update={"exclude_same_query_positives": False}))
    assert all(set(off[k].negatives) & set(items) for k in range(3))
    assert stats_off.false_negative_rate() > 0
    assert stats_off.false_negative_rate() == pytest.approx(stats.false_negative_rate(without_same_query=True))


def test_same_label_exclusion_for_label_space_tasks(bow):
    rows = _rows([("sepatu lari pria", "Sepatu", None, "shoes"), ("sepatu lari wanita", "Sepatu Wanita", None, "shoes"),
                  ("tas ransel", "Tas", None, "bags"), ("kaos polos", "Kaos", None, "shirts")],
                 task="title-category")
    out, stats = mine_hard_negatives(rows, bow, HardNegativesConfig(num_negatives=2, range_max=10, fn_ratio=None,
                                                                    tasks=["title-category"]))
    assert "Sepatu Wanita" not in out[0].negatives and len(out[0].negatives) == 2
    assert stats.excluded["title-category"]["same-label"] >= 2


def test_fn_ratio_drops_candidates_nearly_as_close_as_the_positive(bow):
    rows = _rows([("sepatu lari hitam", "sepatu lari hitam pria", None, None),
                  ("kaos", "sepatu lari hitam wanita", None, None),
                  ("tas", "tas ransel", None, None), ("blender", "blender dapur", None, None)])
    cfg = HardNegativesConfig(num_negatives=1, range_max=10, fn_ratio=0.8)
    out, stats = mine_hard_negatives(rows, bow, cfg)
    assert "sepatu lari hitam wanita" not in out[0].negatives and stats.excluded["query-item"]["fn-ratio"] >= 1
    out_nofilter, _ = mine_hard_negatives(rows, bow, cfg.model_copy(update={"fn_ratio": None}))
    assert out_nofilter[0].negatives == ["sepatu lari hitam wanita"]


def test_rank_window_given_negatives_and_untouched_tasks(bow):
    rows = _rows([("q sepatu", "sepatu a", None, None), ("x", "sepatu b", None, None), ("y", "sepatu c", None, None),
                  ("z", "kaos d", None, None)])
    rows[0] = rows[0].model_copy(update={"negatives": ["given"]})
    rows.append(example("kaos", "Kaos", "classification", lang="id", source="t", origin_id="c", label="kaos"))
    cfg = HardNegativesConfig(num_negatives=2, range_min=1, range_max=3, fn_ratio=None)
    out, stats = mine_hard_negatives(rows, bow, cfg)
    assert out[0].negatives[0] == "given" and len(out[0].negatives) == 2
    assert out[-1].negatives == []  # classification is not in cfg.tasks


def test_matches_sentence_transformers_mine_hard_negatives_without_exclusions(tiny_model):
    """With no per-row exclusions, our miner picks what sentence-transformers' miner picks (same relative margin)."""
    from datasets import Dataset
    from sentence_transformers.util import mine_hard_negatives as st_mine

    queries = ["sepatu lari pria", "tas ransel wanita", "kaos polos hitam", "giày chạy bộ nam", "running shoes",
               "leather backpack", "black t-shirt", "kasut larian lelaki"]
    docs = ["sepatu lari pria ringan", "tas ransel wanita kulit", "kaos polos katun hitam", "giày chạy bộ nam nhẹ",
            "running shoes for men", "leather backpack women", "black cotton t-shirt", "kasut larian lelaki murah"]
    rows = _rows([(q, d, None, None) for q, d in zip(queries, docs, strict=True)])
    ours, _ = mine_hard_negatives(rows, tiny_model, HardNegativesConfig(num_negatives=2, range_max=7, fn_ratio=0.95))
    theirs = st_mine(Dataset.from_dict({"q": queries, "p": docs}), tiny_model, num_negatives=2, range_max=7,
                     relative_margin=0.05, sampling_strategy="top", output_format="labeled-list",
                     query_prompt_name="query", corpus_prompt_name="passage", verbose=False)
    st = {row["q"]: row["p"][1:] for row in theirs}
    for q, ex in zip(queries, ours, strict=True):
        assert ex.negatives == st.get(q, []), q


@pytest.mark.parametrize("bad", [{"range_min": 5, "range_max": 5}, {"num_negatives": 5, "range_max": 3},
                                 {"fn_ratio": 1.5}])
def test_bad_windows_are_config_errors(bad):
    from seaembed.config import validate
    from seaembed.errors import ConfigError

    with pytest.raises(ConfigError, match="hard_negatives"):
        validate(DataConfig, {"hard_negatives": bad}, source="x.yaml")


def test_the_report_says_how_many_known_positives_were_kept_out(bow):
    from seaembed.augment.records import DropLog
    from seaembed.augment.report import build_report, render_markdown

    rows = _rows([("sepatu lari pria", "Sepatu Lari Pria Hitam", "item:p0", None),
                  ("sepatu lari pria", "Sepatu Lari Pria Biru", "item:p1", None),
                  ("blender", "Blender Philips", "item:p2", None), ("tas", "Tas Ransel", "item:p3", None)])
    _, stats = mine_hard_negatives(rows, bow, HardNegativesConfig(num_negatives=1, range_max=3, fn_ratio=None))
    md = render_markdown(build_report([], DropLog(), extra={"hard_negatives": stats.to_json()}))
    # each "sepatu lari pria" row would have taken the other one's item: 2 of 4 negatives
    assert ("hard negatives: 4 mined, 2 known positives of the same query excluded, false-negative rate 0.0% "
            "(without the same-query rule: 50.0% of 4)") in md
    assert "| query-item | " in md and "exact over 4 |" in md  # how the neighbour search ran, per task


def test_the_report_says_which_approximate_search_mined_and_its_recall():
    from seaembed.augment.report import mining_search_cell

    how = {"index": "ivfpq", "n": 1_000_000, "k": 31, "nprobe": 256, "refine": 10, "recall": 0.909,
           "target": 0.95, "cal_queries": 500, "curve": {}}
    assert mining_search_cell(how) == ("IVF-PQ over 1,000,000: nprobe 256 x10 re-ranked, recall@31 0.909 on 500 "
                                       "queries (target 0.95, target MISSED)")
    assert "MISSED" not in mining_search_cell({**how, "recall": 0.97})
    assert mining_search_cell(None) == "-"
