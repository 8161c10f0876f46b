"""Linear interpolation and linear "model soups" (a weighted average of weights, Wortsman et al. 2022)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from seaembed.merge.slerp import combine

if TYPE_CHECKING:
    from torch import Tensor


def lerp(a: Tensor, b: Tensor, t: float) -> Tensor:
    """(1-t)·a + t·b; t=0 and t=1 return exact copies of `a` and `b`."""
    if t == 0.0:
        return a.detach().clone()
    if t == 1.0:
        return b.detach().clone().to(a.dtype)
    return combine([a, b], [1.0 - t, t])


def normalise_weights(weights: Sequence[float]) -> list[float]:
    """Weights scaled to sum to 1; negative weights or a zero sum raise `ValueError`."""
    if any(w < 0 for w in weights):
        raise ValueError(f"merge weights must be >= 0, got {list(weights)}")
    total = float(sum(weights))
    if total <= 0:
        raise ValueError(f"merge weights must not all be 0, got {list(weights)}")
    return [float(w) / total for w in weights]


def linear_soup(tensors: Sequence[Tensor], weights: Sequence[float] | None = None) -> Tensor:
    """Σ w_i · x_i with weights normalised to sum 1 (uniform by default).

    If exactly one weight is non-zero, that tensor is returned as an exact copy.
    """
    if not tensors:
        raise ValueError("linear_soup needs at least one tensor")
    w = normalise_weights(weights if weights is not None else [1.0] * len(tensors))
    if len(w) != len(tensors):
        raise ValueError(f"{len(tensors)} tensors but {len(w)} weights")
    live = [(x, wi) for x, wi in zip(tensors, w, strict=True) if wi > 0]
    if len(live) == 1:
        return live[0][0].detach().clone().to(tensors[0].dtype)
    out = combine([x for x, _ in live], [wi for _, wi in live])
    return out.to(tensors[0].dtype)
