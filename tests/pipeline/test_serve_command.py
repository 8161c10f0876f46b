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


def test_an_export_that_misses_parity_is_not_the_default(tmp_path) -> None:
    import json

    from seaembed.engine.export_meta import EXPORT_META

    export = tmp_path / "onnx-int8"
    export.mkdir()
    (export / EXPORT_META).write_text(json.dumps({"format": "onnx-int8"}))
    (export / "parity.json").write_text(json.dumps({"cosine_mean": 0.961}))
    manifest = {**MANIFEST, "export_onnx_int8": str(export)}
    assert serve_command(RunConfig(), manifest) == "seaembed serve --model /r/merged --index /r/index"
    forced = RunConfig.model_validate({"serve": {"use_export": "onnx-int8"}})
    assert f"--model {export}" in serve_command(forced, manifest)  # asked for by name: the user's choice


def test_the_reranker_is_the_int8_export_only_while_its_parity_passes(tmp_path) -> None:
    import json

    export = tmp_path / "reranker-onnx-int8"
    export.mkdir()
    manifest = {**MANIFEST, "relevance_model": "/r/relevance/cross-encoder", "relevance_export": str(export)}
    torch_cmd = "seaembed serve --model /r/export/onnx-int8 --index /r/index --reranker /r/relevance/cross-encoder"
    assert serve_command(RunConfig(), manifest) == torch_cmd  # no parity report: not trusted
    (export / "parity.json").write_text(json.dumps({"pearson": 0.998, "max_abs_diff": 0.02}))
    assert serve_command(RunConfig(), manifest).endswith(f"--reranker {export}")
    (export / "parity.json").write_text(json.dumps({"pearson": 0.93, "max_abs_diff": 0.02}))
    assert serve_command(RunConfig(), manifest) == torch_cmd
    (export / "parity.json").write_text(json.dumps({"pearson": 0.998, "max_abs_diff": 0.2}))
    assert serve_command(RunConfig(), manifest) == torch_cmd
    no_export = {k: v for k, v in manifest.items() if k != "relevance_export"}
    assert serve_command(RunConfig(), no_export) == torch_cmd
