"""The data build streams its stage files (#16): its output must be the rows the in-memory pipeline produces."""

from __future__ import annotations

import json

from seaembed.augment.build import build_dataset
from seaembed.augment.config import DataConfig
from seaembed.augment.filters import dedupe, length_filter
from seaembed.augment.pairs import build_pairs
from seaembed.augment.records import DropLog, SourceData
from seaembed.augment.report import build_report, length_stats
from seaembed.augment.sources import read_sources
from seaembed.augment.synthetic import generate_synthetic
from seaembed.data.schema import read_examples


def _model_free(make_config) -> DataConfig:
    raw = make_config("packaged:not-loaded")  # every step that would load it is off
    raw["synthetic"] = {"consistency": {"enabled": False}}
    raw["self_validation"] = {"enabled": False}
    raw["hard_negatives"] = {"enabled": False}
    return DataConfig.model_validate(raw)


def test_streamed_build_equals_the_in_memory_pipeline(sources, make_config, tmp_path):
    cfg = _model_free(make_config)
    log = sources / "queries.jsonl"
    log.write_text(log.read_text(encoding="utf-8") * 2, encoding="utf-8")  # every query-item pair twice
    res = build_dataset(cfg, base_dir=sources, out=tmp_path / "train.jsonl", work_dir=tmp_path / "work",
                        show_progress=False, log=lambda m: None)

    # the same steps over lists, as the build ran them before it streamed
    drops = DropLog()
    data = read_sources(cfg, sources, drops)
    rows = build_pairs(data, cfg.pairs, drops)
    rows += generate_synthetic(data.products, cfg.synthetic, drops, seed=cfg.seed, guide=None,
                               cache_dir=tmp_path / "cache", batch_size=cfg.batch_size, show_progress=False)
    filter_drops = DropLog()
    expected = dedupe(length_filter(rows, min_chars=cfg.pairs.min_chars, max_chars=cfg.pairs.max_chars,
                                    drops=filter_drops), drops=filter_drops)

    got = list(read_examples(res.out))
    assert len(expected) > 20 and res.examples == len(got)
    assert [r.model_dump() for r in got] == [r.model_dump() for r in expected]
    report = json.loads((res.report_dir / "report.json").read_text(encoding="utf-8"))
    assert filter_drops.counts()["filter: duplicate"] >= 1
    assert {k: v for k, v in report["dropped"]["per_reason"].items() if k.startswith("filter: ")} == \
        filter_drops.counts()
    assert report["lengths"]["query"] == length_stats([len(r.query) for r in expected])
    assert report["counts"] == build_report(expected, DropLog())["counts"]


def test_read_stage_file_round_trips_and_loads_only_the_kinds_asked(sources, make_config, tmp_path):
    from seaembed.atomic import write_jsonl

    cfg = _model_free(make_config)
    data = read_sources(cfg, sources, DropLog())
    path = tmp_path / "read.jsonl"
    write_jsonl(path, data.iter_rows())
    assert SourceData.load(path).to_json() == data.to_json()
    only = SourceData.load(path, ["products"])
    assert len(only.products) == len(data.products) > 0 and not only.query_logs and not only.relevance
    assert SourceData.load(path, []).rows_read == data.rows_read and not SourceData.load(path, []).products


def test_report_of_a_generator_equals_the_report_of_its_list(sources, make_config, tmp_path):
    cfg = _model_free(make_config)
    data = read_sources(cfg, sources, DropLog())
    rows = build_pairs(data, cfg.pairs, DropLog())
    assert build_report(iter(rows), DropLog()) == build_report(rows, DropLog())
    assert build_report([], DropLog())["lengths"]["query"] == {"count": 0}
