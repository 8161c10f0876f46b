"""Same-class text pairs: which rows pair with which, and the class keys CAM reads for them."""

from __future__ import annotations

from collections import Counter

from seaembed.augment.config import DataConfig
from seaembed.augment.records import Product, Review
from seaembed.augment.same_class_pairs import (
    REVIEW_TASK,
    TITLE_TASK,
    same_class_pairs,
    title_title_category,
)
from seaembed.train.class_keys import LABEL_SPACE_TASKS, ClassKeys


def _products():
    return [Product(id="s1", title="running shoes A", category=["Fashion", "Shoes"]),
            Product(id="s2", title="running shoes B", category=["Fashion", "Shoes"]),
            Product(id="s3", title="sandals C", category=["Fashion", "Shoes"]),
            Product(id="f1", title="desk fan 16 inch", category=["Home", "Fans"]),
            Product(id="f2", title="standing fan", category=["Home", "Fans"]),
            Product(id="x1", title="lonely kettle", category=["Home", "Kettles"]),
            Product(id="n1", title="no category")]


def test_title_pairs_stay_inside_their_category_as_a_cycle():
    rows = title_title_category(_products(), seed=3)
    by_label: dict[str, list] = {}
    for r in rows:
        by_label.setdefault(r.label, []).append(r)
        assert r.task == TITLE_TASK and r.query != r.positive
    assert set(by_label) == {"Shoes", "Fans"}  # a class of one text gives no pair; no category, no row
    shoes = {"running shoes A", "running shoes B", "sandals C"}
    # 3 texts: a cycle, every text is a query once and a positive once
    assert {r.query for r in by_label["Shoes"]} == shoes
    assert Counter(r.positive for r in by_label["Shoes"]) == Counter(dict.fromkeys(shoes, 1))
    # 2 texts: one pair, not the same pair both ways
    assert len(by_label["Fans"]) == 1
    assert {by_label["Fans"][0].query, by_label["Fans"][0].positive} == {"desk fan 16 inch", "standing fan"}


def test_path_level_and_per_class_and_seed():
    rows = title_title_category(_products(), level="path", per_class=2, seed=0)
    assert Counter(r.label for r in rows) == {"Fashion > Shoes": 2, "Home > Fans": 1}
    assert [(r.query, r.positive) for r in title_title_category(_products(), seed=5)] == \
        [(r.query, r.positive) for r in title_title_category(_products(), seed=5)]


def test_review_pairs_share_the_rating():
    reviews = [Review(item_id="a", text="great", rating=5), Review(item_id="b", text="love it", rating=5.0),
               Review(item_id="c", text="bad", rating=1), Review(item_id="d", text="awful", rating=1),
               Review(item_id="e", text="okay", rating=3), Review(item_id="f", text="unrated", rating=None)]
    rows = same_class_pairs([], reviews, kinds=["review"])
    assert all(r.task == REVIEW_TASK for r in rows)
    pairs = {frozenset((r.query, r.positive)): r.label for r in rows}
    assert pairs == {frozenset(("great", "love it")): "5", frozenset(("bad", "awful")): "1"}


def test_class_keys_make_same_class_rows_share_a_key_and_tasks_never_collide():
    assert TITLE_TASK in LABEL_SPACE_TASKS and REVIEW_TASK in LABEL_SPACE_TASKS
    reviews = [Review(item_id=str(i), text=f"r{i}", rating=1 + i % 2) for i in range(4)]
    rows = same_class_pairs(_products(), reviews)
    keys = ClassKeys()
    k = [keys.key(r.task, r.label) for r in rows]
    assert all(x >= 0 for x in k)
    for r, x in zip(rows, k, strict=True):
        for s, y in zip(rows, k, strict=True):
            assert (x == y) == ((r.task, r.label) == (s.task, s.label))
    assert ClassKeys().key("query-item", "Shoes") == -1  # retrieval rows never get a class


def test_off_by_default_in_the_data_config():
    cfg = DataConfig.model_validate({"sources": {}})
    assert cfg.same_class.enabled is False


def test_build_hook_adds_same_class_rows_only_when_enabled(sources, make_config, tiny_model_dir, tmp_path):
    from seaembed.augment.build import build_dataset
    from seaembed.data.schema import read_examples

    (sources / "more.jsonl").write_text(
        '{"id": "m1", "title": "sepatu lari pria hitam", "cat": "Fashion > Sepatu > Sepatu Lari"}\n'
        '{"id": "m2", "title": "sepatu lari wanita", "cat": "Fashion > Sepatu > Sepatu Lari"}\n', encoding="utf-8")
    raw = make_config(str(tiny_model_dir))
    raw["sources"]["catalogs"].append({"path": "more.jsonl", "fields": {"category": "cat"}})
    raw.update(self_validation={"enabled": False}, hard_negatives={"enabled": False},
               synthetic={"templates": {"enabled": False}, "consistency": {"enabled": False}})
    off = build_dataset(DataConfig.model_validate(raw), base_dir=sources, out=tmp_path / "off.jsonl",
                        work_dir=tmp_path / "w0", show_progress=False, log=lambda m: None)
    raw["same_class"] = {"enabled": True, "kinds": ["title"]}
    on = build_dataset(DataConfig.model_validate(raw), base_dir=sources, out=tmp_path / "on.jsonl",
                       work_dir=tmp_path / "w0", show_progress=False, log=lambda m: None)
    rows_off, rows_on = list(read_examples(off.out)), list(read_examples(on.out))
    assert not any(r.task == TITLE_TASK for r in rows_off)
    extra = [r for r in rows_on if r.task == TITLE_TASK]
    assert extra and len(rows_on) == len(rows_off) + len(extra)
    assert all(r.label == "Sepatu Lari" and r.query != r.positive for r in extra)
    # the fixture's p1 is a third "Sepatu Lari" product: a cycle of three, each title a query once
    assert len(extra) == 3 and len({r.query for r in extra}) == 3 and {r.query for r in extra} == {r.positive for r in extra}
