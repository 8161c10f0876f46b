"""Stage resume: unchanged stages are skipped; a changed setting or input re-runs the stage."""

from __future__ import annotations

from seaembed.pipeline.runner import StageResult, StageRunner, path_fingerprint


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
