"""Fixtures of the merge tests: "tuned" tiny models that share the base's vocabulary.

`build_tiny_model(seed=1)` trains its own WordPiece vocabulary, whose size can differ by a token between processes
(tie-breaking in the tokenizers trainer), so a second tiny model built that way does not always have the base's
shapes. A tuned stand-in is therefore the base with every float weight replaced or perturbed from a seeded RNG.
"""

from __future__ import annotations

from pathlib import Path

import pytest


def tuned_copy(base_dir: Path, out_dir: Path, *, seed: int, noise: float = 1.0, replace: bool = True) -> Path:
    """Save a copy of the tiny base whose float parameters are redrawn (`replace`) or perturbed (relative `noise`)."""
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(base_dir), device="cpu")
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            if not p.is_floating_point():
                continue
            scale = float(p.std()) if p.numel() > 1 and float(p.std()) > 0 else 0.02
            r = torch.randn(p.shape, generator=gen) * scale
            if replace:
                p.copy_(r + (p.mean() if p.numel() > 1 else 0))
            else:
                p.add_(r * noise)
    model.save(str(out_dir))
    return out_dir


@pytest.fixture(scope="module")
def model_b(tiny_model_dir, tmp_path_factory) -> Path:
    """A tiny model with the base's architecture and vocabulary and independent random weights (seed 1)."""
    return tuned_copy(tiny_model_dir, tmp_path_factory.mktemp("merge_b") / "b", seed=1)


@pytest.fixture(scope="session")
def make_tuned():
    """The `tuned_copy` function, as a fixture (test modules cannot import a conftest by name reliably)."""
    return tuned_copy
