"""A stable, cheap fingerprint of a model's weights and configuration (for caches keyed by model).

File sizes and mtimes change across copies, so we hash content, but sparsely enough to stay fast on a 470 MB model:
- small files (configs, tokenizer files, pooling configs; < 32 MB) are hashed in full;
- safetensors files: the JSON header (every tensor's name, dtype, shape, offsets) in full, and for each tensor its
  bytes in full if it is small (<= 1 MB) or 16 evenly spaced 4 KB windows otherwise, so a change to any layer shows;
- other large files (PyTorch .bin, ONNX): the size and 64 evenly spaced 64 KB windows.
`README.md` and seaembed's build record are skipped: they do not change embeddings.

A loaded model (not a path) is fingerprinted from its current in-memory tensors in the same sparse way, so a model
trained in place gets a new fingerprint. The two kinds are stable but not comparable with each other.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from pathlib import Path
from typing import Any

SMALL_FILE = 32 << 20
SMALL_TENSOR = 1 << 20
WINDOWS, WINDOW = 16, 4096
SKIP_FILES = {"README.md", "seaembed_build.json"}


def _windows(start: int, length: int, count: int, size: int) -> list[tuple[int, int]]:
    if length <= count * size:
        return [(start, length)]
    step = (length - size) / (count - 1)
    return [(start + int(i * step), size) for i in range(count)]


def _hash_safetensors(path: Path, h: Any) -> None:
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header_bytes = f.read(n)
        h.update(header_bytes)
        header = json.loads(header_bytes)
        base = 8 + n
        for name in sorted(k for k in header if k != "__metadata__"):
            a, b = header[name]["data_offsets"]
            spans = [(a, b - a)] if b - a <= SMALL_TENSOR else _windows(a, b - a, WINDOWS, WINDOW)
            for off, size in spans:
                f.seek(base + off)
                h.update(f.read(size))


def _hash_large(path: Path, h: Any) -> None:
    size = path.stat().st_size
    h.update(str(size).encode())
    with open(path, "rb") as f:
        for off, n in _windows(0, size, 64, 65536):
            f.seek(off)
            h.update(f.read(n))


def fingerprint_dir(path: str | Path) -> str:
    """Fingerprint of a model directory's content (relative names, configs, sampled weights)."""
    root = Path(path)
    h = hashlib.sha1()
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name not in SKIP_FILES
                   and not any(part.startswith(".") for part in p.relative_to(root).parts))
    for p in files:
        rel = p.relative_to(root).as_posix()
        h.update(b"\0file\0" + rel.encode())
        if p.suffix == ".safetensors":
            _hash_safetensors(p, h)
        elif p.stat().st_size <= SMALL_FILE:
            h.update(p.read_bytes())
        else:
            _hash_large(p, h)
    return h.hexdigest()[:16]


def fingerprint_model(model: Any) -> str:
    """Fingerprint of a loaded `SentenceTransformer` (or any torch module): sampled tensors, prompts, tokenizer."""
    import torch

    h = hashlib.sha1()
    for name, tensor in sorted(model.state_dict().items()):
        t = tensor.detach().reshape(-1)
        h.update(f"\0{name}\0{tuple(tensor.shape)}\0{tensor.dtype}".encode())
        n = t.numel()
        per = max(WINDOW // max(t.element_size(), 1), 1)
        spans = [(0, n)] if n * t.element_size() <= SMALL_TENSOR else _windows(0, n, WINDOWS, per)
        for off, size in spans:
            h.update(t[off : off + size].to("cpu", torch.float32).numpy().tobytes())
    for attr in ("prompts", "default_prompt_name", "max_seq_length"):
        h.update(f"\0{attr}\0{json.dumps(getattr(model, attr, None), sort_keys=True, default=str)}".encode())
    tokenizer = getattr(model, "tokenizer", None)
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        h.update(backend.to_str().encode())
    elif tokenizer is not None:
        h.update(json.dumps(sorted(tokenizer.get_vocab().items())).encode())
    h.update(str([type(m).__name__ for m in model.children()] if hasattr(model, "children") else "").encode())
    return h.hexdigest()[:16]


def model_fingerprint(model_or_path: Any) -> str:
    """A 16-hex-digit fingerprint of a model directory (path or str) or of a loaded model's current weights."""
    if isinstance(model_or_path, str | os.PathLike):
        path = Path(model_or_path)
        if not path.is_dir():
            from seaembed.models.sources import resolve_model_dir

            path = resolve_model_dir(str(model_or_path))
        return fingerprint_dir(path)
    return fingerprint_model(model_or_path)
