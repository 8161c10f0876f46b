"""Pair classification reports, beside F1, the all-positive F1 floor 2p/(1+p) and AP, overall and per language;
the report shows them and marks an F1 obtained by labelling every pair relevant as '= floor'."""

from __future__ import annotations

import numpy as np
import pytest

from seaembed.evaluate.metrics import pair_metrics
from seaembed.evaluate.report import pair_rows, render_html, render_markdown


def test_floor_and_ap_on_a_hand_computed_example():
    # ranked by score: + - + - -   p = 2/5; AP = (1/1 + 2/3) / 2; floor = 2(0.4)/1.4 = 4/7
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    labels = [1, 0, 1, 0, 0]
    langs = ["th", "th", "id", "id", "id"]
    overall, per_lang = pair_metrics(scores, labels, langs)
    assert overall["f1_floor"] == pytest.approx(4 / 7)
    assert overall["ap"] == pytest.approx(5 / 6)
    # best threshold on test is 0.7 (tp 2, fp 1): F1 = 0.8, above the floor; not every pair is positive
    assert overall["f1"] == pytest.approx(0.8) and overall["all_positive"] is False
    assert per_lang["th"]["f1_floor"] == pytest.approx(2 / 3) and per_lang["th"]["ap"] == pytest.approx(1.0)
    assert per_lang["id"]["f1_floor"] == pytest.approx(0.5) and per_lang["id"]["ap"] == pytest.approx(1.0)


def test_an_all_positive_threshold_scores_exactly_the_floor():
    # On dev, nothing separates positives (score 0) from the negative (0.1): the best threshold labels all positive,
    # as BM25 does on product-query-relevance when most relevant pairs share no token.
    dev_scores, dev_labels = np.array([0.0, 0.0, 0.0, 0.1]), [1, 1, 1, 0]
    test_scores, test_labels = np.array([0.0, 0.3, 0.0, 0.2]), [1, 1, 0, 0]
    overall, per_lang = pair_metrics(test_scores, test_labels, ["en", "en", "tl", "tl"],
                                     dev_scores=dev_scores, dev_labels=dev_labels)
    assert overall["threshold"] == 0.0 and overall["all_positive"] is True
    assert overall["f1"] == pytest.approx(overall["f1_floor"]) == pytest.approx(2 / 3)
    assert per_lang["en"]["f1_floor"] == pytest.approx(1.0) and per_lang["en"]["all_positive"] is True
    assert per_lang["tl"]["f1_floor"] == 0.0 and per_lang["tl"]["f1"] == 0.0


def _results() -> dict:
    def entry(scores, labels, langs, dev=None):
        m, pl = pair_metrics(np.array(scores), labels, langs,
                             dev_scores=None if dev is None else np.array(dev[0]), dev_labels=None if dev is None else dev[1])
        return {"type": "pair-classification", "main_metric": "f1", "main_score": m["f1"], "metrics": m,
                "per_lang": pl, "size": {"test": len(labels)}}

    model = entry([0.9, 0.8, 0.7, 0.6], [1, 0, 1, 0], ["th", "th", "id", "id"])
    bm25 = entry([0.0, 0.0, 0.0, 0.0], [1, 0, 1, 0], ["th", "th", "id", "id"], dev=([0.0, 0.0], [1, 0]))
    return {"model": "m", "tasks": {"pairs": model}, "baselines": {"bm25": {"model": "bm25", "tasks": {"pairs": bm25}}}}


def test_report_shows_floor_and_ap_beside_f1():
    results = _results()
    header, rows = pair_rows(results)
    assert header[3:6] == ["F1", "all-positive floor F1", "AP"]
    by = {(r[1], r[2]): r for r in rows}
    assert by[("all", "bm25")][3:7] == ["66.7", "66.7", "50.0", "= floor: every pair predicted relevant"]
    assert by[("all", "m")][4] == "66.7" and by[("all", "m")][6] == ""
    assert ("th", "bm25") in by and ("id", "m") in by  # per language too
    md = render_markdown(results)
    assert "| pairs | pair-classification | f1 | 80.0 | 66.7 (= floor) |" in md
    assert "all-positive floor F1" in md and "f1_floor 66.7" in md
    html = render_html(results)
    assert "66.7 (= floor)" in html and "all-positive floor F1" in html
