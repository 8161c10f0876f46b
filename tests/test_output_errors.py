"""Disk full and read-only outputs: one line, exit 2, and checked before the model loads (#15 item 3)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from seaembed.atomic import check_writable
from seaembed.errors import OutputError


def _read_only(monkeypatch, directory: Path) -> None:
    """chmod 0555 where that binds; as root (chmod is ineffective) make mkstemp there fail with EROFS instead."""
    if os.geteuid() != 0:
        directory.chmod(0o555)
        return
    import tempfile

    real = tempfile.mkstemp

    def mkstemp(*args, dir=None, **kwargs):
        if dir is not None and Path(dir).resolve() == directory.resolve():
            raise OSError(errno.EROFS, "Read-only file system", str(directory))
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)


def _no_model_load(monkeypatch):
    import seaembed.models.sources as sources

    def fail(*a, **k):
        raise AssertionError("the model was loaded before the output was checked")

    monkeypatch.setattr(sources, "load_model", fail)


def test_check_writable_read_only_dir(tmp_path, monkeypatch):
    ro = tmp_path / "ro"
    ro.mkdir()
    _read_only(monkeypatch, ro)
    try:
        with pytest.raises(OutputError, match="cannot write"):
            check_writable(ro / "sub" / "x.npy")
        check_writable(tmp_path / "new" / "deeper" / "x.npy")  # a missing parent under a writable dir is fine
    finally:
        ro.chmod(0o755)


def test_encode_to_read_only_dir_is_one_line_exit_2_before_loading(tmp_path, monkeypatch, seaembed_cli):
    src = tmp_path / "in.txt"
    src.write_text("a\nb\n")
    ro = tmp_path / "ro"
    ro.mkdir()
    _read_only(monkeypatch, ro)
    _no_model_load(monkeypatch)
    try:
        code, _, err = seaembed_cli("encode", "--model", "unused", "--input", str(src), "--output",
                         str(ro / "x.npy"))
    finally:
        ro.chmod(0o755)
    assert code == 2, err
    assert err.strip().count("\n") == 0 and "cannot write" in err and "Traceback" not in err


def test_disk_full_during_encode_write_is_one_line_exit_2(tiny_model_dir, tmp_path, monkeypatch, seaembed_cli):
    import numpy as np

    src = tmp_path / "in.txt"
    src.write_text("a\nb\n")

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "x.npy"))

    monkeypatch.setattr(np, "save", full)
    code, _, err = seaembed_cli("encode", "--model", str(tiny_model_dir), "--input", str(src), "--output",
                     str(tmp_path / "x.npy"), "--no-progress")
    assert code == 2, err
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("warning:")]
    assert len(lines) == 1 and "No space left on device" in lines[0]
    assert not (tmp_path / "x.npy").exists()


def test_index_to_read_only_dir_fails_before_loading_the_model(tiny_model_dir, catalog_file, tmp_path, monkeypatch,
                                                                seaembed_cli):
    import seaembed.engine.backends as backends

    monkeypatch.setattr(backends, "create_backend",
                        lambda *a, **k: (_ for _ in ()).throw(AssertionError("model loaded first")))
    ro = tmp_path / "ro"
    ro.mkdir()
    _read_only(monkeypatch, ro)
    try:
        code, _, err = seaembed_cli("index", "--model", str(tiny_model_dir), "--catalog",
                         str(catalog_file), "--out", str(ro / "idx"), "--backend", "torch")
    finally:
        ro.chmod(0o755)
    assert code == 2, err
    assert "cannot write" in err and "Traceback" not in err


def test_eval_to_read_only_dir_fails_before_any_model_runs(tmp_path, monkeypatch):
    from pathlib import Path as P

    import seaembed.evaluate.encoders as encoders
    from seaembed.evaluate.run import evaluate

    tasks = sorted(p for p in (P(__file__).resolve().parents[1] / "seaembed" / "samples" / "tasks").iterdir()
                   if (p / "task.json").is_file())[:1]
    monkeypatch.setattr(encoders, "load_encoder", lambda *a, **k: pytest.fail("a model ran before the check"))
    ro = tmp_path / "ro"
    ro.mkdir()
    _read_only(monkeypatch, ro)
    try:
        with pytest.raises(OutputError, match="cannot write"):
            evaluate("unused", tasks, out_dir=ro / "results", show_progress=False)
    finally:
        ro.chmod(0o755)


def test_permission_error_reading_an_input_is_one_line_too(tmp_path, monkeypatch, seaembed_cli):
    import seaembed.data.io as io

    def denied(path, *a, **k):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(io, "iter_records", denied)
    src = tmp_path / "in.txt"
    src.write_text("a\n")
    code, _, err = seaembed_cli("encode", "--model", "unused", "--input", str(src), "--output",
                     str(tmp_path / "x.npy"))
    assert code == 2 and f"{src}: Permission denied" in err and "cannot write" not in err


def test_disk_full_while_indexing_is_one_line_exit_2_and_keeps_finished_shards(tiny_model_dir, catalog_file, tmp_path,
                                                                             monkeypatch, seaembed_cli):
    import numpy as np

    real, calls = np.save, []

    def save(f, arr, *a, **k):
        calls.append(1)
        if len(calls) == 2:  # the second chunk hits a full disk
            raise OSError(errno.ENOSPC, "No space left on device", getattr(f, "name", "?"))
        return real(f, arr, *a, **k)

    monkeypatch.setattr(np, "save", save)
    out = tmp_path / "idx"
    code, _, err = seaembed_cli("index", "--model", str(tiny_model_dir), "--catalog", str(catalog_file),
                     "--out", str(out), "--backend", "torch", "--chunk-size", "4")
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert code == 2 and len(lines) == 1 and "No space left on device" in lines[0] and "Traceback" not in err
    assert not out.exists()
    assert [p.name[:12] for p in (tmp_path / "idx.partial" / "shards").glob("shard_*.npy")] == ["shard_000000"]


def test_data_build_into_a_read_only_report_dir_fails_before_any_stage(tmp_path, monkeypatch):
    from seaembed.augment.build import build_dataset
    from seaembed.augment.config import DataConfig

    (tmp_path / "c.jsonl").write_text('{"id": "1", "title": "sepatu lari"}\n')
    cfg = DataConfig.model_validate({"sources": {"catalogs": [{"path": "c.jsonl"}]}})
    report = tmp_path / "report"
    report.mkdir()  # exists, but cannot be written into
    _read_only(monkeypatch, report)
    try:
        with pytest.raises(OutputError, match="cannot write"):
            build_dataset(cfg, base_dir=tmp_path, out=tmp_path / "o" / "train.jsonl", work_dir=tmp_path / "work",
                          report_dir=report, show_progress=False, log=lambda m: None)
    finally:
        report.chmod(0o755)
    assert not (tmp_path / "work").exists()


def test_replacing_an_existing_output_dir_needs_its_parent_writable(tmp_path, monkeypatch):
    parent = tmp_path / "p"
    (parent / "idx").mkdir(parents=True)  # an old index: the new one is built beside it, in `parent`
    _read_only(monkeypatch, parent)
    try:
        with pytest.raises(OutputError, match="cannot write"):
            check_writable(parent / "idx")
    finally:
        parent.chmod(0o755)
