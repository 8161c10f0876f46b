"""Write any model source as a self-contained sentence-transformers directory (`seaembed model fetch`)."""

from __future__ import annotations

import shutil
from pathlib import Path

from seaembed.atomic import atomic_dir
from seaembed.errors import ModelSourceError
from seaembed.models.packaged import share_permissions
from seaembed.models.sources import is_sentence_transformers_dir, load_model, resolve_model_dir

_SKIP = shutil.ignore_patterns(".*", "*.lock")


def write_model_dir(source: str, out: str | Path, *, force: bool = False) -> Path:
    """Copy (sentence-transformers dirs) or wrap and save (plain HF dirs) `source` into `out`, atomically."""
    out = Path(out).expanduser()
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not force:
        raise ModelSourceError(f"{out}: already exists and is not empty; pass --force to replace it")
    src = resolve_model_dir(source)
    if src.resolve() == out.resolve():
        raise ModelSourceError(f"{out}: is the source itself")
    with atomic_dir(out) as tmp:
        if is_sentence_transformers_dir(src):
            shutil.copytree(src, tmp, dirs_exist_ok=True, ignore=_SKIP, symlinks=False)
        else:
            load_model(str(src)).save(str(tmp))
        share_permissions(tmp)
    return out
