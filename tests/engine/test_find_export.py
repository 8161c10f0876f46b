"""`seaembed serve --model DIR` finds the int8 export a run built of DIR (the fast path by default)."""

from __future__ import annotations

import json
from pathlib import Path

from seaembed.engine.export_meta import EXPORT_META
from seaembed.engine.loading import find_export


def _run_dir(tmp_path: Path) -> Path:
    run = tmp_path / "run"
    (run / "merged").mkdir(parents=True)
    manifest = {"final_model": str(run / "merged")}
    for fmt in ("onnx", "onnx-int8"):
        d = run / "export" / fmt
        d.mkdir(parents=True)
        (d / EXPORT_META).write_text(json.dumps({"format": fmt, "source": str(run / "merged")}))
        manifest[f"export_{fmt.replace('-', '_')}"] = str(d)
    (run / "run.json").write_text(json.dumps(manifest))
    return run


def test_run_dir_and_its_final_model_resolve_to_the_int8_export(tmp_path: Path) -> None:
    run = _run_dir(tmp_path)
    assert find_export(run) == (run / "export" / "onnx-int8", "onnx-int8")
    assert find_export(run / "merged") == (run / "export" / "onnx-int8", "onnx-int8")


def test_no_export_for_other_models_export_dirs_and_stale_manifests(tmp_path: Path) -> None:
    run = _run_dir(tmp_path)
    (run / "train").mkdir()
    assert find_export(run / "train") is None  # not the exported model
    assert find_export(run / "export" / "onnx-int8") is None  # an export dir is served as it is
    assert find_export(tmp_path / "missing") is None
    assert find_export("packaged:multilingual-e5-small") is None
    import shutil

    shutil.rmtree(run / "export" / "onnx-int8")
    assert find_export(run / "merged") == (run / "export" / "onnx", "onnx")


def test_an_export_that_misses_parity_is_not_served_in_place_of_its_model(tmp_path: Path, caplog) -> None:
    from seaembed.engine.export_meta import parity_problem

    run = _run_dir(tmp_path)
    int8 = run / "export" / "onnx-int8"
    (int8 / "parity.json").write_text(json.dumps({"cosine_mean": 0.961}))
    assert "0.961" in parity_problem(int8)
    with caplog.at_level("WARNING"):
        assert find_export(run / "merged") == (run / "export" / "onnx", "onnx")  # the next faithful export
    assert "not serving the onnx-int8 export" in caplog.text
    (int8 / "parity.json").write_text(json.dumps({"cosine_mean": 0.997}))
    assert parity_problem(int8) is None
    assert find_export(run / "merged") == (int8, "onnx-int8")


def test_a_variant_search_that_nothing_passed_is_a_parity_problem(tmp_path: Path) -> None:
    from seaembed.engine.export_meta import parity_problem

    run = _run_dir(tmp_path)
    int8 = run / "export" / "onnx-int8"
    meta = {"format": "onnx-int8", "source": str(run / "merged"),
            "int8_selection": {"passed_parity": False, "min_cosine_mean": 0.99}}
    (int8 / EXPORT_META).write_text(json.dumps(meta))
    assert "no int8 variant reached" in parity_problem(int8)
    assert parity_problem(tmp_path / "not-an-export") is None
