import numpy as np

from seaembed.augment.config import SelfValidationConfig
from seaembed.augment.pairs import example
from seaembed.augment.records import DropLog
from seaembed.augment.self_validation import label_verdicts, origin_folds, origin_of, self_validate


def _clusters(n_per: int = 12, seed: int = 0):
    """Three well-separated label clusters in 8-d; rows 0 and 13 get a wrong label."""
    rng = np.random.default_rng(seed)
    centers = np.eye(8)[:3] * 5
    x = np.concatenate([centers[k] + rng.normal(0, 0.3, (n_per, 8)) for k in range(3)])
    labels = [lab for lab in ("a", "b", "c") for _ in range(n_per)]
    labels[0], labels[13] = "b", "c"
    return x, labels


def test_label_verdicts_find_flipped_rows_with_models_that_did_not_see_them():
    x, labels = _clusters()
    cfg = SelfValidationConfig(folds=4, given_below=0.2, other_above=0.5)
    verdicts, p_given = label_verdicts(x, labels, cfg)
    assert sorted(v.index for v in verdicts) == [0, 13]
    assert "P('b')" in next(v.detail for v in verdicts if v.index == 0)
    assert p_given[0] < 0.2 and np.nanmedian(p_given) > 0.8


def test_rare_labels_are_not_judged():
    x, labels = _clusters()
    labels[5] = "rare"
    cfg = SelfValidationConfig(folds=4, min_rows_per_label=3, given_below=0.2, other_above=0.5)
    verdicts, p_given = label_verdicts(x, labels, cfg)
    assert 5 not in {v.index for v in verdicts} and np.isnan(p_given[5])


def test_self_validate_drops_or_downweights_and_logs_each(bow):
    texts = {"shoes": [f"sepatu lari {w}" for w in ("pria", "wanita", "anak", "hitam", "putih", "murah", "ringan",
                                                      "original")],
             "bags": [f"tas ransel {w}" for w in ("kulit", "laptop", "sekolah", "hitam", "putih", "murah", "kanvas",
                                                 "original")]}
    rows = [example(t, lab, "classification", lang="id", source="s", origin_id=f"{lab}{i}", label=lab)
            for lab, ts in texts.items() for i, t in enumerate(ts)]
    rows[0] = rows[0].model_copy(update={"label": "bags"})  # "sepatu lari pria" labelled bags
    cfg = SelfValidationConfig(folds=3, given_below=0.4, other_above=0.6, pair_max_rank=None)
    drops = DropLog()
    kept = self_validate(rows, bow, cfg, drops)
    assert len(kept) == len(rows) - 1 and rows[0] not in kept
    assert [(d.stage, d.reason, d.where) for d in drops.drops] == [
        ("self-validation", "label contradicted", "shoes0")]
    down = self_validate(rows, bow, cfg.model_copy(update={"action": "downweight", "downweight_to": 0.25}), DropLog())
    assert len(down) == len(rows) and down[0].weight == 0.25 and all(r.weight == 1.0 for r in down[1:])


def test_pair_rows_whose_positive_ranks_low_are_flagged(bow):
    rows = [example(f"{w} murah", f"{w} original", "query-item", lang="id", source="s", origin_id=str(i))
            for i, w in enumerate(["sepatu", "tas", "kaos", "blender", "kulkas", "jaket"])]
    rows.append(example("sepatu original murah", "blender dapur philips", "query-item", lang="id", source="s", origin_id="bad"))
    drops = DropLog()
    kept = self_validate(rows, bow, SelfValidationConfig(pair_max_rank=3), drops)
    assert [d.where for d in drops.drops] == ["bad"] and len(kept) == 6
    assert drops.drops[0].reason == "positive ranked low by the guide model"


def _shoes_and_bags(copies: int = 3):
    """Shoes and bags rows (each its own origin), and one shoe row labelled "bags" whose near-identical translated
    copies carry the same wrong label and the same `origin_id`."""
    words = ("pria", "wanita", "anak", "hitam", "putih", "murah", "ringan", "original", "kanvas", "kulit")
    rows = [example(f"{stem} {w}", lab, "classification", lang="id", source="s", origin_id=f"{lab}{i}", label=lab)
            for lab, stem in (("shoes", "sepatu lari"), ("bags", "tas ransel")) for i, w in enumerate(words)]
    wrong = example("sepatu lari gunung", "bags", "classification", lang="id", source="s", origin_id="wrong",
                    label="bags")
    copies_ = [example(f"sepatu lari gunung {suffix}", "bags", "classification", lang=lang, source="s+translate",
                       origin_id="wrong", label="bags", translated_from="id")
               for lang, suffix in (("ms", "baru"), ("tl", "bago"), ("vi", "moi"))[:copies]]
    return rows + [wrong] + copies_


