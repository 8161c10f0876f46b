"""Weight search: evaluate merges over a grid of t and pick t by a stated objective.

Objective: among the grid values t whose mean general score is at least the base model's (t = 0) minus `epsilon`,
choose the one with the best mean domain score; ties go to the higher general score, then to the smaller t.
t = 0 is always evaluated (it is the base, and always feasible), so a choice always exists.

A score is the mean, over a list of task directories, of each task's main metric as reported by the evaluation
stage (`seaembed.evaluate.run.evaluate`). Each t is merged in memory into one working model (no model directory is
written per t); finished grid points are kept in a small JSON file beside the output, so an interrupted search
resumes where it stopped. That file is keyed by the search's settings and by the content fingerprints of both
parents (`seaembed.models.fingerprint`), so rows are reused only for the same weights, not merely the same paths.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from seaembed.atomic import write_json
from seaembed.errors import ConfigError, SeaembedError
from seaembed.merge.groups import TSchedule
from seaembed.merge.slerp import DEFAULT_EPS

Evaluator = Callable[[Any, Sequence[str | Path]], Mapping[str, Any]]
DEFAULT_GRID = [i / 10 for i in range(11)]
OBJECTIVE = ("best mean domain score among t with mean general score >= base general score - epsilon "
             "(ties: higher general score, then smaller t)")
OBJECTIVE_EACH = ("best mean domain score among t where every general task's score >= that task's base score - "
                  "epsilon (ties: higher general score, then smaller t)")
CONSTRAINTS = ("mean", "each")


def parse_grid(text: str | Sequence[float] | None) -> list[float]:
    """Parse `0,0.1,...,1` (an arithmetic progression from the first two values), `0,0.25,1`, or a list."""
    if text is None:
        return list(DEFAULT_GRID)
    if isinstance(text, str):
        parts = [p.strip() for p in text.split(",") if p.strip()]
        if "..." in parts:
            i = parts.index("...")
            if i < 2 or i != len(parts) - 2:
                raise ConfigError(f"grid {text!r}: write '...' as 'a,b,...,z' (step b-a up to z)")
            a, b, z = float(parts[0]), float(parts[1]), float(parts[-1])
            step = b - a
            if step <= 0:
                raise ConfigError(f"grid {text!r}: the step must be positive")
            n = int(round((z - a) / step))
            values = [round(a + k * step, 10) for k in range(n + 1)]
            values += [float(p) for p in parts[2:i]]
        else:
            try:
                values = [float(p) for p in parts]
            except ValueError:
                raise ConfigError(f"grid {text!r}: expected comma-separated numbers") from None
    else:
        values = [float(v) for v in text]
    bad = [v for v in values if not 0.0 <= v <= 1.0]
    if bad or not values:
        raise ConfigError(f"grid: values must be in [0, 1], got {bad or 'nothing'}")
    return sorted(set(values) | {0.0})


def default_evaluator(model: Any, task_dirs: Sequence[str | Path], half: str | None = "select",
                      split_seed: int = 0) -> Mapping[str, Any]:
    """The evaluation stage with its embedding cache, on the `select` half of every task (the report half is what
    the evaluation stage quotes, so the choice of t never reads it; `half=None` scores whole tasks).

    The merged model changes in place between calls, but each `evaluate` call fingerprints the model's current
    tensors afresh, so every t gets its own cache entry; t=0 (the base) and the chosen t are then free when the
    evaluation stage scores the base and the saved merged model.
    """
    from seaembed.evaluate.run import evaluate

    return evaluate(model, list(task_dirs), show_progress=False, cache=True, half=half, split_seed=split_seed)


def task_scores(model: Any, task_dirs: Sequence[str | Path], evaluator: Evaluator | None = None) -> dict[str, float]:
    """Main-metric value of each task, from `evaluator(model, task_dirs)`'s `{"tasks": {name: {...}}}`."""
    result = (evaluator or default_evaluator)(model, task_dirs)
    scores = {}
    for name, entry in result.get("tasks", {}).items():
        metric = entry.get("main_metric")
        value = entry.get("metrics", {}).get(metric)
        if value is None:
            raise SeaembedError(f"task {name!r}: the evaluation gave no value for its main metric {metric!r}")
        scores[name] = float(value)
    if not scores:
        raise SeaembedError(f"no tasks were evaluated from {', '.join(map(str, task_dirs))}")
    return scores


