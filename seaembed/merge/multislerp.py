"""Multi-model spherical merge: the weighted spherical (Karcher / Fréchet) mean of k tensors.

Definition (per tensor, flattened). Given tensors x_1..x_k with weights w_i >= 0 (normalised to sum 1), optionally
measured from an origin o (then y_i = x_i - o are "task vectors"; otherwise y_i = x_i):

* direction: the weighted Karcher mean μ of the unit directions u_i = y_i/|y_i| on the hypersphere, i.e. the point
  where the weighted sum of log maps Σ w_i log_μ(u_i) vanishes. Found by the usual fixed-point iteration
  μ <- exp_μ(Σ w_i log_μ(u_i)), started from the normalised Euclidean mean (Buss & Fillmore 2001, "Spherical
  averages and applications to spherical splines and interpolation", ACM TOG 20(2)).
* norm: the weighted mean of the norms Σ w_i |y_i|.
* result: o + norm · μ.

For k = 2 with weights (1-t, t) this is exactly `slerp(x_1, x_2, t)` (the Karcher mean of two points lies on their
geodesic at fraction t), so the method generalises SLERP rather than approximating it. mergekit's ``multislerp``
(arcee-ai/mergekit, https://goddard.blog/posts/multislerp-wow-what-a-cool-idea) does one step of a similar tangent-
space average at the Euclidean mean; iterating to the fixed point makes k=2 agree with SLERP exactly.

Why by hand: no maintained library computes a weighted spherical mean of huge tensors. The trick that keeps it
cheap: μ always stays in the span of the u_i, so the whole iteration runs on k-dimensional coefficient vectors
using the k×k Gram matrix (computed once, in float64); the result is Σ c_i · y_i with scalar c_i.

Fallback to the linear soup Σ w_i x_i when the directions are all nearly colinear, a pair is nearly antipodal, a
norm is ~0, or the Euclidean mean of the directions is ~0 (the spherical mean is then ill-defined).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from seaembed.merge.linear import linear_soup, normalise_weights
from seaembed.merge.slerp import _CHUNK, DEFAULT_EPS, combine

if TYPE_CHECKING:
    from torch import Tensor


def gram_matrix(tensors: Sequence[Tensor]) -> list[list[float]]:
    """Pairwise dot products of the flattened tensors, accumulated in float64 chunk by chunk."""
    import torch

    flats = [x.detach().reshape(-1) for x in tensors]
    k = len(flats)
    g = [[0.0] * k for _ in range(k)]
    for s in range(0, flats[0].numel(), _CHUNK):
        block = torch.stack([f[s:s + _CHUNK].to(torch.float64) for f in flats])
        part = (block @ block.T).tolist()
        for i in range(k):
            for j in range(k):
                g[i][j] += part[i][j]
    return g


def karcher_coefficients(gram_unit: list[list[float]], weights: Sequence[float], *, max_iter: int = 100,
                         tol: float = 1e-13) -> list[float] | None:
    """Coefficients c with μ = Σ c_j u_j the weighted Karcher mean of unit vectors whose Gram matrix is given.

    Returns None when the Euclidean mean of the directions is ~0 (mean undefined).
    """
    import torch

    g = torch.tensor(gram_unit, dtype=torch.float64)
    w = torch.tensor(list(weights), dtype=torch.float64)

    def norm(c: torch.Tensor) -> float:
        return math.sqrt(max(float(c @ g @ c), 0.0))

    c = w.clone()
    n0 = norm(c)
    if n0 < 1e-6:
        return None
    c = c / n0
    for _ in range(max_iter):
        cos = (g @ c).clamp(-1.0, 1.0)
        theta = torch.acos(cos)
        # log map coefficient θ/sin θ, -> 1 as θ -> 0
        alpha = torch.where(theta > 1e-12, theta / torch.sin(theta).clamp_min(1e-300), torch.ones_like(theta))
        v = w * alpha - float((w * alpha * cos).sum()) * c
        nv = norm(v)
        if nv < tol:
            break
        c = math.cos(nv) * c + (math.sin(nv) / nv) * v
        c = c / norm(c)
    return c.tolist()


def multislerp(tensors: Sequence[Tensor], weights: Sequence[float] | None = None, *, origin: Tensor | None = None,
               eps: float = DEFAULT_EPS) -> Tensor:
    """Weighted spherical mean of `tensors` (see the module docstring); weights default to uniform.

    Identical inputs return an exact copy of the input; a single non-zero weight returns that tensor exactly.
    """
    import torch

    if not tensors:
        raise ValueError("multislerp needs at least one tensor")
    shape = tensors[0].shape
    for x in tensors:
        if x.shape != shape:
            raise ValueError(f"multislerp needs tensors of one shape, got {tuple(shape)} and {tuple(x.shape)}")
        if not x.is_floating_point():
            raise TypeError(f"multislerp needs floating-point tensors, got {x.dtype}")
    w_all = normalise_weights(weights if weights is not None else [1.0] * len(tensors))
    if len(w_all) != len(tensors):
        raise ValueError(f"{len(tensors)} tensors but {len(w_all)} weights")
    live = [(x, wi) for x, wi in zip(tensors, w_all, strict=True) if wi > 0]
    xs, w = [x for x, _ in live], [wi for _, wi in live]
    if len(xs) == 1 or all(torch.equal(xs[0], x) for x in xs[1:]):
        return xs[0].detach().clone().to(tensors[0].dtype)

    ys = [x - origin for x in xs] if origin is not None else xs
    g = gram_matrix(ys)
    norms = [math.sqrt(max(g[i][i], 0.0)) for i in range(len(ys))]
    tiny = 1e-12 * max(1.0, *norms)
    coeffs = None
    if min(norms) > tiny:
        gu = [[g[i][j] / (norms[i] * norms[j]) for j in range(len(ys))] for i in range(len(ys))]
        off = [gu[i][j] for i in range(len(ys)) for j in range(len(ys)) if i != j]
        if not (min(off) > 1.0 - eps or min(off) < -1.0 + eps):
            coeffs = karcher_coefficients(gu, w)
    if coeffs is None:
        return linear_soup(xs, w).to(tensors[0].dtype)
    mean_norm = sum(wi * ni for wi, ni in zip(w, norms, strict=True))
    out = combine(list(ys), [mean_norm * c / n for c, n in zip(coeffs, norms, strict=True)])
    if origin is not None:
        out = (out.to(torch.promote_types(out.dtype, torch.float32)) + origin).to(tensors[0].dtype)
    return out.to(tensors[0].dtype)
