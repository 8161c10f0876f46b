import numpy as np

from seaembed.augment.config import SelfValidationConfig
from seaembed.augment.pairs import example
from seaembed.augment.records import DropLog
from seaembed.augment.self_validation import label_verdicts, self_validate


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