def _score(model: Any, task_dirs: Sequence[str | Path], evaluator: Evaluator | None = None) -> float:
    """Mean main metric of `model` over the tasks in `task_dirs`."""
    scores = task_scores(model, task_dirs, evaluator)
    return sum(scores.values()) / len(scores)


def feasible_rows(rows: Sequence[Mapping[str, Any]], epsilon: float,
                  constraint: str = "mean") -> tuple[list[Mapping[str, Any]], float]:
    """The rows meeting the general-score constraint, and the mean general floor (base general - epsilon).

    `constraint="mean"` bounds the mean general score; `"each"` bounds every `general/<task>` score in
    `row["tasks"]` separately, so a gain on one general task cannot hide a loss on another.
    """
    if constraint not in CONSTRAINTS:
        raise ConfigError(f"constraint must be one of {', '.join(CONSTRAINTS)}, got {constraint!r}")
    base = [r for r in rows if r["t"] == 0.0]
    if not base:
        raise SeaembedError("the weight search needs t = 0 (the base) in its grid")
    floor = base[0]["general"] - epsilon
    if constraint == "mean":
        return [r for r in rows if r["general"] >= floor], floor
    floors = {k: v - epsilon for k, v in base[0].get("tasks", {}).items() if k.startswith("general/")}
    return [r for r in rows if all(r["tasks"][k] >= f for k, f in floors.items())], floor


def choose_t(rows: Sequence[Mapping[str, Any]], epsilon: float, constraint: str = "mean") -> tuple[float, float]:
    """Apply the objective to evaluated rows (`t`, `domain`, `general`); returns (chosen t, mean general floor)."""
    feasible, floor = feasible_rows(rows, epsilon, constraint)
    best = max(feasible, key=lambda r: (r["domain"], r["general"], -r["t"]))
    return best["t"], floor


def evaluate_grid(session: Any, grid: Sequence[float], *, domain_tasks: Sequence[str | Path],
                  general_tasks: Sequence[str | Path], schedule: TSchedule | None = None,
                  evaluator: Evaluator | None = None, cache_path: Path | None = None, cache_key: str = "",
                  show_progress: bool = True) -> list[dict[str, Any]]:
    """Score the merge at each t of `grid` (in memory); finished rows are saved to `cache_path` as they come."""
    from seaembed.progress import tqdm

    schedule = schedule or TSchedule()
    done: dict[str, dict[str, Any]] = {}
    if cache_path is not None and cache_path.is_file():
        try:
            saved = json.loads(cache_path.read_text(encoding="utf-8"))
            if saved.get("key") == cache_key:
                done = saved.get("rows", {})
        except (json.JSONDecodeError, UnicodeDecodeError):
            done = {}
    rows = []
    for t in tqdm(grid, desc="merge weight search", unit="t", disable=not show_progress):
        key = f"{t:.10g}"
        if key not in done:
            session.apply(schedule.with_default(t))
            dom = task_scores(session.model, domain_tasks, evaluator)
            gen = task_scores(session.model, general_tasks, evaluator)
            done[key] = {"t": t, "domain": sum(dom.values()) / len(dom), "general": sum(gen.values()) / len(gen),
                         "tasks": {**{f"domain/{k}": v for k, v in dom.items()},
                                   **{f"general/{k}": v for k, v in gen.items()}}}
            if cache_path is not None:
                write_json(cache_path, {"key": cache_key, "rows": done})
        rows.append(done[key])
    return rows


