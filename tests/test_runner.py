"""Stage resume: unchanged stages are skipped; a changed setting or input re-runs the stage."""

from __future__ import annotations

import json

from seaembed.runner import StageResult, StageRunner, path_fingerprint


def _stage(out, calls, name):
    def fn():
        calls.append(name)
        out.write_text(f"made by {name}")
        return StageResult({"file": str(out)}, {"rows": 1})
    return fn


def test_skips_unchanged_and_reruns_changed(tmp_path):
    inp = tmp_path / "in.txt"
    inp.write_text("v1")
    calls: list[str] = []
    out = tmp_path / "out.txt"
    StageRunner(tmp_path / "run", log=lambda m: None).run("a", _stage(out, calls, "a"), settings={"k": 1}, inputs={"in": inp})
    r = StageRunner(tmp_path / "run", log=lambda m: None).run("a", _stage(out, calls, "a"), settings={"k": 1}, inputs={"in": inp})
    assert calls == ["a"] and r.skipped and r.outputs == {"file": str(out)}
    StageRunner(tmp_path / "run", log=lambda m: None).run("a", _stage(out, calls, "a"), settings={"k": 2}, inputs={"in": inp})
    assert calls == ["a", "a"]
    inp.write_text("v2")
    StageRunner(tmp_path / "run", log=lambda m: None).run("a", _stage(out, calls, "a"), settings={"k": 2}, inputs={"in": inp})
    assert calls == ["a", "a", "a"]


def test_reruns_when_output_was_deleted(tmp_path):
    calls: list[str] = []
    out = tmp_path / "out.txt"
    runner = StageRunner(tmp_path / "run", log=lambda m: None)
    runner.run("a", _stage(out, calls, "a"), settings={}, inputs={})
    out.unlink()
    runner.run("a", _stage(out, calls, "a"), settings={}, inputs={})
    assert calls == ["a", "a"]


def test_interrupted_stage_is_not_marked_done(tmp_path):
    runner = StageRunner(tmp_path / "run", log=lambda m: None)

    def boom():
        raise RuntimeError("killed")

    try:
        runner.run("a", boom, settings={}, inputs={})
    except RuntimeError:
        pass
    assert not (tmp_path / "run" / "stages" / "a.json").exists()


def test_path_fingerprint_sees_content_not_mtime(tmp_path):
    d = tmp_path / "m"
    d.mkdir()
    (d / "w.bin").write_bytes(b"abc")
    fp1 = path_fingerprint(d)
    (d / "w.bin").write_bytes(b"abc")
    assert path_fingerprint(d) == fp1
    (d / "w.bin").write_bytes(b"abd")
    assert path_fingerprint(d) != fp1


def test_each_stage_records_its_own_peak_rss(tmp_path):
    import numpy as np

    def big() -> StageResult:
        block = np.ones(300 << 20, dtype=np.uint8)  # 300 MiB, touched
        return StageResult({}, {"sum": int(block[::4096].sum())})

    def small() -> StageResult:
        return StageResult({}, {})

    runner = StageRunner(tmp_path)
    first = runner.run("big", big, settings={}, inputs={})
    second = runner.run("small", small, settings={}, inputs={})
    assert first.summary["peak_rss_mib"] >= 300
    # the peak was reset between stages: the small stage does not inherit the big one's
    assert second.summary["peak_rss_mib"] < first.summary["peak_rss_mib"] - 250
    state = json.loads((tmp_path / "stages" / "big.json").read_text())
    assert state["summary"]["peak_rss_mib"] == first.summary["peak_rss_mib"]


def test_the_summary_lists_each_stage_with_its_peak_rss(tmp_path):
    from seaembed.pipeline.summary import summarise

    text = summarise({"stages": {"data": {"skipped": False, "seconds": 47.2, "peak_rss_mib": 1834.0},
                                 "train": {"skipped": True}}}, tmp_path)
    assert "Stages (seconds, peak RSS of the stage):" in text
    data_line = next(line for line in text.splitlines() if line.strip().startswith("data"))
    assert "47 s" in data_line and "1,834 MiB" in data_line
    assert any("train" in line and "skipped" in line for line in text.splitlines())


def test_release_free_memory_returns_freed_heap_to_the_os():
    """Freed small allocations stay on glibc's heap until trimmed; release_free_memory gives them back (#12 item 4)."""
    import sys
    from pathlib import Path

    import pytest

    from seaembed.runner import release_free_memory

    if not sys.platform.startswith("linux"):
        pytest.skip("glibc malloc_trim is Linux-only")

    def rss_mib() -> float:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise AssertionError("no VmRSS")

    chunks = [bytearray(64 * 1024) for _ in range(6000)]  # ~375 MiB in heap-sized (below mmap threshold) blocks
    del chunks[:-1]  # the last one pins the heap top, so plain free() cannot shrink it
    before = rss_mib()
    assert release_free_memory()
    assert before - rss_mib() > 200
