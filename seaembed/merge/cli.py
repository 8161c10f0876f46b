"""`seaembed merge`: SLERP / linear / multi-SLERP merge of fine-tuned models with their base, t fixed or searched."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from seaembed.errors import ConfigError


def _split(values: list[str] | None) -> list[str]:
    """Repeated options, each possibly comma-separated."""
    return [v.strip() for item in values or [] for v in item.split(",") if v.strip()]


def parse_t_option(text: str) -> tuple[bool, object]:
    """`--t` as (auto?, spec): a number, `auto`, a YAML/JSON mapping, or a YAML file holding one.

    A mapping whose `default` is `auto` searches the default while keeping the other keys fixed.
    """
    import yaml

    text = text.strip()
    if text.lower() == "auto":
        return True, None
    try:
        return False, float(text)
    except ValueError:
        pass
    path = Path(text)
    source = path.read_text(encoding="utf-8") if path.is_file() else text
    try:
        spec = yaml.safe_load(source)
    except yaml.YAMLError:
        spec = None
    if not isinstance(spec, dict):
        raise ConfigError(f"--t {text!r}: expected a number in [0, 1], 'auto', a mapping such as "
                          "'{default: 0.5, embeddings: 0, layer.0-5: 0.3}', or a YAML file holding one")
    if str(spec.get("default", "")).lower() == "auto":
        return True, {k: v for k, v in spec.items() if k != "default"}
    return False, spec


def merge_command(
    base: Annotated[str, typer.Option("--base", help="Base model (directory, hub id, or packaged:...).")],
    tuned: Annotated[list[str], typer.Option("--tuned", help="Fine-tuned model or LoRA adapter dir; repeatable.")],
    out: Annotated[Path, typer.Option("--out", help="Output sentence-transformers directory.")],
    method: Annotated[str, typer.Option("--method", help="slerp | linear | multislerp")] = "slerp",
    t: Annotated[str, typer.Option("--t", help="Merge weight: 0..1 (0 = base), 'auto', or a per-group mapping "
                                   "e.g. '{default: 0.5, embeddings: 0, layer.0-5: 0.3}' or a YAML file.")] = "0.5",
    weights: Annotated[str | None, typer.Option("--weights", help="Relative weights of the tuned models, "
                                                "comma-separated (default uniform).")] = None,
    domain_tasks: Annotated[list[str] | None, typer.Option("--domain-tasks", help="Task dirs for --t auto: the "
                                                           "domain to gain (repeatable or comma-separated).")] = None,
    general_tasks: Annotated[list[str] | None, typer.Option("--general-tasks", help="Task dirs for --t auto: the "
                                                            "general ability to keep.")] = None,
    grid: Annotated[str, typer.Option("--grid", help="t values for --t auto, e.g. '0,0.1,...,1'.")] = "0,0.1,...,1",
    epsilon: Annotated[float, typer.Option("--epsilon", help="--t auto: allowed drop of the mean general score "
                                           "below the base's.")] = 0.01,
    constraint: Annotated[str, typer.Option("--constraint", help="--t auto: 'mean' bounds the mean general score, "
                                            "'each' every general task's score.")] = "mean",
    eps: Annotated[float, typer.Option("--eps", help="SLERP colinearity threshold: lerp when |cos| > 1 - eps.")]
    = 1e-8,
) -> None:
    """Merge fine-tuned models with their base (SLERP, linear soup or multi-SLERP); optionally search t on dev tasks.

    With --t auto, t is the best mean domain score among grid values whose mean general score is at least the
    base's minus --epsilon; a report (merge_report.md/json, merge_tradeoff.png) is written into --out.
    """
    auto, spec = parse_t_option(t)
    try:
        w = [float(x) for x in _split([weights])] if weights else None
    except ValueError:
        raise ConfigError(f"--weights {weights!r}: expected comma-separated numbers") from None
    tuned_list = _split(tuned)
    if auto:
        from seaembed.merge.search import search_merge_weight

        report = search_merge_weight(base, tuned_list, out=out, method=method, domain_tasks=_split(domain_tasks),
                                     general_tasks=_split(general_tasks), grid=grid, epsilon=epsilon, t=spec,
                                     weights=w, eps=eps, constraint=constraint)
        row = next(r for r in report["rows"] if r["t"] == report["chosen_t"])
        typer.echo(f"chosen t = {report['chosen_t']:g} (domain {row['domain']:.4f}, general {row['general']:.4f}; "
                   f"base general {report['base_general']:.4f}, epsilon {epsilon:g})")
        typer.echo(f"merged model and report: {out}")
        return
    if domain_tasks or general_tasks:
        raise ConfigError("--domain-tasks / --general-tasks are only used with --t auto")
    from seaembed.merge.merge_models import merge_models

    merge_models(base, tuned_list, method=method, t=spec, out=out, weights=w, eps=eps)
    typer.echo(f"merged model: {out}")
