"""Atomic writes leave no partial artifact; config errors name the file and field."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from seaembed.atomic import atomic_dir, atomic_path, write_jsonl
from seaembed.config import load_config, load_yaml
from seaembed.errors import ConfigError


def test_atomic_path_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_atomic_dir_replaces_whole_directory(tmp_path):
    target = tmp_path / "model"
    target.mkdir()
    (target / "stale.bin").write_text("x")
    with atomic_dir(target) as tmp:
        (tmp / "new.bin").write_text("y")
    assert sorted(p.name for p in target.iterdir()) == ["new.bin"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_artifacts_get_ordinary_permissions(tmp_path):
    import os
    import stat

    umask = os.umask(0o022)
    try:
        with atomic_dir(tmp_path / "d") as tmp:
            (tmp / "x").write_text("x")
        write_jsonl(tmp_path / "f.jsonl", [{"a": 1}])
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "f.jsonl").stat().st_mode) == 0o644


def test_write_jsonl_counts_rows(tmp_path):
    assert write_jsonl(tmp_path / "a.jsonl", [{"a": 1}, {"b": "é"}]) == 2
    assert (tmp_path / "a.jsonl").read_text(encoding="utf-8") == '{"a": 1}\n{"b": "é"}\n'


class _Cfg(BaseModel):
    model: str
    batch_size: int = 8


def test_config_errors_name_file_and_field(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("train:\n  model: x\n  batch_size: many\n")
    with pytest.raises(ConfigError, match=r"c\.yaml \[train\]: batch_size"):
        load_config(_Cfg, p, section="train")
    p.write_text("a: [1, 2\n")
    with pytest.raises(ConfigError, match=r"c\.yaml:\d+: invalid YAML"):
        load_yaml(p)
    with pytest.raises(ConfigError, match="no such config file"):
        load_yaml(tmp_path / "missing.yaml")


def test_write_results_writes_the_json_and_markdown_pair(tmp_path):
    import json

    from seaembed.atomic import write_results

    md = write_results(tmp_path / "out" / "bench.v2", {"x": 1.5, "name": "ñ"}, "# Bench\n")
    assert md == tmp_path / "out" / "bench.v2.md" and md.read_text(encoding="utf-8") == "# Bench\n"
    assert json.loads((tmp_path / "out" / "bench.v2.json").read_text(encoding="utf-8")) == {"x": 1.5, "name": "ñ"}
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["bench.v2.json", "bench.v2.md"]  # no temp files
