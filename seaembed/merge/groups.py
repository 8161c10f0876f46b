"""Per-layer-group merge weights: which t applies to which tensor.

A schedule is a number (one t for every tensor) or a mapping such as
``{default: 0.5, embeddings: 0.0, "layer.0-5": 0.3, "layer.6-11.attention": 0.7, "*pooler*": 0.0}``.

Keys:
* ``default``: every tensor no other key matches (0.5 if absent).
* a group: ``embeddings``, ``attention``, ``mlp``, ``layernorm``, ``pooler``, ``other``.
* ``layer.N`` or ``layer.A-B`` (both ends included): transformer block N, or blocks A..B.
* ``layer.A-B.<group>``: that group inside those blocks.
* a glob containing ``*`` or ``?``: matched against the full tensor name (e.g. ``0.model.encoder.layer.0.*``).

Precedence, most specific first: glob (first listed wins) > ``layer.A-B.<group>`` > ``layer.A-B`` > ``<group>`` >
``default``. A tensor can be in two groups (a LayerNorm inside attention is ``layernorm`` and ``attention``; the
embedding LayerNorm is ``layernorm`` and ``embeddings``): the first group in that order that has a key decides.

Names are parsed from the state-dict keys of BERT / XLM-R / RoBERTa / DistilBERT / T5 / Llama-style models, with or
without a sentence-transformers prefix such as ``0.model.`` or ``0.auto_model.``.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from seaembed.errors import ConfigError

GROUPS = ("embeddings", "attention", "mlp", "layernorm", "pooler", "other")

_LAYER_RE = re.compile(r"(?:^|\.)(?:layer|layers|h|block|blocks|blk|transformer\.layer)\.(\d+)(?:\.|$)")
_NORM_RE = re.compile(r"(layer_?norm|^ln(_\w+)?$|^ln\d+$|norm\d*$|^rmsnorm$)")
_ATTN_PARTS = {"q_proj", "k_proj", "v_proj", "o_proj", "out_proj", "qkv", "qkv_proj", "query", "key", "value",
               "q_lin", "k_lin", "v_lin", "out_lin", "c_attn", "wq", "wk", "wv", "wo"}
_MLP_PARTS = {"intermediate", "mlp", "ffn", "feed_forward", "feedforward", "fc1", "fc2", "up_proj", "down_proj",
              "gate_proj", "dense_h_to_4h", "dense_4h_to_h", "lin1", "lin2", "c_fc", "densereludense", "wi", "wi_0",
              "wi_1"}
_KEY_RE = re.compile(r"^layer\.(\d+)(?:-(\d+))?(?:\.(\w+))?$")


@dataclass(frozen=True)
class TensorGroup:
    """Where a tensor sits: its transformer block index (None outside blocks) and its groups, most specific first."""

    layer: int | None
    groups: tuple[str, ...]


def classify(name: str) -> TensorGroup:
    """Group a state-dict key, e.g. ``0.model.encoder.layer.3.attention.output.LayerNorm.weight`` ->
    ``TensorGroup(3, ("layernorm", "attention"))``."""
    low = name.lower()
    parts = low.split(".")
    m = _LAYER_RE.search(low)
    layer = int(m.group(1)) if m else None
    modules = parts[:-1] if len(parts) > 1 else parts  # drop "weight" / "bias"
    groups: list[str] = []
    if any(_NORM_RE.search(p) for p in modules):
        groups.append("layernorm")
    non_norm = [p for p in modules if not _NORM_RE.search(p)]  # `post_attention_layernorm` is not attention
    if any("attention" in p or "attn" in p or p in _ATTN_PARTS for p in non_norm):
        groups.append("attention")
    elif any(p in _MLP_PARTS for p in modules) or (layer is not None and "output" in modules):
        # BERT's block output (`layer.N.output.dense`) is the MLP's second projection
        groups.append("mlp")
    if any("embed" in p or p in {"wte", "wpe", "shared"} for p in modules):
        groups.append("embeddings")
    if "pooler" in modules:
        groups.append("pooler")
    if not groups:
        groups.append("other")
    return TensorGroup(layer, tuple(groups))


def _check_t(key: str, value: object) -> float:
    try:
        t = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(f"merge weight t[{key!r}]: expected a number in [0, 1], got {value!r}") from None
    if not 0.0 <= t <= 1.0:
        raise ConfigError(f"merge weight t[{key!r}]: must be in [0, 1], got {t}")
    return t


@dataclass
class TSchedule:
    """A parsed t schedule; `t_for(name)` gives the weight of one tensor."""

    default: float = 0.5
    globs: list[tuple[str, float]] = field(default_factory=list)
    layer_group: list[tuple[int, int, str, float, str]] = field(default_factory=list)
    layer: list[tuple[int, int, float, str]] = field(default_factory=list)
    group: dict[str, float] = field(default_factory=dict)

    @classmethod
    def parse(cls, spec: float | int | str | Mapping[str, object] | TSchedule) -> TSchedule:
        """Build a schedule from a number or a mapping (see the module docstring); bad keys raise `ConfigError`."""
        if isinstance(spec, TSchedule):
            return spec
        if isinstance(spec, int | float | str) and not isinstance(spec, bool):
            return cls(default=_check_t("default", spec))
        if not isinstance(spec, Mapping):
            raise ConfigError(f"merge weight t: expected a number or a mapping, got {type(spec).__name__}")
        sched = cls()
        for key, value in spec.items():
            key = str(key)
            t = _check_t(key, value)
            if key == "default":
                sched.default = t
            elif "*" in key or "?" in key:
                sched.globs.append((key, t))
            elif key in GROUPS:
                sched.group[key] = t
            elif m := _KEY_RE.match(key):
                lo = int(m.group(1))
                hi = int(m.group(2)) if m.group(2) is not None else lo
                if hi < lo:
                    raise ConfigError(f"merge weight t[{key!r}]: layer range {lo}-{hi} is empty")
                if m.group(3) is None:
                    sched.layer.append((lo, hi, t, key))
                elif m.group(3) in GROUPS:
                    sched.layer_group.append((lo, hi, m.group(3), t, key))
                else:
                    raise ConfigError(f"merge weight t[{key!r}]: unknown group {m.group(3)!r}; "
                                      f"groups are {', '.join(GROUPS)}")
            else:
                raise ConfigError(f"merge weight t[{key!r}]: unknown key; use 'default', a group "
                                  f"({', '.join(GROUPS)}), 'layer.N', 'layer.A-B', 'layer.A-B.<group>' or a glob")
        return sched

    @property
    def is_uniform(self) -> bool:
        """True when every tensor gets `default`."""
        return not (self.globs or self.layer_group or self.layer or self.group)

    def with_default(self, t: float) -> TSchedule:
        """A copy with another default (used by the weight search: group overrides stay fixed)."""
        return TSchedule(_check_t("default", t), list(self.globs), list(self.layer_group), list(self.layer),
                         dict(self.group))

    def _match(self, name: str) -> tuple[float, str]:
        for pattern, t in self.globs:
            if fnmatch.fnmatchcase(name, pattern):
                return t, pattern
        g = classify(name)
        if g.layer is not None:
            for grp in g.groups:
                for lo, hi, want, t, key in self.layer_group:
                    if want == grp and lo <= g.layer <= hi:
                        return t, key
            for lo, hi, t, key in self.layer:
                if lo <= g.layer <= hi:
                    return t, key
        for grp in g.groups:
            if grp in self.group:
                return self.group[grp], grp
        return self.default, "default"

    def t_for(self, name: str) -> float:
        """The t of tensor `name`."""
        return self._match(name)[0]

    def check_covers(self, names: Iterable[str]) -> None:
        """Raise `ConfigError` if a key of the schedule matches none of `names` (a typo or a wrong layer range)."""
        names = list(names)
        used = {self._match(n)[1] for n in names}
        keys = [p for p, _ in self.globs] + [k for *_, k in self.layer_group] + [k for *_, k in self.layer]
        keys += list(self.group)
        unused = [k for k in keys if k not in used]
        if unused:
            layers = sorted({g.layer for g in map(classify, names) if g.layer is not None})
            span = f"layers {layers[0]}-{layers[-1]}" if layers else "no numbered layers"
            raise ConfigError(f"merge weight t: key(s) {', '.join(map(repr, unused))} match no tensor of the model "
                              f"(it has {span}; groups {', '.join(GROUPS)})")

    def to_dict(self) -> dict[str, float]:
        """The schedule as the mapping it was parsed from (for merge.json and the model card)."""
        d: dict[str, float] = {"default": self.default}
        d.update({p: t for p, t in self.globs})
        d.update({k: t for *_, t, k in self.layer_group})
        d.update({k: t for *_, t, k in self.layer})
        d.update(self.group)
        return d
