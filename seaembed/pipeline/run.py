"""`run_pipeline`: data build -> train -> merge (weight search) -> eval -> export -> index, resumable by stage; with
`relevance.enabled`, the relevance cross-encoder is trained after `train`, scored after `eval` and, when the run
exports onnx-int8, exported to int8 after the exports (seaembed/pipeline/relevance.py).

Each stage is a plain call into its module; the `StageRunner` skips a stage whose settings and inputs are
unchanged since it last finished, so an interrupted run picks up where it stopped. `DIR/run.json` (the manifest)
names every artifact and is rewritten after each stage.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from seaembed.atomic import write_json
from seaembed.config import validate
from seaembed.engine.export_meta import parity_problem
from seaembed.errors import ConfigError
from seaembed.export.cross_encoder import parity_problem as reranker_parity_problem
from seaembed.pipeline.config import RunConfig
from seaembed.runner import StageResult, StageRunner


def resolve_source(path: str, base: Path) -> str:
    """`sample:NAME` -> the bundled file; a relative path -> against the config dir; a model id stays as it is."""
    from seaembed.samples import samples_dir

    if path.startswith("sample:"):
        return str(samples_dir() / path.split(":", 1)[1])
    p = Path(path).expanduser()
    if not p.is_absolute() and (base / p).exists():
        return str((base / p).resolve())
    return path


def resolve_tasks(entries: list[str], base: Path) -> list[str]:
    """Task dirs from config entries: `domain`/`general` (bundled groups), `sample:tasks/X`, or paths."""
    from seaembed.samples import GROUPS, task_dirs

    out: list[str] = []
    for entry in entries:
        if entry in GROUPS:
            out.extend(str(p) for p in task_dirs(entry))
        else:
            path = Path(resolve_source(entry, base))
            if not path.exists():
                raise ConfigError(f"eval task '{entry}': no such directory ({path})")
            out.append(str(path))
    return out


def _data_stage(cfg: RunConfig, base: Path, out: Path, log) -> tuple[Any, dict[str, Any], dict[str, Any], dict]:
    """The data stage's function, settings and inputs, and `info`: the training sources (`source` keys of the
    inputs' rows) and, with `data.exclude_sources`, what leave-one-source-out dropped (seaembed.pipeline.loso)."""
    from seaembed.augment.config import DataConfig, resolve_path
    from seaembed.pipeline.loso import filter_sources, training_sources

    data_raw = dict(cfg.data)
    exclude = data_raw.pop("exclude_sources", None) or []
    if not isinstance(exclude, list) or not all(isinstance(x, str) for x in exclude):
        raise ConfigError("config [data] exclude_sources: expected a list of source keys, e.g. [prdect-id]")
    data_raw.setdefault("guide_model", cfg.base_model)
    data_cfg = validate(DataConfig, data_raw, source="config [data]")
    inputs = {}
    for kind, sources in data_cfg.sources.model_dump().items():
        for i, src in enumerate(sources):
            inputs[f"{kind}{i}"] = resolve_path(src["path"], base)
    info: dict[str, Any] = {}
    if exclude:
        filtered, info["loso"] = filter_sources(data_cfg.sources.model_dump(mode="json"), exclude, base=base,
                                                work_dir=out / "data" / "sources")
        data_cfg = validate(DataConfig, {**data_raw, "sources": filtered}, source="config [data]")
        log(f"leave-one-source-out: training without {', '.join(exclude)} "
            f"(dropped rows: {info['loso']['dropped'] or 'none'})")
    info["training_sources"] = sorted(training_sources(data_cfg.sources.model_dump(mode="json"), base))

    def fn() -> StageResult:
        from seaembed.augment.build import build_dataset

        res = build_dataset(data_cfg, base_dir=base, out=out / "data" / "train.jsonl",
                            report_dir=out / "data" / "report", work_dir=out / "data" / "work", log=log)
        return StageResult({"train_data": str(res.out), "data_report": str(res.report_dir / "report.md")},
                           {"examples": res.examples})

    settings = {**data_cfg.model_dump(mode="json"), "exclude_sources": sorted(exclude)}
    return fn, settings, inputs, info


def guard_overlap(task_dirs: list[str], training: set[str] | list[str]) -> list[dict[str, Any]]:
    """General (guard) tasks whose task.json `source` list shares a source with the training rows."""
    import json

    out = []
    for d in task_dirs:
        meta_path = Path(d) / "task.json"
        if not meta_path.is_file():
            continue
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        shared = sorted(set(meta.get("source") or []) & set(training))
        if shared:
            out.append({"task": meta.get("name") or Path(d).name, "path": str(d), "shared_sources": shared})
    return out


