"""Load a sentence-transformers model from any seaembed model source.

Uses `seaembed.models.load_model` (local dir, hub id, `packaged:multilingual-e5-small`) when the models stage provides
it, and plain `SentenceTransformer(path)` otherwise, so serving works on any sentence-transformers directory.
"""

from __future__ import annotations

from pathlib import Path

from seaembed.errors import ModelSourceError


def load_sentence_transformer(source: str | Path, *, dtype: str = "float32"):
    """A `SentenceTransformer` on CPU in eval mode, cast to `dtype` (float32 or bfloat16)."""
    import torch

    if dtype not in ("float32", "bfloat16"):
        raise ModelSourceError(f"unsupported dtype '{dtype}': use float32 or bfloat16")
    try:
        from seaembed.models import load_model  # type: ignore[attr-defined]
    except ImportError:
        load_model = None
    if load_model is not None:
        model = load_model(str(source), device="cpu", dtype=dtype)
    else:
        from sentence_transformers import SentenceTransformer

        if not Path(source).exists():
            raise ModelSourceError(f"{source}: no such model directory")
        try:
            model = SentenceTransformer(str(source), device="cpu")
        except Exception as e:  # noqa: BLE001 - many failure types when a directory is not a model
            raise ModelSourceError(f"{source}: cannot load as a sentence-transformers model ({e})") from None
    model.eval()
    if dtype == "bfloat16":
        model.to(torch.bfloat16)
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
