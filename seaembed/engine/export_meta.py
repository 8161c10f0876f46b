"""What an engine needs to know about a `seaembed export` directory: its metadata file, which backend runs each
export format, and which backend `auto` means for a model source.

Written by `seaembed.export` (the export stage), read here by the backends and by everything that picks one, so the
backends never import the export stage.
"""

from __future__ import annotations

import json
from pathlib import Path

from seaembed.errors import ConfigError

EXPORT_META = "seaembed_export.json"
PARITY_FILE = "parity.json"
PARITY_MIN_COSINE = 0.99  # an export is a drop-in for its fp32 model only at or above this mean cosine


def backend_for_format(fmt: str) -> str:
    """The backend that runs an export format: `onnx` or `openvino`."""
    return "openvino" if fmt.startswith("openvino") else "onnx"


def read_export_meta(path: str | Path) -> dict:
    """The `seaembed_export.json` of an export directory (ConfigError if `path` is not one)."""
    meta_path = Path(path) / EXPORT_META
    if not meta_path.is_file():
        raise ConfigError(f"{path}: not a seaembed ONNX export (no {EXPORT_META}); run `seaembed export` first")
    return json.loads(meta_path.read_text(encoding="utf-8"))


def parity_problem(path: str | Path, min_cosine: float = PARITY_MIN_COSINE) -> str | None:
    """Why the export at `path` is not a drop-in for its fp32 model, or None: its parity report (against fp32
    torch) below `min_cosine`, or, without one, an int8 variant search in which no variant reached it."""
    parity_path = Path(path) / PARITY_FILE
    if parity_path.is_file():
        cosine = json.loads(parity_path.read_text(encoding="utf-8")).get("cosine_mean")
        if cosine is not None and cosine < min_cosine:
            return f"its mean cosine to the fp32 torch model is {cosine:.3f} (< {min_cosine}; {parity_path})"
        return None
    if not (Path(path) / EXPORT_META).is_file():
        return None  # not an export (yet): nothing recorded against it
    selection = read_export_meta(path).get("int8_selection") or {}
    if selection and not selection.get("passed_parity", True):
        return f"no int8 variant reached mean cosine {selection.get('min_cosine_mean', min_cosine)} to fp32"
    return None


def resolve_backend(model: str, backend: str) -> str:
    """`auto` means the export's own backend (onnx or openvino) for a `seaembed export` directory, else torch."""
    fmt = read_export_meta(model).get("format", "onnx") if (Path(model) / EXPORT_META).is_file() else None
    if backend == "auto":
        return backend_for_format(fmt) if fmt else "torch"
    if backend in ("onnx", "openvino"):
        if fmt is None:
            wanted = "onnx-int8" if backend == "onnx" else "openvino-int8"
            raise ConfigError(f"--backend {backend} needs a `seaembed export` directory; {model} is not one "
                              f"(run: seaembed export --model {model} --format {wanted} --out DIR)")
        if backend_for_format(fmt) != backend:
            raise ConfigError(f"{model} is a {fmt} export: serve it with --backend {backend_for_format(fmt)} "
                              "(or --backend auto)")
    return backend