def _task_name(task_dir: str | Path) -> str:
    import json

    meta_path = Path(task_dir) / "task.json"
    try:
        return str(json.loads(meta_path.read_text(encoding="utf-8")).get("name") or Path(task_dir).name)
    except (OSError, ValueError):
        return Path(task_dir).name


def select_halves(task_dirs: list[str], seed: int) -> list[Any]:
    """The select half of each task (loaded), for a choice made on them."""
    from seaembed.evaluate.halves import half
    from seaembed.evaluate.tasks import load_task

    return [half(load_task(d), "select", seed=seed) for d in task_dirs]


def serve_command(cfg: RunConfig, manifest: dict[str, Any]) -> str:
    """The `seaembed serve` command for the run's result, following the config's `serve` section."""
    s = cfg.serve
    fmt = s.use_export or ("onnx-int8" if s.backend in ("auto", "onnx") else None)  # the int8 export by default
    model = manifest.get(f"export_{fmt.replace('-', '_')}") if fmt else None
    if model and not s.use_export and parity_problem(model):  # the default follows the export only when it is faithful
        model = None
    parts = ["seaembed serve", "--model", str(model or manifest["final_model"])]
    if manifest.get("index"):
        parts += ["--index", manifest["index"]]
    if manifest.get("relevance_model"):  # the int8 export when it is faithful, as for the embedding model
        reranker = manifest.get("relevance_export")
        if not reranker or reranker_parity_problem(reranker):
            reranker = manifest["relevance_model"]
        parts += ["--reranker", reranker]
    if s.backend != "auto":
        parts += ["--backend", s.backend]
    if s.quantization:
        parts += ["--quantization", s.quantization]
    if s.port != 8080:
        parts += ["--port", str(s.port)]
    return " ".join(parts)


