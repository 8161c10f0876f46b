"""All-gather across processes for in-batch negatives, tolerating unequal per-process batch sizes.

`sentence_transformers.util.all_gather_with_grad` requires every rank to contribute a tensor of the same shape;
a run whose last batches differ in size (we never drop examples) would then fail. This pads each rank's rows to
the largest size, gathers with `torch.distributed.nn.all_gather` (so gradients flow back to the owning rank), and
returns a validity mask that the loss uses to exclude the padding rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import Tensor


def is_distributed() -> bool:
    """Whether a torch.distributed process group is running with more than one process."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


@dataclass
class GatherLayout:
    """Where this rank's rows sit in the gathered tensors: `offset` of its first row, per-row `valid` mask."""

    offset: int
    valid: Tensor  # (world * max_rows,) bool
    rows_per_rank: int


def gather_layout(local_rows: int, device: torch.device) -> GatherLayout:
    """Agree on the padded per-rank row count and return this rank's layout (no-op when not distributed)."""
    if not is_distributed():
        return GatherLayout(0, torch.ones(local_rows, dtype=torch.bool, device=device), local_rows)
    world, rank = dist.get_world_size(), dist.get_rank()
    sizes = [torch.zeros(1, dtype=torch.long, device=device) for _ in range(world)]
    dist.all_gather(sizes, torch.tensor([local_rows], dtype=torch.long, device=device))
    counts = [int(s.item()) for s in sizes]
    max_rows = max(counts)
    valid = torch.zeros(world * max_rows, dtype=torch.bool, device=device)
    for r, n in enumerate(counts):
        valid[r * max_rows : r * max_rows + n] = True
    return GatherLayout(rank * max_rows, valid, max_rows)


def _pad_rows(t: Tensor, rows: int, value: float | int = 0) -> Tensor:
    if t.shape[0] == rows:
        return t
    pad = t.new_full((rows - t.shape[0], *t.shape[1:]), value)
    return torch.cat([t, pad], dim=0)


def gather_with_grad(t: Tensor, layout: GatherLayout) -> Tensor:
    """Gather rows from every rank (padded to `layout.rows_per_rank`); gradients reach the owning rank."""
    if not is_distributed():
        return t
    import warnings

    import torch.distributed.nn as dist_nn

    with warnings.catch_warnings():  # deprecated in torch 2.13 in favour of a private API; still the public one
        warnings.simplefilter("ignore", FutureWarning)
        return torch.cat(dist_nn.all_gather(_pad_rows(t, layout.rows_per_rank)), dim=0)


def gather_no_grad(t: Tensor, layout: GatherLayout, fill: int = -1) -> Tensor:
    """Gather integer metadata (class keys, fingerprints) from every rank, padded with `fill`."""
    if not is_distributed():
        return t
    padded = _pad_rows(t, layout.rows_per_rank, fill)
    out = [torch.empty_like(padded) for _ in range(dist.get_world_size())]
    dist.all_gather(out, padded.contiguous())
    return torch.cat(out, dim=0)
