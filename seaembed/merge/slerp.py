"""Spherical linear interpolation (SLERP) of two weight tensors.

Definition (per tensor, flattened): the *direction* moves along the great circle between the two unit directions
(the angle theta between them is split as (1-t)·theta / t·theta), and the *norm* is interpolated linearly:

    slerp(a, b, t) = ((1-t)·|a| + t·|b|) · ( sin((1-t)θ)/sin θ · â + sin(tθ)/sin θ · b̂ ),   cos θ = â·b̂

This is the SLERP of mergekit (arcee-ai/mergekit, ``merge_methods/slerp.py``) with one difference: mergekit applies
the spherical coefficients to the raw tensors, so the direction of its result leans toward the larger-norm tensor
and its norm is not a simple function of the two norms; here direction and norm are interpolated separately, so
orthogonal unit vectors at t=0.5 give exactly the 45-degree unit vector and the norm is exactly the linear blend.

When the two directions are nearly colinear (|cos θ| > 1 - eps) or either norm is ~0 the angle is ill-defined, and
we fall back to plain linear interpolation (which, for parallel tensors, gives the same direction and norm).

The result is always a linear combination c0·a + c1·b with scalar coefficients computed in float64, so tensors are
never copied to float64 (the 96 M-row word-embedding table of e5-small stays cheap). torch is imported inside the
functions so that `import seaembed.merge` stays light for the CLI.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from torch import Tensor

DEFAULT_EPS = 1e-8
"""Colinearity threshold: fall back to lerp when |cos θ| > 1 - eps. The angle is computed in float64, so SLERP stays
accurate for angles down to ~1e-4 rad (fine-tuned weights are usually within a few degrees of their base); mergekit
uses 1 - 0.9995 because it works in float32."""

_CHUNK = 1 << 22


class SlerpCoefficients(NamedTuple):
    """`c0·a + c1·b` is the SLERP result; `theta` is the angle in radians (nan when undefined)."""

    c0: float
    c1: float
    theta: float
    fallback: bool


def dot_and_norms(a: Tensor, b: Tensor) -> tuple[float, float, float]:
    """Return (a·b, |a|, |b|) of the flattened tensors, accumulated in float64 chunk by chunk."""
    import torch

    af, bf = a.detach().reshape(-1), b.detach().reshape(-1)
    ab = aa = bb = 0.0
    for i in range(0, af.numel(), _CHUNK):
        x = af[i:i + _CHUNK].to(torch.float64)
        y = bf[i:i + _CHUNK].to(torch.float64)
        ab += float(x @ y)
        aa += float(x @ x)
        bb += float(y @ y)
    return ab, math.sqrt(aa), math.sqrt(bb)


def slerp_coefficients(a: Tensor, b: Tensor, t: float, eps: float = DEFAULT_EPS) -> SlerpCoefficients:
    """The scalar coefficients of `slerp(a, b, t)`, plus the angle and whether the lerp fallback was used."""
    if a.shape != b.shape:
        raise ValueError(f"slerp needs tensors of the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    dot, na, nb = dot_and_norms(a, b)
    tiny = 1e-12 * max(1.0, na, nb)
    if na <= tiny or nb <= tiny:
        return SlerpCoefficients(1.0 - t, t, math.nan, True)
    cos = max(-1.0, min(1.0, dot / (na * nb)))
    theta = math.acos(cos)
    if abs(cos) > 1.0 - eps:
        return SlerpCoefficients(1.0 - t, t, theta, True)
    sin_theta = math.sin(theta)
    s0 = math.sin((1.0 - t) * theta) / sin_theta
    s1 = math.sin(t * theta) / sin_theta
    norm_t = (1.0 - t) * na + t * nb
    return SlerpCoefficients(norm_t * s0 / na, norm_t * s1 / nb, theta, False)


def combine(tensors: list[Tensor], coefficients: list[float]) -> Tensor:
    """Σ c_i · x_i, accumulated in float32 (or wider), returned in the dtype of the first tensor."""
    import torch

    out_dtype = tensors[0].dtype
    work = torch.promote_types(out_dtype, torch.float32)
    acc = tensors[0].detach().to(work) * coefficients[0]
    for x, c in zip(tensors[1:], coefficients[1:], strict=True):
        acc.add_(x.detach().to(work), alpha=c)
    return acc.to(out_dtype)


def slerp(a: Tensor, b: Tensor, t: float, eps: float = DEFAULT_EPS) -> Tensor:
    """Spherical interpolation from `a` (t=0) to `b` (t=1); see the module docstring for the exact definition.

    t=0 returns a copy of `a` and t=1 a copy of `b` bit for bit. Raises `TypeError` for non-float tensors and
    `ValueError` for shape mismatches.
    """
    import torch

    if not (a.is_floating_point() and b.is_floating_point()):
        raise TypeError(f"slerp needs floating-point tensors, got {a.dtype} and {b.dtype}")
    if a.shape != b.shape:
        raise ValueError(f"slerp needs tensors of the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    if t == 0.0 or torch.equal(a, b):
        return a.detach().clone()
    if t == 1.0:
        return b.detach().clone().to(a.dtype)
    c0, c1, _, _ = slerp_coefficients(a, b, t, eps)
    return combine([a, b], [c0, c1])
