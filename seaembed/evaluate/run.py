"""`evaluate`: a model and its baselines on a set of task directories, written as JSON, Markdown and HTML."""

from __future__ import annotations

import logging
import platform
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from seaembed.evaluate.tasks import Task, find_task_dirs, load_task
from seaembed.progress import tqdm

log = logging.getLogger(__name__)

HALF_NOTES = {"report": "report half; settings chosen on the select half",
              "select": "select half: the half a run's choices are made on (not a reported score)"}


def _system_results(name: str, tasks: list[Task], runner, show_progress: bool) -> dict[str, Any]:
    started = time.perf_counter()
    out: dict[str, Any] = {"model": name, "tasks": {}}
    for task in tqdm(tasks, desc=f"eval {name}", disable=not show_progress, unit="task"):
        out["tasks"][task.name] = runner(task)
    out["seconds"] = round(time.perf_counter() - started, 2)
    return out


def _model_name(model: Any) -> str:
    return model if isinstance(model, str) else str(getattr(model, "name", None) or type(model).__name__)


def evaluate(
    model: Any,
    task_dirs: Sequence[str | Path],
    *,
    baselines: Sequence[Any] = (),
    out_dir: str | Path | None = None,
    batch_size: int = 32,
    show_progress: bool = True,
    cache: bool = True,
    names: Mapping[str, str] | None = None,
    half: str | None = None,
    split_seed: int = 0,
) -> dict[str, Any]:
    """Evaluate `model` (a model source, a loaded SentenceTransformer, or an `Encoder`) on every task.

    `names` gives display names to the model and baseline sources (e.g. `{"runs/x/merged": "final"}`); a source
    without one is named by itself.

    `task_dirs` are task directories or directories of them. `baselines` are `"bm25"` or other model sources,
    evaluated in the same run. With `out_dir`, writes `results.json`, `results.md` and `report.html` there.
    Returns `{"model", "tasks": {name: entry}, "baselines": {name: {"model", "tasks"}}, ...}`.

    `half` ("select" or "report") scores only that half of every task (`seaembed.evaluate.halves`, seeded by
    `split_seed`); task names then end in ":select" / ":report" and `results["halves"]` says which.
    """
    from seaembed.evaluate.encoders import load_encoder
    from seaembed.evaluate.runners import run_with_bm25, run_with_encoder

    tasks = [load_task(d) for d in find_task_dirs(list(task_dirs))]
    if out_dir is not None:  # a read-only or full output fails now, not after every model was evaluated
        from seaembed.atomic import check_writable

        check_writable(Path(out_dir) / "results.json")
    if half is not None:
        from seaembed.evaluate.halves import half as task_half

        tasks = [task_half(t, half, seed=split_seed) for t in tasks]  # type: ignore[arg-type]
    task_names = [t.name for t in tasks]
    dupes = sorted({n for n in task_names if task_names.count(n) > 1})
    if dupes:
        from seaembed.errors import InputError

        where = [str(t.path) for t in tasks if t.name in dupes]
        raise InputError(where[1] + "/task.json", f"task name {dupes[0]!r} is used twice ({', '.join(where)})",
                         field="name")

    display_names = dict(names or {})

    def display(source: Any) -> str:
        return display_names.get(_model_name(source), _model_name(source))

    def encoder_runner(source: Any):
        enc = load_encoder(source, batch_size=batch_size, show_progress=show_progress, cache=cache,
                           name=display(source))
        return lambda task: run_with_encoder(task, enc)

    results = _system_results(display(model), tasks, encoder_runner(model), show_progress)
    results["baselines"] = {}
    for base in baselines:
        name = display(base)
        runner = run_with_bm25 if _model_name(base) == "bm25" else encoder_runner(base)
        results["baselines"][name] = _system_results(name, tasks, runner, show_progress)
    results["task_dirs"] = {t.name: str(t.path) for t in tasks}
    if half is not None:
        results["halves"] = {"half": half, "seed": split_seed, "note": HALF_NOTES.get(half, "")}
    results["created"] = datetime.now(UTC).isoformat(timespec="seconds")
    results["environment"] = {"python": platform.python_version(), "machine": platform.machine()}
    if out_dir is not None:
        write_results(results, out_dir)
    return results


def write_results(results: dict[str, Any], out_dir: str | Path) -> dict[str, Path]:
    """Write `results.json`, `results.md` and `report.html` into `out_dir` as one set: all three or none (all are
    rendered and written to temporary files first, then renamed into place; see `seaembed.atomic.write_text_set`)."""
    import json

    from seaembed.atomic import write_text_set
    from seaembed.evaluate.report import render_html, render_markdown

    texts = {"results.json": json.dumps(results, ensure_ascii=False, indent=2) + "\n",
             "results.md": render_markdown(results), "report.html": render_html(results)}
    written = write_text_set(out_dir, texts)
    return {"json": written["results.json"], "markdown": written["results.md"], "html": written["report.html"]}
