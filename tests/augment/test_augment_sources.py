import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from seaembed.augment.config import DataConfig
from seaembed.augment.records import DropLog
from seaembed.augment.sources import read_sources
from seaembed.errors import InputError


@pytest.fixture
def _read(make_config):
    def read(sources, **over):
        raw = make_config("unused")
        raw.update(over)
        drops = DropLog()
        return read_sources(DataConfig.model_validate(raw), sources, drops), drops
    return read


def test_readers_map_fields_and_normalise_rows(sources, _read):
    data, _ = _read(sources)
    by_id = {p.id: p for p in data.products}
    assert sorted(by_id) == ["p1", "p2", "p3", "p4", "p5", "p6"]
    assert by_id["p1"].category == ["Fashion", "Sepatu", "Sepatu Lari"]
    assert by_id["p6"].attributes == {"warna": "putih", "kapasitas": "2L"}  # "k: v; k: v" string form
    assert [q.item_ids for q in data.query_logs] == [["p1"], ["p3", "p404"]]
    assert [(r.text, r.label, r.lang) for r in data.labelled][0] == ("produk bagus banget", "positive", "id")
    assert [(r.target, r.label) for r in data.relevance] == [("p1", 1), ("p2", 0), ("p6", 0)]
    assert data.parallel[0].group == data.parallel[1].group == "parallel:7"
    assert [r.item_id for r in data.reviews] == ["p1"]  # the 1-star review is below min_rating
    assert data.rows_read["catalog"] == 6


def test_missing_languages_are_detected(sources, _read):
    data, _ = _read(sources)
    by_id = {p.id: p for p in data.products}
    assert by_id["p4"].lang == "vi" and by_id["p5"].lang == "en"  # no lang field in the file
    assert by_id["p1"].lang == "id"  # given


def test_every_malformed_row_is_reported_with_file_and_line(sources, _read):
    _, drops = _read(sources)
    malformed = {d.where: d.detail for d in drops.drops if d.reason == "malformed row"}
    catalog, relevance = str(sources / "catalog.jsonl"), str(sources / "relevance.jsonl")
    assert "invalid JSON" in malformed[f"{catalog}:4"]
    assert malformed[f"{catalog}:8"] == "field 'title': missing or empty"
    assert "expected 0 or 1" in malformed[f"{relevance}:4"]
    assert len(malformed) == 3
    assert drops.counts()["read: malformed row"] == 3
    assert drops.counts()["read: review rating below min_rating"] == 1


def test_errors_raise_mode_stops_at_the_first_bad_row(sources, _read):
    with pytest.raises(InputError, match=r"catalog.jsonl:4"):
        _read(sources, errors="raise")


def test_csv_and_parquet_catalogs(tmp_path):
    rows = [{"sku": "a1", "name": "Kaos Polos Hitam", "kategori": "Fashion/Kaos", "attrs": json.dumps({"bahan": "katun"}),
             "harga": "75,000"}]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "c.parquet")
    (tmp_path / "c.csv").write_text("sku;name;kategori;attrs;harga\na2;Kemeja Putih;Fashion/Kemeja;;oops\n",
                                    encoding="utf-8")
    fields = {"id": "sku", "title": "name", "category": "kategori", "attributes": "attrs", "price": "harga"}
    cfg = DataConfig.model_validate({"sources": {"catalogs": [
        {"path": "c.parquet", "fields": fields, "category_sep": "/", "lang": "id"},
        {"path": "c.csv", "fields": fields, "category_sep": "/", "lang": "id"}]}})
    drops = DropLog()
    data = read_sources(cfg, tmp_path, drops)
    assert [(p.id, p.category, p.attributes, p.price) for p in data.products] == [
        ("a1", ["Fashion", "Kaos"], {"bahan": "katun"}, 75000.0)]
    assert [(d.where, d.detail) for d in drops.drops] == [
        (f"{tmp_path / 'c.csv'}:2", "field 'price': expected a number, got 'oops'")]


def _stars(tmp_path, labels, names):
    p = tmp_path / "stars.jsonl"
    p.write_text("".join(json.dumps({"text": f"review {i}", "label": lab}) + "\n" for i, lab in enumerate(labels)),
                 encoding="utf-8")
    cfg = DataConfig.model_validate({"langid": {"enabled": False}, "sources": {"labelled": [
        {"path": str(p), "lang": "tl", "label_names": names}]}})
    return p, cfg


def test_a_label_without_a_name_is_an_error_naming_the_file_line_and_label(tmp_path):
    # the off-by-one of issue #12: names for "0"-"4" over a file whose labels are "1"-"5"
    p, cfg = _stars(tmp_path, ["1", "2", "5"], {str(i): f"{i + 1}-star review" for i in range(5)})
    with pytest.raises(InputError) as e:
        read_sources(cfg, tmp_path, DropLog())
    assert str(e.value).startswith(f"{p}:3: field 'label': label '5' has no name in label_names")
    assert "\n" not in str(e.value)


