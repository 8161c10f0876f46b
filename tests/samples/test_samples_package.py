"""Attribution, the helpers, the size budget, and that the build script reproduces the committed files."""

from __future__ import annotations

import filecmp
import json
import subprocess
import sys
from pathlib import Path

import pytest

from seaembed.samples import sample_path, task_dirs

REPO = Path(__file__).resolve().parents[2]


def test_every_source_is_attributed_with_its_license(samples, rows):
    text = (samples / "ATTRIBUTION.md").read_text(encoding="utf-8")
    sources = set()
    for f in samples.rglob("*.jsonl"):
        sources.update(r["source"] for r in rows(f) if "source" in r)
    for d in task_dirs():
        sources.update(json.loads((d / "task.json").read_text())["source"])
        assert "License" in (d / "SOURCE.md").read_text(encoding="utf-8")
    assert sources == {"prdect-id", "filipino-shopee-reviews", "wisesight-sentiment", "indonlu-smsa", "talpco",
                       "sib200", "seaembed-handwritten", "nusax", "indonlu-emot", "indonlu-wrete"}
    for s in sources:
        assert f"`{s}`" in text, s
    for lic in ("CC BY 4.0", "MPL-2.0", "CC0 1.0", "CC BY-SA 4.0", "Apache-2.0"):
        assert lic in text
    assert (samples / "labels" / "SOURCE.md").is_file()


def test_helpers():
    assert sample_path("catalog.jsonl").is_file()
    assert sample_path("labels/smsa_sentiment.jsonl").is_file()
    with pytest.raises(FileNotFoundError, match="catalog.jsonl"):
        sample_path("no-such-file.jsonl")
    with pytest.raises(ValueError, match="domain"):
        task_dirs("other")
    assert set(task_dirs()) == set(task_dirs("domain")) | set(task_dirs("general")) | set(task_dirs("general-touched"))
    assert not set(task_dirs("domain")) & set(task_dirs("general"))


def test_samples_stay_small(samples):
    size = sum(p.stat().st_size for p in samples.rglob("*") if p.is_file())
    assert size < 6_000_000, size


def test_build_script_reproduces_the_committed_samples(tmp_path, datasets, samples):
    out = tmp_path / "samples"
    subprocess.run([sys.executable, str(REPO / "scripts" / "build_samples.py"), "--datasets", str(datasets),
                    "--out", str(out)], check=True, capture_output=True, timeout=300)
    built = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    assert len(built) > 20
    for rel in built:
        assert filecmp.cmp(out / rel, samples / rel, shallow=False), f"{rel} differs: rerun scripts/build_samples.py"
    shipped = {p.relative_to(samples) for p in samples.rglob("*") if p.is_file()
               and p.suffix != ".py" and "__pycache__" not in p.parts}
    assert shipped == set(built), shipped ^ set(built)  # no stale file left from an older build
