"""The eval result set (results.json, results.md, report.html) is written all or none."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest

from seaembed.evaluate.run import write_results

RESULTS = {"model": "m", "tasks": {}, "baselines": {}, "task_dirs": {}, "created": "2026-01-01T00:00:00+00:00",
           "environment": {}}


def _fail_on(monkeypatch, marker: str) -> None:
    real = Path.write_text

    def write_text(self, *args, **kwargs):
        if marker in self.name:
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", write_text)


def test_disk_full_on_the_last_file_leaves_no_partial_set(tmp_path, monkeypatch):
    _fail_on(monkeypatch, "report.html")
    with pytest.raises(OSError):
        write_results(RESULTS, tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == []


def test_disk_full_keeps_the_previous_complete_set(tmp_path, monkeypatch):
    out = tmp_path / "out"
    write_results({**RESULTS, "model": "old"}, out)
    _fail_on(monkeypatch, "report.html")
    with pytest.raises(OSError):
        write_results({**RESULTS, "model": "new"}, out)
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "results.json", "results.md"]
    assert json.loads((out / "results.json").read_text())["model"] == "old"


def test_writes_all_three(tmp_path):
    paths = write_results(RESULTS, tmp_path / "out")
    assert {k: p.name for k, p in paths.items()} == {"json": "results.json", "markdown": "results.md",
                                                       "html": "report.html"}
    assert json.loads(paths["json"].read_text())["model"] == "m"
