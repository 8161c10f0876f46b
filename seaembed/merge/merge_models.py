"""`merge_models`: load a base and tuned models (merging LoRA adapters first), merge, write a model directory."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from seaembed.atomic import atomic_dir
from seaembed.errors import ModelSourceError, SeaembedError
from seaembed.merge.groups import TSchedule
from seaembed.merge.slerp import DEFAULT_EPS

METHOD_DEFINITIONS = {
    "slerp": "per tensor: direction along the great circle between base and tuned (angle split (1-t):t), norm "
             "interpolated linearly; linear interpolation when nearly colinear",
    "linear": "per tensor: (1-t)·base + t·Σ w_i·tuned_i (a linear model soup)",
    "multislerp": "per tensor: weighted spherical (Karcher) mean of base and tuned directions with weights "
                  "(1-t, t·w_1, ...), norm = weighted mean of norms",
}


def load_st_model(source: str | Path) -> Any:
    """Load any model source (directory, hub id, `packaged:...`) on CPU."""
    from seaembed.models import load_model

    return load_model(str(source), device="cpu")


def find_adapter_dir(source: str | Path) -> Path | None:
    """The directory holding a PEFT adapter (`adapter_config.json`) in `source` or its transformer module, if any."""
    path = Path(source)
    if not path.is_dir():
        return None
    if (path / "adapter_config.json").is_file():
        return path
    modules = path / "modules.json"
    if modules.is_file():
        try:
            entries = json.loads(modules.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None
        for entry in entries:
            sub = path / entry.get("path", "")
            if (sub / "adapter_config.json").is_file():
                return sub
    return None


def merge_adapter_into(base_model: Any, adapter_dir: Path) -> Any:
    """A copy of `base_model` with the PEFT adapter in `adapter_dir` merged into its weights (`merge_and_unload`).

    The adapter is applied to the given base, not to the `base_model_name_or_path` in its config, so adapters
    trained on a local or packaged model merge offline. Modules other than the transformer come from the base.
    """
    import copy

    from peft import PeftModel

    from seaembed.compat import require_peft

    require_peft()
    model = copy.deepcopy(base_model)
    inner = model.transformers_model
    if inner is None:
        raise SeaembedError(f"{adapter_dir}: the base model has no transformers module to apply the adapter to")
    try:
        merged = PeftModel.from_pretrained(inner, str(adapter_dir)).merge_and_unload()
    except Exception as e:  # noqa: BLE001 - report which adapter failed, in one line
        raise ModelSourceError(f"{adapter_dir}: cannot apply this LoRA/PEFT adapter to the base model ({e})") from None
    for module in model.modules():
        if getattr(module, "model", None) is inner:
            module.model = merged
    return model


def load_parents(base: str | Path, tuned: Sequence[str | Path]) -> tuple[Any, list[Any]]:
    """Load the base and each tuned model; a tuned directory holding an adapter is merged into the base first."""
    base_model = load_st_model(base)
    tuned_models = []
    for src in tuned:
        adapter = find_adapter_dir(src)
        tuned_models.append(merge_adapter_into(base_model, adapter) if adapter else load_st_model(src))
    return base_model, tuned_models


def _fmt_t(schedule: TSchedule) -> str:
    if schedule.is_uniform:
        return f"{schedule.default:g}"
    return ", ".join(f"`{k}`: {v:g}" for k, v in schedule.to_dict().items())


def model_card(info: Mapping[str, Any], extra_markdown: str = "") -> str:
    """The README.md of a merged model: parents, method, weights, and what was merged."""
    prompts = info.get("prompts") or {}
    lines = [
        "---", "library_name: sentence-transformers", "tags:", "- sentence-transformers", "- merge", "- seaembed",
        "---", "", "# Merged sentence-embedding model", "",
        f"Made by `seaembed merge` on {info['created']}.", "", "## Parents", "", "| role | model | weight |",
        "|---|---|---|", f"| base | `{info['base']}` | 1 - t |",
    ]
    for src, w in zip(info["tuned"], info["tuned_weights"], strict=True):
        lines.append(f"| tuned | `{src}`{' (LoRA adapter merged into the base)' if src in info['adapters'] else ''}"
                     f" | t · {w:g} |")
    lines += ["", "## Method", "", f"**{info['method']}**: {METHOD_DEFINITIONS[info['method']]}.", "",
              f"Merge weight t: {_fmt_t(TSchedule.parse(info['t']))}"
              + (f" (chosen by weight search: {info['search']['objective']})" if info.get("search") else ""), ""]
    st = info["stats"]
    lines += [f"Tensors: {st['changed_parameters']} parameters differ between the parents and were merged, "
              f"{st['identical_parameters']} are identical in all parents, {st['copied_from_base']} buffers or "
              "non-float tensors were copied from the base."]
    if "angle_degrees" in st:
        a = st["angle_degrees"]
        lines += ["", f"Angle between base and tuned weights per tensor: median {a['median']:.4g}°, max "
                  f"{a['max']:.4g}°; {st['lerp_fallbacks']} tensors were nearly colinear and used linear "
                  "interpolation."]
    if prompts:
        lines += ["", "Prompts (from the base): " + ", ".join(f"`{k}` = {v!r}" for k, v in prompts.items())]
    lines += ["", "The full record is in `merge.json`."]
    if extra_markdown:
        lines += ["", extra_markdown.strip()]
    return "\n".join(lines) + "\n"


def write_model_dir(model: Any, out: str | Path, info: Mapping[str, Any], *, extra_markdown: str = "",
                    extra_files: Mapping[str, str | bytes] | None = None) -> Path:
    """Save `model` (tokenizer, modules and prompts included) with README.md and merge.json, atomically."""
    out = Path(out)
    with atomic_dir(out) as tmp:
        model.save(str(tmp))
        (tmp / "README.md").write_text(model_card(info, extra_markdown), encoding="utf-8")
        (tmp / "merge.json").write_text(json.dumps(info, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        for name, content in (extra_files or {}).items():
            target = tmp / name
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, encoding="utf-8")
    return out


def merge_info(base: str | Path, tuned: Sequence[str | Path], *, method: str, schedule: TSchedule,
               weights: Sequence[float], eps: float, stats: Mapping[str, Any], prompts: Mapping[str, str] | None,
               search: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The JSON record of a merge (also the source of the model card)."""
    from seaembed import __version__

    return {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "seaembed_version": __version__,
        "base": str(base),
        "tuned": [str(s) for s in tuned],
        "adapters": [str(s) for s in tuned if find_adapter_dir(s)],
        "method": method,
        "definition": METHOD_DEFINITIONS[method],
        "t": schedule.to_dict(),
        "tuned_weights": list(weights),
        "eps": eps,
        "stats": dict(stats),
        "prompts": dict(prompts or {}),
        "search": dict(search) if search else None,
    }


