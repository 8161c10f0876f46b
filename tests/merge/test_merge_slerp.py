"""SLERP and linear interpolation on known vectors."""

from __future__ import annotations

import math

import pytest
import torch

import seaembed.merge
from seaembed.merge.linear import lerp, linear_soup
from seaembed.merge.slerp import slerp, slerp_coefficients


def test_package_exports_work_and_do_not_import_torch():
    import subprocess
    import sys

    # the exported names are the public functions and compute what they say (slerp: 45 degrees, unit norm)
    assert set(seaembed.merge.__all__) == {"lerp", "linear_soup", "merge_models", "multislerp",
                                           "search_merge_weight", "slerp"}
    a, b = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    half = torch.tensor([1.0, 1.0]) / math.sqrt(2)
    assert torch.allclose(seaembed.merge.slerp(a, b, 0.5), half, atol=1e-6)
    assert torch.allclose(seaembed.merge.lerp(a, b, 0.5), torch.tensor([0.5, 0.5]))
    assert torch.allclose(seaembed.merge.multislerp([a, b], [0.5, 0.5]), half, atol=1e-5)
    # the package docstring's promise: importing it does not import torch
    code = "import sys, seaembed.merge; sys.exit(3 if 'torch' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_orthogonal_unit_vectors_midpoint_is_unit_45_degrees():
    a, b = torch.tensor([1.0, 0.0, 0.0]), torch.tensor([0.0, 1.0, 0.0])
    r = slerp(a, b, 0.5)
    assert r.norm().item() == pytest.approx(1.0, abs=1e-6)
    assert torch.allclose(r, torch.tensor([1.0, 1.0, 0.0]) / math.sqrt(2), atol=1e-6)
    # linear interpolation shrinks the norm to 1/sqrt(2); slerp does not
    assert lerp(a, b, 0.5).norm().item() == pytest.approx(1 / math.sqrt(2), abs=1e-6)


@pytest.mark.parametrize("t", [0.1, 0.25, 0.5, 0.8])
def test_norm_is_interpolated_linearly_and_angle_split(t):
    a, b = torch.tensor([2.0, 0.0]), torch.tensor([0.0, 6.0])
    r = slerp(a, b, t)
    assert r.norm().item() == pytest.approx((1 - t) * 2 + t * 6, rel=1e-6)
    angle = math.degrees(math.atan2(r[1].item(), r[0].item()))
    assert angle == pytest.approx(90 * t, abs=1e-4)


def test_obtuse_angle_and_high_dimension():
    torch.manual_seed(0)
    a, b = torch.randn(500), torch.randn(500) * 3
    theta = math.acos(float(a @ b / (a.norm() * b.norm())))
    r = slerp(a, b, 0.3)
    cos_a = float(r @ a / (r.norm() * a.norm()))
    cos_b = float(r @ b / (r.norm() * b.norm()))
    assert math.acos(min(1, cos_a)) == pytest.approx(0.3 * theta, abs=1e-4)
    assert math.acos(min(1, cos_b)) == pytest.approx(0.7 * theta, abs=1e-4)


def test_colinear_falls_back_to_lerp():
    a = torch.tensor([1.0, 2.0, 3.0])
    for b in (2.5 * a, -0.5 * a, 2.0 * a + torch.tensor([1e-7, 0.0, 0.0])):
        c = slerp_coefficients(a, b, 0.4)
        assert c.fallback
        assert torch.allclose(slerp(a, b, 0.4), 0.6 * a + 0.4 * b, atol=1e-6)


def test_fallback_threshold_follows_eps():
    a, b = torch.tensor([1.0, 0.0]), torch.tensor([1.0, 0.01])  # cos = 0.99995
    assert not slerp_coefficients(a, b, 0.5, eps=1e-8).fallback
    assert slerp_coefficients(a, b, 0.5, eps=1e-3).fallback


def test_zero_norm_falls_back_to_lerp():
    a, b = torch.zeros(4), torch.tensor([1.0, -2.0, 0.5, 3.0])
    assert slerp_coefficients(a, b, 0.3).fallback
    assert torch.allclose(slerp(a, b, 0.3), 0.3 * b)


def test_endpoints_are_exact_copies():
    torch.manual_seed(1)
    a, b = torch.randn(7, 5), torch.randn(7, 5)
    ra, rb = slerp(a, b, 0.0), slerp(a, b, 1.0)
    assert torch.equal(ra, a) and torch.equal(rb, b)
    assert ra.data_ptr() != a.data_ptr()
    assert torch.equal(lerp(a, b, 0.0), a) and torch.equal(lerp(a, b, 1.0), b)


def test_keeps_shape_and_dtype():
    a, b = torch.randn(3, 4, dtype=torch.bfloat16), torch.randn(3, 4, dtype=torch.bfloat16)
    r = slerp(a, b, 0.5)
    assert r.shape == (3, 4) and r.dtype == torch.bfloat16


def test_bad_inputs():
    with pytest.raises(TypeError):
        slerp(torch.tensor([1, 2]), torch.tensor([3, 4]), 0.5)
    with pytest.raises(ValueError, match="shape"):
        slerp(torch.zeros(3), torch.zeros(4), 0.5)


def test_linear_soup_weights():
    a, b, c = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0]), torch.tensor([1.0, 1.0])
    assert torch.allclose(linear_soup([a, b, c]), torch.tensor([2 / 3, 2 / 3]))
    assert torch.allclose(linear_soup([a, b], [3, 1]), torch.tensor([0.75, 0.25]))
    assert torch.equal(linear_soup([a, b], [0, 2]), b)
    with pytest.raises(ValueError):
        linear_soup([a, b], [-1, 2])
