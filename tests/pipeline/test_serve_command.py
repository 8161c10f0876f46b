"""The serve command `seaembed run` prints serves the run's int8 export by default, not the torch model."""

from __future__ import annotations

from seaembed.pipeline.config import RunConfig
from seaembed.pipeline.run import serve_command

MANIFEST = {"final_model": "/r/merged", "index": "/r/index", "export_onnx_int8": "/r/export/onnx-int8"}


def test_default_prints_the_int8_export() -> None:
    assert serve_command(RunConfig(), MANIFEST) == "seaembed serve --model /r/export/onnx-int8 --index /r/index"


def test_torch_backend_or_no_export_prints_the_model() -> None:
    cfg = RunConfig.model_validate({"serve": {"backend": "torch"}})
    assert serve_command(cfg, MANIFEST) == "seaembed serve --model /r/merged --index /r/index --backend torch"
    no_export = {k: v for k, v in MANIFEST.items() if not k.startswith("export_")}
    assert serve_command(RunConfig(), no_export) == "seaembed serve --model /r/merged --index /r/index"