def merge_models(base: str | Path, tuned: Sequence[str | Path], *, method: str = "slerp",
                 t: float | Mapping[str, object] | TSchedule = 0.5, out: str | Path,
                 weights: Sequence[float] | None = None, eps: float = DEFAULT_EPS) -> Path:
    """Merge `tuned` models into `base` and write a sentence-transformers directory to `out`; returns `out`.

    `t` is one weight for every tensor or a per-group schedule (see `seaembed.merge.groups`). `weights` are the
    relative weights of the tuned models (uniform by default). Mismatched architectures raise `SeaembedError`
    naming the tensor.
    """
    from seaembed.merge.session import MergeSession

    tuned = list(tuned)
    if not tuned:
        raise SeaembedError("merge needs at least one --tuned model")
    schedule = TSchedule.parse(t)
    base_model, tuned_models = load_parents(base, tuned)
    session = MergeSession(base_model, tuned_models, method=method, weights=weights, eps=eps,
                           base_name=str(base), tuned_names=[str(s) for s in tuned])
    del tuned_models
    stats = session.apply(schedule)
    info = merge_info(base, tuned, method=method, schedule=schedule, weights=session.weights, eps=eps, stats=stats,
                      prompts=getattr(base_model, "prompts", None))
    return write_model_dir(base_model, out, info)