def test_a_name_for_a_label_that_never_occurs_is_an_error(tmp_path):
    p, cfg = _stars(tmp_path, ["1", "2"], {"0": "1-star", "1": "2-star", "2": "3-star"})
    with pytest.raises(InputError, match=r"label '0' is named in label_names but no row carries it") as e:
        read_sources(cfg, tmp_path, DropLog())
    assert e.value.path == str(p) and e.value.field == "label_names"


def test_labels_without_label_names_are_used_as_they_are(tmp_path):
    _, cfg = _stars(tmp_path, ["positive", "negative"], {})
    data = read_sources(cfg, tmp_path, DropLog())
    assert [(r.label, r.label_text) for r in data.labelled] == [("positive", None), ("negative", None)]


def test_the_default_run_names_exactly_the_labels_of_the_bundled_sample():
    from seaembed.pipeline.config import load_run_config

    run, base = load_run_config()
    raw = {**run.data, "langid": {"enabled": False}, "sources": {"labelled": run.data["sources"]["labelled"]}}
    cfg = DataConfig.model_validate({k: v for k, v in raw.items() if k in DataConfig.model_fields})
    data = read_sources(cfg, base, DropLog())  # raises if a label has no name or a name no label
    stars = {r.label: r.label_text for r in data.labelled if r.source == "shopee-ph-rating"}
    assert stars["1"].startswith("1-star") and stars["5"].startswith("5-star") and len(stars) == 5


def _two_sentiment_sources(tmp_path, **wisesight):
    (tmp_path / "smsa.jsonl").write_text('{"text": "bagus sekali", "label": "positive"}\n'
                                         '{"text": "jelek", "label": "negative"}\n', encoding="utf-8")
    (tmp_path / "wise.jsonl").write_text('{"text": "ดีมาก", "label": "pos"}\n{"text": "แย่", "label": "neg"}\n'
                                         '{"text": "ไหม", "label": "q"}\n', encoding="utf-8")
    return DataConfig.model_validate({"langid": {"enabled": False}, "sources": {"labelled": [
        {"path": "smsa.jsonl", "lang": "id", "name": "smsa", "label_space": "sentiment"},
        {"path": "wise.jsonl", "lang": "th", "name": "wise",
         "label_names": {"pos": "positive sentiment", "neg": "negative sentiment", "q": "a question"},
         "label_space": "sentiment", "label_map": {"pos": "positive", "neg": "negative"}, **wisesight}]}})


def test_sources_mapped_to_one_label_space_share_class_keys_and_cam_masks_them_as_one_class(tmp_path, tiny_model):
    import torch

    from seaembed.augment.pairs import labelled
    from seaembed.train.class_keys import ClassKeys
    from seaembed.train.losses import CAMInfoNCELoss

    rows = labelled(read_sources(_two_sentiment_sources(tmp_path), tmp_path, DropLog()).labelled)
    by = {(r.source, r.query): r for r in rows}
    smsa_pos, wise_pos = by[("smsa", "bagus sekali")], by[("wise", "ดีมาก")]
    assert smsa_pos.positive == "positive" and wise_pos.positive == "positive sentiment"  # the names stay readable
    keys = ClassKeys()
    k = {(r.source, r.query): keys.key(r.task, r.label) for r in rows}
    assert k[("smsa", "bagus sekali")] == k[("wise", "ดีมาก")] >= 0
    assert k[("smsa", "jelek")] == k[("wise", "แย่")] != k[("smsa", "bagus sekali")]
    assert wise_pos.label == "sentiment:positive" and by[("wise", "ไหม")].label == "sentiment:q"

    # CAM: in a batch of the two "positive" rows, each row's in-batch candidate (the other's positive) is masked
    feats = [tiny_model.preprocess([smsa_pos.query, wise_pos.query]),
             tiny_model.preprocess([smsa_pos.positive, wise_pos.positive])]
    loss = CAMInfoNCELoss(tiny_model, mask_duplicate_positive=False)
    loss(feats, torch.tensor([k[("smsa", "bagus sekali")], k[("wise", "ดีมาก")]]))
    assert loss.last_stats["masked"] == 2
    loss(feats, torch.tensor([k[("smsa", "bagus sekali")], k[("smsa", "jelek")]]))  # different classes
    assert loss.last_stats["masked"] == 0


def test_label_space_errors(tmp_path):
    from seaembed.config import validate
    from seaembed.errors import ConfigError

    with pytest.raises(InputError, match=r"wise.jsonl: field 'label_map': label 'neutral' is in label_map but no row"):
        read_sources(_two_sentiment_sources(tmp_path, label_map={"pos": "positive", "neutral": "neutral"}),
                     tmp_path, DropLog())
    with pytest.raises(ConfigError, match="label_space 'sentiment' have different tasks"):
        validate(DataConfig, {"sources": {"labelled": [{"path": "a", "label_space": "sentiment"},
                                                       {"path": "b", "label_space": "sentiment", "task": "topic"}]}})
    with pytest.raises(ConfigError, match="label_map needs label_space"):
        validate(DataConfig, {"sources": {"labelled": [{"path": "a", "label_map": {"pos": "positive"}}]}})
