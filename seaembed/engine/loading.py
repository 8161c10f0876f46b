"""Load a model for serving (any seaembed model source, via `seaembed.models.load_model`) and describe its modules."""

from __future__ import annotations

import logging
from pathlib import Path

from seaembed.errors import ModelSourceError

log = logging.getLogger(__name__)


def load_sentence_transformer(source: str | Path, *, dtype: str = "float32"):
    """A `SentenceTransformer` on CPU in eval mode with float32 or bfloat16 weights."""
    from seaembed.models import load_model

    if dtype not in ("float32", "bfloat16"):
        raise ModelSourceError(f"unsupported dtype '{dtype}': use float32 or bfloat16")
    model = load_model(str(source), device="cpu", dtype=dtype)
    model.eval()
    return model


def describe_modules(model) -> tuple[str, bool]:
    """`(pooling_mode, normalised)` of a Transformer -> Pooling [-> Normalize] model; raises if it is another shape."""
    names = [type(m).__name__ for m in model]
    if len(names) < 2 or names[0] != "Transformer" or names[1] != "Pooling" or any(
            n not in ("Normalize",) for n in names[2:]):
        raise ModelSourceError(f"serving expects Transformer -> Pooling [-> Normalize] modules, got {' -> '.join(names)}")
    cfg = model[1].get_config_dict()
    mode = cfg.get("pooling_mode")
    if mode is None:  # older configs spell the mode as booleans
        mode = next((k.removeprefix("pooling_mode_").removesuffix("_tokens")
                     for k, v in cfg.items() if k.startswith("pooling_mode_") and v), "mean")
    return str(mode), "Normalize" in names


# Which export `seaembed serve --model DIR` prefers when DIR has several: int8 first (the fast path), onnx before
# openvino (the default install has onnxruntime; openvino is an extra).
EXPORT_PREFERENCE = ("onnx-int8", "openvino-int8", "onnx", "openvino")


def find_export(model: str | Path) -> tuple[Path, str] | None:
    """The fastest `seaembed export` of `model`, as `(export_dir, format)`, or None.

    `model` may be a run directory (its run.json names the exports of the final model) or a model directory inside
    one (e.g. `RUN/merged`: the run's exports whose recorded source is that directory). An export directory itself
    is not looked up here (the backends read it directly)."""
    import json

    from seaembed.engine.export_meta import EXPORT_META, parity_problem

    path = Path(str(model)).expanduser()
    if not path.is_dir() or (path / EXPORT_META).is_file():
        return None
    for run_dir, whole_run in ((path, True), (path.parent, False)):
        manifest_path = run_dir / "run.json"
        if not manifest_path.is_file():
            continue
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for fmt in EXPORT_PREFERENCE:
            export_dir = manifest.get(f"export_{fmt.replace('-', '_')}")
            if not export_dir or not (Path(export_dir) / EXPORT_META).is_file():
                continue
            meta = json.loads((Path(export_dir) / EXPORT_META).read_text(encoding="utf-8"))
            source = meta.get("source")
            wanted = manifest.get("final_model") if whole_run else str(path)
            if source and wanted and Path(source).resolve() == Path(wanted).resolve():
                problem = parity_problem(export_dir)
                if problem:  # a faster model that answers differently is not what the user asked to serve
                    log.warning("not serving the %s export %s: %s", fmt, export_dir, problem)
                    continue
                return Path(export_dir), fmt
    return None