def search_merge_weight(base: str | Path, tuned: Sequence[str | Path], *, out: str | Path, method: str = "slerp",
                        domain_tasks: Sequence[str | Path], general_tasks: Sequence[str | Path],
                        grid: str | Sequence[float] | None = None, epsilon: float = 0.01,
                        t: float | Mapping[str, object] | TSchedule | None = None,
                        weights: Sequence[float] | None = None, eps: float = DEFAULT_EPS, constraint: str = "mean",
                        evaluator: Evaluator | None = None, show_progress: bool = True,
                        half: str | None = "select", split_seed: int = 0) -> dict[str, Any]:
    """Search t on the grid, write the merged model at the chosen t to `out` with a merge report; returns the report.

    Every task is scored on its `half` ("select" by default, seeded by `split_seed`; None: whole tasks) by the
    default evaluator; a custom `evaluator` is called as given.

    `t` may give per-group overrides (e.g. ``{"embeddings": 0}``); the search varies its default. The report
    (`merge_report.md`, `merge_report.json`, `merge_tradeoff.png`) is written inside `out`.
    """
    from seaembed.merge.merge_models import load_parents, merge_info, write_model_dir
    from seaembed.merge.report import plot_tradeoff, tradeoff_table
    from seaembed.merge.session import MergeSession
    from seaembed.models.fingerprint import model_fingerprint

    if not domain_tasks or not general_tasks:
        raise SeaembedError("--t auto needs --domain-tasks and --general-tasks")
    if epsilon < 0:
        raise ConfigError(f"epsilon must be >= 0, got {epsilon}")
    if constraint not in CONSTRAINTS:
        raise ConfigError(f"constraint must be one of {', '.join(CONSTRAINTS)}, got {constraint!r}")
    objective = OBJECTIVE if constraint == "mean" else OBJECTIVE_EACH
    values = parse_grid(grid)
    if evaluator is None:
        def evaluator(model: Any, dirs: Sequence[str | Path]) -> Mapping[str, Any]:
            return default_evaluator(model, dirs, half=half, split_seed=split_seed)
    schedule = TSchedule.parse(t if t is not None else 0.0)
    out = Path(out)
    tuned = list(tuned)
    base_model, tuned_models = load_parents(base, tuned)
    # the parents' content, not only their paths: a model retrained into the same path must not reuse old rows
    parent_fingerprints = [model_fingerprint(base_model), [model_fingerprint(m) for m in tuned_models]]
    session = MergeSession(base_model, tuned_models, method=method, weights=weights, eps=eps,
                           base_name=str(base), tuned_names=[str(s) for s in tuned])
    del tuned_models
    key_src = json.dumps([str(base), [str(s) for s in tuned], parent_fingerprints, method, session.weights, eps, schedule.to_dict(),
                          [str(d) for d in domain_tasks], [str(d) for d in general_tasks], half, split_seed])
    cache_path = out.with_name(f".{out.name}.merge-search.json")
    rows = evaluate_grid(session, values, domain_tasks=domain_tasks, general_tasks=general_tasks, schedule=schedule,
                         evaluator=evaluator, cache_path=cache_path,
                         cache_key=hashlib.sha256(key_src.encode()).hexdigest(), show_progress=show_progress)
    chosen, floor = choose_t(rows, epsilon, constraint)
    final = schedule.with_default(chosen)
    stats = session.apply(final)
    report = {"objective": objective, "constraint": constraint, "epsilon": epsilon, "base_general": floor + epsilon,
              "general_floor": floor,
              "chosen_t": chosen, "method": method, "grid": values, "rows": rows,
              "domain_tasks": [str(d) for d in domain_tasks], "general_tasks": [str(d) for d in general_tasks],
              "half": half, "split_seed": split_seed}
    feasible = [r["t"] for r in feasible_rows(rows, epsilon, constraint)[0]]
    table = tradeoff_table(rows, chosen_t=chosen, feasible=feasible)
    chosen_row = next(r for r in rows if r["t"] == chosen)
    on = f" Scored on the {half} half of each task (split seed {split_seed})." if half else ""
    md = (f"## Merge weight search\n\nObjective: {objective}; epsilon = {epsilon:g}.{on}\n\n"
          f"Base (t = 0): general {floor + epsilon:.4f}, domain {rows[0]['domain']:.4f}. Chosen t = {chosen:g}: "
          f"domain {chosen_row['domain']:.4f}, general {chosen_row['general']:.4f}.\n\n{table}\n\n"
          "![trade-off](merge_tradeoff.png)\n")
    png = plot_tradeoff({method: rows}, chosen_t=chosen, floor=floor, title=f"{method} merge: score vs t")
    info = merge_info(base, tuned, method=method, schedule=final, weights=session.weights, eps=eps, stats=stats,
                      prompts=getattr(base_model, "prompts", None),
                      search={k: report[k] for k in ("objective", "constraint", "epsilon", "chosen_t", "grid")})
    write_model_dir(base_model, out, info, extra_markdown=md,
                    extra_files={"merge_report.md": "# Merge report\n\n" + md,
                                 "merge_report.json": json.dumps(report, indent=2) + "\n",
                                 "merge_tradeoff.png": png})
    cache_path.unlink(missing_ok=True)
    return report
