"""Load a model for serving (any seaembed model source, via `seaembed.models.load_model`) and describe its modules."""

from __future__ import annotations

from pathlib import Path

from seaembed.errors import ModelSourceError


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
