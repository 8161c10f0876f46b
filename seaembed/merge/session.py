"""An in-memory merge: load the parents once, then write any merge weight t into a working copy of the base.

The weight search evaluates many t values; `MergeSession.apply(t)` rewrites only the tensors that differ between
the parents (a frozen word-embedding table is shared, not copied), so each t costs one pass over the changed
weights and no disk I/O.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from seaembed.errors import SeaembedError
from seaembed.merge.groups import TSchedule, classify
from seaembed.merge.linear import linear_soup, normalise_weights
from seaembed.merge.multislerp import multislerp
from seaembed.merge.slerp import DEFAULT_EPS, combine, slerp_coefficients

METHODS = ("slerp", "linear", "multislerp")


def _fmt_shape(x: Any) -> str:
    return "(" + ", ".join(str(d) for d in x.shape) + ")"


def check_compatible(base_sd: Mapping[str, Any], other_sd: Mapping[str, Any], *, base_name: str,
                     other_name: str) -> None:
    """Raise `SeaembedError` naming the first tensor whose key, shape or kind (float / integer) differs."""
    missing = [k for k in base_sd if k not in other_sd]
    extra = [k for k in other_sd if k not in base_sd]
    more = lambda xs: f" (and {len(xs) - 1} more)" if len(xs) > 1 else ""  # noqa: E731
    if missing:
        raise SeaembedError(f"tensor {missing[0]!r} is in the base {base_name} but missing from {other_name}"
                            f"{more(missing)}: the models must share one architecture")
    if extra:
        raise SeaembedError(f"tensor {extra[0]!r} is in {other_name} but not in the base {base_name}"
                            f"{more(extra)}: the models must share one architecture")
    for k, a in base_sd.items():
        b = other_sd[k]
        if tuple(a.shape) != tuple(b.shape):
            raise SeaembedError(f"tensor {k!r} has shape {_fmt_shape(a)} in the base {base_name} but "
                                f"{_fmt_shape(b)} in {other_name}")
        if a.is_floating_point() != b.is_floating_point():
            raise SeaembedError(f"tensor {k!r} is {a.dtype} in the base {base_name} but {b.dtype} in {other_name}")


class MergeSession:
    """The parents of a merge, held in memory; `apply(t)` writes the merge into `self.model` (the base's object).

    `method`: ``slerp`` (exactly one tuned model), ``linear`` (a linear soup: (1-t)·base + t·Σ w_i tuned_i) or
    ``multislerp`` (the weighted spherical mean of base and tuned models with weights (1-t, t·w_1, ...)).
    Only floating-point parameters are merged; buffers and integer tensors keep the base's values.
    """

    def __init__(self, base_model: Any, tuned_models: Sequence[Any], *, method: str = "slerp",
                 weights: Sequence[float] | None = None, eps: float = DEFAULT_EPS, base_name: str = "base",
                 tuned_names: Sequence[str] | None = None):
        import torch

        if method not in METHODS:
            raise SeaembedError(f"unknown merge method {method!r}; choose one of {', '.join(METHODS)}")
        if not tuned_models:
            raise SeaembedError("merge needs at least one tuned model")
        if method == "slerp" and len(tuned_models) != 1:
            raise SeaembedError(f"slerp merges exactly two models (base + one tuned); got {len(tuned_models)} tuned "
                                "models: use --method multislerp or linear")
        names = list(tuned_names or [f"tuned model {i + 1}" for i in range(len(tuned_models))])
        if weights is None:
            weights = [1.0] * len(tuned_models)
        if len(weights) != len(tuned_models):
            raise SeaembedError(f"{len(weights)} weights for {len(tuned_models)} tuned models")
        try:
            self.weights = normalise_weights(weights)
        except ValueError as e:
            raise SeaembedError(str(e)) from None
        self.method, self.eps, self.model = method, eps, base_model
        base_sd = base_model.state_dict()
        tuned_sds = [m.state_dict() for m in tuned_models]
        for sd, name in zip(tuned_sds, names, strict=True):
            check_compatible(base_sd, sd, base_name=base_name, other_name=name)

        self.params = {k: p for k, p in base_model.named_parameters() if p.is_floating_point()}
        self.names = list(self.params)
        self.copied = [k for k in base_sd if k not in self.params]  # buffers, integer tensors, tied duplicates
        self.varying = [k for k in self.names if any(not torch.equal(self.params[k], sd[k]) for sd in tuned_sds)]
        self.base = {k: self.params[k].detach().clone() for k in self.varying}
        self.tuned = [{k: sd[k].detach() for k in self.varying} for sd in tuned_sds]
        self.angles: dict[str, float] | None = None

    def _angle_cache(self) -> dict[str, float]:
        if self.angles is None:
            self.angles = self.compute_angles() if len(self.tuned) == 1 else {}
        return self.angles

    def compute_angles(self) -> dict[str, float]:
        """Angle (degrees) between base and tuned direction of each changed tensor (nan for zero tensors)."""
        out = {}
        for k in self.varying:
            theta = slerp_coefficients(self.base[k], self.tuned[0][k], 0.5, self.eps).theta
            out[k] = math.degrees(theta) if not math.isnan(theta) else math.nan
        return out

    def merged_tensor(self, key: str, t: float, method: str | None = None):
        """The merged value of one parameter at weight t (by `method`, default the session's)."""
        method = method or self.method
        a = self.base[key]
        others = [sd[key] for sd in self.tuned]
        if t == 0.0:
            return a.clone()
        if method == "slerp":
            if t == 1.0:
                return others[0].clone().to(a.dtype)
            c0, c1, _, _ = slerp_coefficients(a, others[0], t, self.eps)
            return combine([a, others[0]], [c0, c1])
        w = [1.0 - t] + [t * wi for wi in self.weights]
        if method == "linear":
            return linear_soup([a, *others], w)
        return multislerp([a, *others], w, eps=self.eps)

    def apply(self, t: float | Mapping[str, object] | TSchedule, method: str | None = None) -> dict[str, Any]:
        """Write the merge at weight(s) `t` into `self.model` in place; returns statistics of the merge.

        `method` overrides the session's method for this call (e.g. to compare slerp and linear on one load).
        """
        import torch

        method = method or self.method
        if method not in METHODS or (method == "slerp" and len(self.tuned) != 1):
            raise SeaembedError(f"method {method!r} does not apply to this session ({len(self.tuned)} tuned models)")
        schedule = TSchedule.parse(t)
        schedule.check_covers(self.names)
        fallbacks = 0
        with torch.no_grad():
            for k in self.varying:
                tk = schedule.t_for(k)
                if method == "slerp" and 0.0 < tk < 1.0:
                    fallbacks += slerp_coefficients(self.base[k], self.tuned[0][k], tk, self.eps).fallback
                self.params[k].copy_(self.merged_tensor(k, tk, method))
        return self.stats(schedule, fallbacks, method)

    def stats(self, schedule: TSchedule, fallbacks: int = 0, method: str | None = None) -> dict[str, Any]:
        """What was merged: tensor counts, t per group, and (slerp) the angles between the parents."""
        per_group: dict[str, list[float]] = {}
        for k in self.names:
            g = classify(k)
            label = g.groups[0] if g.layer is None else f"layer.{g.layer}"
            per_group.setdefault(label, []).append(schedule.t_for(k))
        out: dict[str, Any] = {
            "float_parameters": len(self.names),
            "changed_parameters": len(self.varying),
            "identical_parameters": len(self.names) - len(self.varying),
            "copied_from_base": len(self.copied),
            "t_by_group": {g: (ts[0] if len(set(ts)) == 1 else sorted(set(ts))) for g, ts in per_group.items()},
        }
        if (method or self.method) == "slerp":
            angles = [a for a in self._angle_cache().values() if not math.isnan(a)]
            out["lerp_fallbacks"] = fallbacks
            if angles:
                out["angle_degrees"] = {"median": round(statistics.median(angles), 5),
                                        "max": round(max(angles), 5), "min": round(min(angles), 5)}
        return out

