"""Multi-model spherical merge (weighted Karcher mean of directions)."""

from __future__ import annotations

import math

import pytest
import torch

from seaembed.merge.multislerp import multislerp
from seaembed.merge.slerp import slerp


def test_identical_inputs_return_the_input():
    torch.manual_seed(0)
    x = torch.randn(6, 4)
    out = multislerp([x, x.clone(), x.clone()], [0.2, 0.5, 0.3])
    assert torch.equal(out, x)


@pytest.mark.parametrize("t", [0.1, 0.5, 0.77])
def test_two_tensors_equal_slerp(t):
    torch.manual_seed(1)
    a, b = torch.randn(300), torch.randn(300) * 2
    assert torch.allclose(multislerp([a, b], [1 - t, t]), slerp(a, b, t), atol=1e-5)


def test_three_orthogonal_unit_vectors_give_the_symmetric_unit_vector():
    e = torch.eye(3)
    out = multislerp([e[0], e[1], e[2]])
    assert out.norm().item() == pytest.approx(1.0, abs=1e-6)
    assert torch.allclose(out, torch.ones(3) / math.sqrt(3), atol=1e-6)


def test_result_is_the_karcher_mean_and_norm_is_the_weighted_mean():
    torch.manual_seed(2)
    xs = [torch.randn(50) * s for s in (1.0, 2.0, 0.5)]
    w = [0.5, 0.3, 0.2]
    out = multislerp(xs, w)
    assert out.norm().item() == pytest.approx(sum(wi * x.norm().item() for wi, x in zip(w, xs, strict=True)), rel=1e-5)
    mu = (out / out.norm()).double()
    grad = torch.zeros(50, dtype=torch.float64)  # weighted sum of log maps vanishes at the Karcher mean
    for wi, x in zip(w, xs, strict=True):
        u = (x / x.norm()).double()
        cos = float(u @ mu)
        theta = math.acos(max(-1.0, min(1.0, cos)))
        grad += wi * theta / math.sin(theta) * (u - cos * mu)
    assert grad.norm().item() < 1e-5


def test_origin_measures_task_vectors_from_the_base():
    torch.manual_seed(3)
    base, d1, d2 = torch.randn(40), torch.randn(40), torch.randn(40)
    out = multislerp([base + d1, base + d2], [0.6, 0.4], origin=base)
    assert torch.allclose(out, base + slerp(d1, d2, 0.4), atol=1e-5)


def test_single_nonzero_weight_is_exact_and_colinear_falls_back():
    a = torch.tensor([1.0, 2.0])
    b = torch.tensor([-3.0, 0.5])
    assert torch.equal(multislerp([a, b], [0.0, 1.0]), b)
    assert torch.allclose(multislerp([a, 2 * a, 4 * a]), a * 7 / 3, atol=1e-6)


def test_bad_inputs():
    with pytest.raises(ValueError):
        multislerp([])
    with pytest.raises(ValueError, match="shape"):
        multislerp([torch.zeros(2), torch.zeros(3)])
    with pytest.raises(TypeError):
        multislerp([torch.tensor([1, 2]), torch.tensor([1, 3])])
