"""Data build errors (#15 item 4): zero examples, a mapping to an absent column, invalid UTF-8 collected, a console
summary of dropped rows by reason, and max_error_rate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seaembed.augment.build import DataBuildError, build_dataset
from seaembed.augment.config import DataConfig
from seaembed.data.io import ReadReport, iter_records
from seaembed.errors import InputError

GOOD = [{"id": f"p{i}", "title": f"Sepatu lari model {i}", "cat": f"Fashion > Shoes > Type {i % 3}"}
        for i in range(14)]


def _config(tmp_path: Path, catalog: bytes, **extra) -> tuple[DataConfig, Path]:
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    (src / "catalog.jsonl").write_bytes(catalog)
    raw = {"guide_model": "unused", "langid": {"enabled": False},
           "sources": {"catalogs": [{"path": "catalog.jsonl", "lang": "id", "fields": {"category": "cat"}}]},
           "synthetic": {"templates": {"enabled": False}, "consistency": {"enabled": False}}, "hard_negatives": {"enabled": False},
           "self_validation": {"enabled": False}, **extra}
    return DataConfig.model_validate(raw), src


def _build(cfg: DataConfig, src: Path, tmp_path: Path, logs: list[str]):
    return build_dataset(cfg, base_dir=src, out=tmp_path / "out" / "train.jsonl", work_dir=tmp_path / "work",
                         report_dir=tmp_path / "report", show_progress=False, log=logs.append)


def _jsonl(rows) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()


def test_every_row_malformed_is_an_error_not_zero_examples(tmp_path):
    cfg, src = _config(tmp_path, b"{not json\n[1, 2]\n{also not\n")
    logs: list[str] = []
    with pytest.raises(DataBuildError, match="0 examples"):
        _build(cfg, src, tmp_path, logs)
    assert not (tmp_path / "out" / "train.jsonl").exists()
    assert (tmp_path / "report" / "report.md").exists()  # the report says why
    assert any(line.startswith("dropped 3 rows: read: malformed row 3") for line in logs)


def test_a_mapping_to_an_absent_column_is_an_error(tmp_path):
    cfg, src = _config(tmp_path, _jsonl(GOOD))
    cfg.sources.catalogs[0].fields["title"] = "name"  # no row has a 'name' column
    with pytest.raises(InputError, match=r"catalog.jsonl: field 'fields.title': 'title' is mapped to the column "
                                         r"'name', which no row has"):
        _build(cfg, src, tmp_path, [])


def test_invalid_utf8_is_collected_and_the_summary_is_on_the_console(tmp_path):
    data = _jsonl(GOOD[:7]) + b'{"id": "bad", "title": "caf\xe9 \xff"}\n' + _jsonl(GOOD[7:])
    cfg, src = _config(tmp_path, data)
    logs: list[str] = []
    result = _build(cfg, src, tmp_path, logs)
    assert result.examples > 0
    report = json.loads((result.report_dir / "report.json").read_text())
    assert [m["where"].rsplit("/", 1)[-1] for m in report["malformed_rows"]] == ["catalog.jsonl:8"]
    assert "invalid UTF-8" in report["malformed_rows"][0]["detail"]
    summary = [line for line in logs if line.startswith("dropped ")]
    assert len(summary) == 1 and "read: malformed row 1" in summary[0]


def test_max_error_rate_fails_the_build_above_it(tmp_path):
    data = _jsonl(GOOD) + b"{not json\n"  # 1 of 15 rows: 6.7%
    cfg, src = _config(tmp_path, data, max_error_rate=0.05)
    with pytest.raises(DataBuildError, match=r"1 of 15 source rows are malformed \(6.7%\), above max_error_rate 5%"):
        _build(cfg, src, tmp_path, [])
    cfg2, _ = _config(tmp_path, data, max_error_rate=0.1)
    assert _build(cfg2, src, tmp_path, []).examples > 0


def test_csv_with_invalid_utf8_keeps_the_file_line_numbers(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(b"text,label\nok one,a\nbad \xff,b\nok two,c\n")
    report = ReadReport()
    recs = list(iter_records(path, errors="collect", report=report))
    assert [(r.line, r.data["text"]) for r in recs] == [(2, "ok one"), (4, "ok two")]
    assert [(e.line, e.reason.split(" at")[0]) for e in report.errors] == [(3, "invalid UTF-8")]
    with pytest.raises(InputError, match=r"a.csv:3: invalid UTF-8"):
        list(iter_records(path))


def test_a_local_guide_is_keyed_by_its_weights(tmp_path, tiny_model_dir):
    import shutil

    from seaembed.augment.build import _guide_weights
    from seaembed.testing import build_tiny_model

    guide = tmp_path / "guide"
    shutil.copytree(tiny_model_dir, guide)
    cfg, src = _config(tmp_path, b"", guide_model=str(guide))
    before = _guide_weights(cfg, src)
    shutil.rmtree(guide)
    build_tiny_model(guide, seed=9)
    assert before is not None and _guide_weights(cfg, src) != before