def test_a_row_and_its_translated_copies_always_land_in_the_same_fold():
    rows = _shoes_and_bags()
    groups = [origin_of(ex, i) for i, ex in enumerate(rows)]
    labels = [str(ex.label) for ex in rows]
    for seed in range(20):
        folds = origin_folds(labels, groups, 3, seed=seed)
        assert len(folds) == 3
        held_out = {i: k for k, (_, test) in enumerate(folds) for i in test}
        assert sorted(held_out) == list(range(len(rows)))
        by_origin = {}
        for i, g in enumerate(groups):
            by_origin.setdefault(g, set()).add(held_out[i])
        assert all(len(ks) == 1 for ks in by_origin.values())
    assert origin_of(rows[0].model_copy(update={"origin_id": None}), 7) == "row:7"  # no origin: its own row


def test_translated_copies_do_not_vouch_for_their_mislabelled_source(bow):
    """Grouped folds: the copies are held out with the wrong row, so models that saw none of them flag all four
    (with plain k-fold the copies in the training folds taught the classifier the wrong label)."""
    rows = _shoes_and_bags()
    cfg = SelfValidationConfig(folds=3, given_below=0.4, other_above=0.6, pair_max_rank=None)
    for seed in range(5):
        drops = DropLog()
        kept = self_validate(rows, bow, cfg, drops, seed=seed)
        assert sorted(d.where for d in drops.drops) == ["wrong"] * 4, seed
        assert len(kept) == len(rows) - 4


def _pairs_with_a_low_ranked_khmer_row(n: int = 60):
    """`n` Indonesian query-item rows (more positives than the old default rank 50) and one Khmer row."""
    rows = [example(f"{w}{i} murah", f"{w}{i} original", "query-item", lang="id", source="s", origin_id=str(i))
            for i, w in enumerate(["sepatu", "tas", "kaos", "blender", "kulkas", "jaket"] * (n // 6))]
    # a good code-mixed Khmer row ("running shoes original") that the base guide ranks badly: its Latin word matches
    # every "... original" positive better than its own Indonesian positive
    rows.append(example("ស្បែកជើងរត់ original", "sepatu lari pria", "query-item", lang="km", source="s",
                        origin_id="km1"))
    return rows


def test_default_config_keeps_pair_rows_the_base_guide_ranks_badly(bow):
    rows = _pairs_with_a_low_ranked_khmer_row()
    drops = DropLog()
    kept = self_validate(rows, bow, SelfValidationConfig(), drops)
    assert kept == rows and len(drops) == 0
    assert SelfValidationConfig().pair_max_rank is None
    # still available as an option
    flagged = DropLog()
    self_validate(rows, bow, SelfValidationConfig(pair_max_rank=3), flagged)
    assert [(d.where, d.lang) for d in flagged.drops] == [("km1", "km")]


def test_report_lists_drops_per_language_and_reason(bow):
    from seaembed.augment.filters import dedupe
    from seaembed.augment.report import build_report, render_markdown

    drops = DropLog()
    rows = _pairs_with_a_low_ranked_khmer_row()
    kept = self_validate(rows, bow, SelfValidationConfig(pair_max_rank=3), drops)
    kept = dedupe(kept + kept[:2], drops=drops)  # two id duplicates
    report = build_report(kept, drops)
    assert report["dropped"]["per_lang_reason"] == {
        "id": {"filter: duplicate": 2},
        "km": {"self-validation: positive ranked low by the guide model": 1}}
    md = render_markdown(report)
    assert "## Dropped rows per language and reason" in md
    assert "| km | self-validation: positive ranked low by the guide model | 1 |" in md
    assert "| id | filter: duplicate | 2 |" in md
    assert DropLog.from_json(drops.to_json()).counts_per_lang() == report["dropped"]["per_lang_reason"]