def run_pipeline(cfg: RunConfig, base: Path, out: str | Path, *, log=print) -> dict[str, Any]:
    """Run every stage under `out`; returns the manifest (also written to `out/run.json`)."""
    from seaembed.models import resolve_model_dir

    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    runner = StageRunner(out, log=log)
    manifest: dict[str, Any] = {"config_dir": str(base), "base_model": cfg.base_model, "started_at":
                                time.strftime("%Y-%m-%dT%H:%M:%S"), "stages": {}}
    from seaembed.threads import describe

    manifest["threads"] = describe()  # CPUs, intra-op threads and OpenMP wait policy this run used
    base_model = resolve_source(cfg.base_model, base)
    base_dir = str(resolve_model_dir(base_model))  # builds the packaged model once, so every stage reuses it
    domain = resolve_tasks(cfg.eval.domain_tasks, base)
    general = resolve_tasks(cfg.eval.general_tasks, base)
    tune_on = resolve_tasks(cfg.index.tune_on, base) if cfg.index.enabled else []
    if tune_on:  # a non-retrieval task fails now, not after training
        from seaembed.search.tune_fusion import load_retrieval_tasks

        load_retrieval_tasks(tune_on)
    rel = cfg.relevance
    if rel.enabled:  # a bad relevance section fails now, not after training
        from seaembed.pipeline import relevance as relevance_stages

        rel_task = resolve_source(rel.eval_task, base)
        if not (Path(rel_task) / "test.jsonl").is_file():
            raise ConfigError(f"config [relevance] eval_task '{rel.eval_task}': no test.jsonl in {rel_task}")
        rel_base = str(resolve_model_dir(resolve_source(rel.base_model, base))) if rel.base_model else base_dir
        rel_train = relevance_stages.train_stage(rel, cfg.data, base, rel_base, out, log)

    def record(name: str, result: StageResult) -> None:
        manifest["stages"][name] = {"skipped": result.skipped, **result.summary}
        manifest.update(result.outputs)
        write_json(out / "run.json", manifest)

    # 1. data
    fn, settings, inputs, data_info = _data_stage(cfg, base, out, log)
    manifest["training_sources"] = data_info["training_sources"]
    if data_info.get("loso"):
        from seaembed.pipeline.loso import unseen_tasks

        manifest["loso"] = {**data_info["loso"], "unseen_tasks": unseen_tasks(data_info["loso"]["exclude_sources"])}
    seed = cfg.eval.split_seed
    manifest["halves"] = {"seed": seed, "select": "every choice (merge t, fusion weight) reads only select halves",
                          "report": "the eval stage, the summary and the HTML report quote only report halves"}
    manifest["choices"] = []
    guard = resolve_tasks(cfg.merge.general_tasks, base) if cfg.merge.general_tasks else general
    overlap = guard_overlap(guard, data_info["training_sources"])
    if overlap:
        what = "; ".join(f"{o['task']} ({', '.join(o['shared_sources'])})" for o in overlap)
        line = (f"general guard task shares a source with the training data, so it cannot see forgetting: {what} "
                "(use general tasks from untouched sources, e.g. the bundled `general` group)")
        manifest["guard_overlap"] = overlap
        if cfg.merge.enabled and cfg.merge.guard_overlap == "error":
            raise ConfigError(line)
        log(f"warning: {line}")
    record("data", runner.run("data", fn, settings=settings, inputs=inputs))
    train_data = manifest["train_data"]

    # 2. train
    from seaembed.train.config import TrainConfig

    train_raw = {**cfg.train, "model": base_dir, "train_files": [train_data], "output_dir": str(out / "train")}
    train_cfg = validate(TrainConfig, train_raw, source="config [train]")

    def train_fn() -> StageResult:
        from seaembed.train.checkpoints import resume_mismatch
        from seaembed.train.trainer import train

        cfg_now = train_cfg
        changed = resume_mismatch(cfg_now)
        if changed:  # the stage's key changed, so its checkpoints belong to another run: start over, and say why
            log(f"[train] starting over (the checkpoints were written with other data or settings: "
                f"{'; '.join(changed)})")
            cfg_now = cfg_now.model_copy(update={"resume": False})
        return StageResult({"tuned_model": str(train(cfg_now))})

    record("train", runner.run("train", train_fn, settings=train_cfg.model_dump(mode="json"),
                               inputs={"data": train_data, "base": base_dir}))
    tuned = manifest["tuned_model"]
    if rel.enabled:  # 2b. the relevance cross-encoder, its own stage
        fn, settings, inputs = rel_train
        record("relevance-train", runner.run("relevance-train", fn, settings=settings, inputs=inputs))

    # 3. merge
    final = tuned
    if cfg.merge.enabled:
        m = cfg.merge
        m_domain = resolve_tasks(m.domain_tasks, base) if m.domain_tasks else domain
        m_general = resolve_tasks(m.general_tasks, base) if m.general_tasks else general

        def merge_fn() -> StageResult:
            target = out / "merged"
            if m.t == "auto":
                from seaembed.merge.search import search_merge_weight

                report = search_merge_weight(base_dir, [tuned], out=target, method=m.method, domain_tasks=m_domain,
                                             general_tasks=m_general, grid=m.grid, epsilon=m.epsilon,
                                             half="select", split_seed=seed)
                return StageResult({"merged_model": str(target), "merge_report": str(target / "merge_report.md")},
                                   {"t": report.get("chosen_t", report.get("t"))})
            from seaembed.merge.merge_models import merge_models

            merge_models(base_dir, [tuned], method=m.method, t=m.t, out=target)
            return StageResult({"merged_model": str(target)}, {"t": m.t})

        record("merge", runner.run("merge", merge_fn, settings={**m.model_dump(mode="json"), "domain": m_domain,
                                                                 "general": m_general, "half": "select",
                                                                 "split_seed": seed},
                                   inputs={"base": base_dir, "tuned": tuned}))
        final = manifest["merged_model"]
        if m.t == "auto":
            manifest["choices"].append({"choice": "merge_t", "half": "select", "seed": seed,
                                        "select_tasks": [f"{_task_name(d)}:select" for d in m_domain + m_general],
                                        "chosen": manifest["stages"]["merge"].get("t")})
    manifest["final_model"] = final

    # 4. eval
    def eval_fn() -> StageResult:
        from seaembed.evaluate.run import evaluate

        baselines: list[str] = list(cfg.eval.baselines)
        names = {final: "final"}
        if cfg.eval.compare_base:
            baselines.append(base_dir)
            names[base_dir] = "base"
        if cfg.eval.compare_tuned and final != tuned:
            baselines.append(tuned)
            names[tuned] = "tuned"
        evaluate(final, domain + general, baselines=baselines, out_dir=out / "eval", batch_size=cfg.eval.batch_size,
                 names=names, half="report", split_seed=seed)
        return StageResult({"eval_report": str(out / "eval" / "report.html"),
                            "eval_results": str(out / "eval" / "results.json")})

    record("eval", runner.run("eval", eval_fn, settings={**cfg.eval.model_dump(mode="json"), "tasks": domain + general,
                                                         "half": "report"},
                              inputs={"model": final, **{f"task{i}": t for i, t in enumerate(domain + general)}}))
    manifest["reported"] = {f"{_task_name(d)}:report": {"task": _task_name(d), "half": "report", "seed": seed,
                                                        "path": d} for d in domain + general}
    if rel.enabled:  # 4b. the cross-encoder beside the bi-encoder cosine, on the relevance task's report half
        import json

        bi = {"final": final, **({"base": base_dir} if cfg.eval.compare_base else {})}
        fn, settings, inputs = relevance_stages.eval_stage(rel_task, manifest["relevance_model"], bi, out, seed=seed,
                                                           batch_size=cfg.eval.batch_size)
        record("relevance-eval", runner.run("relevance-eval", fn, settings=settings, inputs=inputs))
        results = json.loads(Path(manifest["relevance_results"]).read_text(encoding="utf-8"))
        manifest["relevance"] = {k: results[k] for k in ("task", "split_seed", "rows", "systems", "table")}
        relevance_stages.add_to_eval_report(manifest["eval_results"], manifest["relevance"])  # the HTML report's table
        write_json(out / "run.json", manifest)

    # 5. export
    for fmt in cfg.export.formats:
        def export_fn(fmt: str = fmt) -> StageResult:
            from seaembed.export.export import export

            target = out / "export" / fmt
            export(final, fmt, target)
            return StageResult({f"export_{fmt.replace('-', '_')}": str(target)})

        record(f"export-{fmt}", runner.run(f"export-{fmt}", export_fn, settings={"format": fmt},
                                           inputs={"model": final}))
        problem = parity_problem(manifest[f"export_{fmt.replace('-', '_')}"])
        if problem:
            manifest["stages"][f"export-{fmt}"]["parity_problem"] = problem
            log(f"[export-{fmt}] not a drop-in for the final model: {problem}; the serve command uses the torch model")
            write_json(out / "run.json", manifest)
    if rel.enabled and "onnx-int8" in cfg.export.formats:  # 5b. the cross-encoder's int8 export
        fn, settings, inputs = relevance_stages.export_stage(manifest["relevance_model"], out)
        record("relevance-export", runner.run("relevance-export", fn, settings=settings, inputs=inputs))
        problem = reranker_parity_problem(manifest["relevance_export"])
        if problem:
            manifest["stages"]["relevance-export"]["parity_problem"] = problem
            log(f"[relevance-export] not a drop-in for the cross-encoder: {problem}; the serve command's --reranker "
                "is the torch model")
            write_json(out / "run.json", manifest)

    # 6. index
    if cfg.index.enabled:
        catalog = resolve_source(cfg.index.catalog, base)

        def index_fn() -> StageResult:
            import json

            from seaembed.search.index import build_index

            target = out / "index"
            # the tuning tasks go through the evaluation stage's embedding cache (tune_with=final)
            # the fusion weight is a choice: it is tuned on the select halves only
            build_index(final, catalog, target, text_fields=cfg.index.text_fields, kind=cfg.index.kind,
                        tune_on=select_halves(tune_on, seed), tune_with=final if tune_on else None)
            info = json.loads((target / "index.json").read_text(encoding="utf-8"))
            summary = {"fusion": info["fusion"], "alpha": info["alpha"]}
            if tune_on:  # the chosen weight against dense and BM25 alone, measured where it was not chosen
                from seaembed.evaluate.halves import half
                from seaembed.evaluate.tasks import load_task
                from seaembed.search.tune_fusion import tune_fusion

                check = tune_fusion(final, [half(load_task(d), "report", seed=seed) for d in tune_on],
                                    fusion=info["fusion"], grid=[float(info["alpha"])])
                summary["report_half"] = {"hybrid": check.mean_ndcg, "dense": check.mean_dense,
                                          "bm25": check.mean_bm25, "n_queries": check.n_queries,
                                          "tasks": [t.name for t in check.tasks]}
            return StageResult({"index": str(target)}, summary)

        record("index", runner.run("index", index_fn, settings={**cfg.index.model_dump(mode="json"),
                                                                 "tune_on": tune_on, "half": "select",
                                                                 "split_seed": seed},
                                   inputs={"model": final, "catalog": catalog,
                                           **{f"tune{i}": t for i, t in enumerate(tune_on)}}))

    if cfg.index.enabled and tune_on:
        manifest["choices"].append({"choice": "fusion_alpha", "half": "select", "seed": seed,
                                    "select_tasks": [f"{_task_name(d)}:select" for d in tune_on],
                                    "chosen": manifest["stages"]["index"].get("alpha")})
        write_json(out / "run.json", manifest)
    if cfg.index.enabled and cfg.index.showcase_queries:
        from seaembed.pipeline.summary import showcase

        manifest["showcase"] = showcase(final, manifest["index"], cfg.index.showcase_queries)
    manifest["serve_command"] = serve_command(cfg, manifest)
    manifest["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    write_json(out / "run.json", manifest)
    return manifest
