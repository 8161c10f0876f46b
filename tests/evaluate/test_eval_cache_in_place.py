"""A model changed in place between `evaluate` calls (as the merge weight search does) is not served stale
embeddings from the cache: each call fingerprints the current tensors."""

from __future__ import annotations

import torch
from sentence_transformers import SentenceTransformer

from seaembed.evaluate.run import evaluate


def test_in_place_change_gets_fresh_embeddings(task_root, tiny_model_dir):
    task = task_root
    model = SentenceTransformer(str(tiny_model_dir), device="cpu")
    first = evaluate(model, [task], show_progress=False, cache=True)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.5)
    second = evaluate(model, [task], show_progress=False, cache=True)
    uncached = evaluate(model, [task], show_progress=False, cache=False)
    name = next(iter(first["tasks"]))
    assert second["tasks"][name]["metrics"] == uncached["tasks"][name]["metrics"]
    assert second["tasks"][name]["metrics"] != first["tasks"][name]["metrics"]
