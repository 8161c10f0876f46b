"""`seaembed serve --model RUN/merged` (backend auto) serves the run's int8 export and says so; --backend torch
still serves the torch model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path


def test_build_app_picks_the_runs_int8_export(tiny_model_dir: Path, int8_dir: Path, tmp_path: Path, capsys) -> None:
    from seaembed.serve.server import ServeOptions, build_app

    run = tmp_path / "run"
    shutil.copytree(tiny_model_dir, run / "merged")
    shutil.copytree(int8_dir, run / "export" / "onnx-int8")
    meta_path = run / "export" / "onnx-int8" / "seaembed_export.json"
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({**meta, "source": str(run / "merged")}))
    (run / "run.json").write_text(json.dumps({"final_model": str(run / "merged"),
                                              "export_onnx_int8": str(run / "export" / "onnx-int8")}))
    app = build_app(ServeOptions(model=str(run / "merged")))
    try:
        assert app.state.engine.backend.name == "onnx-int8"
    finally:
        app.state.engine.close()
    err = capsys.readouterr().err
    assert "onnx-int8 backend" in err and "the onnx-int8 export of" in err
    app = build_app(ServeOptions(model=str(run / "merged"), backend="torch"))
    try:
        assert app.state.engine.backend.name.startswith("torch")
    finally:
        app.state.engine.close()
