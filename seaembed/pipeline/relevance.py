"""The relevance stages of `seaembed run` (#17, config section `relevance:`): `relevance-train` trains the QC / QI
cross-encoder after `train`; `relevance-eval`, once the final model exists, scores it on the relevance task's report
half (each group's threshold chosen on the select half) beside the bi-encoder cosine of the final model (and of the
base) and the all-positive floor, and writes `relevance/results.json` and `relevance/results.md` (the run then adds
the table to the eval report, `add_to_eval_report`); `relevance-export`, when the run exports onnx-int8, writes the
cross-encoder's int8 export with its parity to `export/reranker-onnx-int8`.

Each `*_stage` returns the stage's function, settings and inputs for `StageRunner.run`, so they resume by content
like the other stages: new pairs or settings retrain the cross-encoder, a new final model re-scores without
retraining, and an unchanged cross-encoder is not exported again.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from seaembed.errors import ConfigError
from seaembed.pipeline.config import RelevanceSettings
from seaembed.runner import StageResult

Stage = tuple[Callable[[], StageResult], dict[str, Any], dict[str, Any]]


def _data_relevance(data: dict[str, Any], base: Path):
    """The data section as a `DataConfig`, for its `sources.relevance` (None when it has none)."""
    from seaembed.augment.config import DataConfig
    from seaembed.config import validate

    raw = {k: v for k, v in data.items() if k != "exclude_sources"}
    data_cfg = validate(DataConfig, raw, source="config [data]")
    return data_cfg if data_cfg.sources.relevance else None


def train_stage(rel: RelevanceSettings, data: dict[str, Any], base: Path, base_model: str, out: Path,
                log: Callable[[str], None]) -> Stage:
    """The `relevance-train` stage: pairs from `rel.files` (or the data section's `sources.relevance`), a
    cross-encoder on `base_model` trained on them, saved to `out/relevance/cross-encoder`."""
    from seaembed.augment.config import resolve_path

    inputs: dict[str, Any] = {"base": base_model}
    entries: list[tuple[str, str | None]] = []  # (path, kind of a CSV; None for JSONL)
    if rel.files is not None:
        if not rel.files:
            raise ConfigError("config [relevance] files: empty; list relevance files, or leave it out to use the "
                              "data section's sources.relevance")
        entries = [(f, None) if isinstance(f, str) else (f.path, f.kind) for f in rel.files]
        for i, (path, _) in enumerate(entries):
            p = resolve_path(path, base)
            if not p.is_file():
                raise ConfigError(f"config [relevance] files[{i}]: no such file ({p})")
            inputs[f"file{i}"] = str(p)
        source = {"files": [{"path": str(resolve_path(p, base)), "kind": k} for p, k in entries]}
        data_cfg = None
    else:
        data_cfg = _data_relevance(data, base)
        if data_cfg is None:
            raise ConfigError("config [relevance] is enabled but has no files and the data section has no "
                              "sources.relevance: give relevance.files (relevance JSONL or CIKM CSVs with their kind)")
        srcs = data_cfg.sources.model_dump(mode="json")
        for kind in ("relevance", "catalogs"):  # catalogs turn item ids into titles
            for i, src in enumerate(srcs[kind]):
                inputs[f"{kind}{i}"] = str(resolve_path(src["path"], base))
        source = {"data_sources": {k: srcs[k] for k in ("relevance", "catalogs")}, "errors": data_cfg.errors}
    settings = {**rel.model_dump(mode="json", exclude={"files", "eval_task", "enabled"}), **source}

    def fn() -> StageResult:
        from seaembed.atomic import atomic_dir
        from seaembed.train.cross_encoder import CrossEncoderConfig, class_balance, train_cross_encoder
        from seaembed.train.cross_encoder_data import (
            pairs_from_data_config,
            read_cikm_csv,
            read_relevance_jsonl,
        )

        dropped: dict[str, int] = {}
        if data_cfg is not None:
            pairs, dropped = pairs_from_data_config(data_cfg, base)
        else:
            pairs = []
            for i, (_, kind) in enumerate(entries):
                path = inputs[f"file{i}"]
                pairs += read_relevance_jsonl(path) if kind is None else read_cikm_csv(path, kind)
        if not pairs:
            raise ConfigError("config [relevance]: the relevance files hold no pairs")
        balance = class_balance(pairs)
        log(f"[relevance-train] {len(pairs)} pairs; per kind: {balance}"
            + (f"; rows dropped: {dropped}" if dropped else ""))
        target = out / "relevance" / "cross-encoder"
        with atomic_dir(target) as tmp:
            train_cross_encoder(pairs, CrossEncoderConfig(
                base_model=base_model, max_length=rel.max_length, batch_size=rel.batch_size,
                max_steps=rel.max_steps, learning_rate=rel.learning_rate, seed=rel.seed,
                freeze_embeddings=rel.freeze_embeddings, lora=rel.lora), tmp)
        return StageResult({"relevance_model": str(target)},
                           {"pairs": len(pairs), "class_balance": balance, "dropped": dropped})

    return fn, settings, inputs


def eval_stage(task_dir: str, cross_encoder: str, bi_encoders: dict[str, str], out: Path, *, seed: int,
               batch_size: int = 32) -> Stage:
    """The `relevance-eval` stage: the table of the cross-encoder and the bi-encoder cosine of each of
    `bi_encoders` (name -> model dir) on `task_dir`'s halves, written to `out/relevance/results.{json,md}`."""

    def fn() -> StageResult:
        import json

        from seaembed.atomic import write_results
        from seaembed.evaluate.encoders import load_encoder
        from seaembed.evaluate.relevance import (
            cosine_scorer,
            format_per_lang,
            format_table,
            score_systems,
        )
        from seaembed.evaluate.tasks import load_task
        from seaembed.train.cross_encoder import load_cross_encoder, score_pairs

        task = load_task(task_dir)
        select, report = relevance_halves(task_dir, seed=seed)
        model = load_cross_encoder(cross_encoder)
        scorers = {"cross-encoder": lambda pairs: score_pairs(model, pairs)}
        for name, path in bi_encoders.items():  # through the eval stage's embedding cache
            scorers[f"bi-encoder cosine ({name})"] = cosine_scorer(load_encoder(path, batch_size=batch_size),
                                                                   task.query_prompt, task.passage_prompt)
        systems = json.loads(json.dumps(score_systems(select, report, scorers), default=float))  # numpy -> float
        table = format_table(systems)
        results = {"task": task.name, "task_dir": str(task_dir), "split_seed": seed,
                   "rows": {"select": len(select), "report": len(report)}, "cross_encoder": cross_encoder,
                   "bi_encoders": bi_encoders, "systems": systems, "table": table}
        markdown = "\n".join([
            f"# Relevance: cross-encoder vs bi-encoder cosine ({task.name})\n",
            f"Positive-class F1 and AP (%) on the report half of {task.name}'s test rows ({len(report)} pairs); each "
            f"group's threshold chosen on the select half ({len(select)} pairs), split seed {seed}. QC: "
            "query-category, QI: query-item, TC: title-category; mean F1 = (QC + QI) / 2.\n",
            table, "\n## Mean of QC and QI F1 per language (report half)\n", format_per_lang(systems), ""])
        md = write_results(out / "relevance" / "results", results, markdown)
        return StageResult({"relevance_results": str(md.with_suffix(".json")), "relevance_report": str(md)},
                           {"mean_f1": {name: m.get("mean_f1") for name, m in systems.items()}})

    settings = {"task": task_dir, "split_seed": seed, "bi_encoders": sorted(bi_encoders), "half": "report"}
    inputs = {"cross_encoder": cross_encoder, "task": task_dir, **{f"bi-{k}": v for k, v in bi_encoders.items()}}
    return fn, settings, inputs


def add_to_eval_report(eval_results: str | Path, relevance: dict[str, Any]) -> bool:
    """Put the relevance table (`run.json`'s `relevance`) into the eval stage's results.json, results.md and
    report.html (rewritten as one set), unless it is there already; True when they were rewritten. Called after
    every run, so a rerun eval stage (which writes them without it) gets it back."""
    import json

    from seaembed.evaluate.run import write_results

    path = Path(eval_results)
    results = json.loads(path.read_text(encoding="utf-8"))
    if json.dumps(results.get("relevance"), sort_keys=True) == json.dumps(relevance, sort_keys=True):
        return False
    write_results({**results, "relevance": relevance}, path.parent)
    return True


def export_stage(cross_encoder: str, out: Path, fmt: str = "onnx-int8") -> Stage:
    """The `relevance-export` stage: the cross-encoder's ONNX export (`export.cross_encoder`, int8 per-channel by
    default) with its parity against the torch model, written to `out/export/reranker-FMT`."""
    from seaembed.export.cross_encoder import DEFAULT_INT8_VARIANT

    int8 = fmt == "onnx-int8"
    variant = DEFAULT_INT8_VARIANT if int8 else None

    def fn() -> StageResult:
        import json

        from seaembed.export.cross_encoder import PARITY_FILE, export_cross_encoder

        target = export_cross_encoder(cross_encoder, out / "export" / f"reranker-{fmt}", int8=int8,
                                      int8_variant=variant or DEFAULT_INT8_VARIANT)
        parity = json.loads((target / PARITY_FILE).read_text(encoding="utf-8"))
        keep = ("pairs", "max_abs_diff", "mean_abs_diff", "pearson", "spearman", "queries", "order_kept")
        return StageResult({"relevance_export": str(target)}, {"parity": {k: parity[k] for k in keep}})

    return fn, {"format": fmt, "int8_variant": variant}, {"cross_encoder": cross_encoder}


def relevance_halves(task_dir: str | Path, *, seed: int = 0) -> tuple[list[Any], list[Any]]:
    """The (select, report) halves (`evaluate.halves.split_task`) of a relevance task's test rows, as
    `train.cross_encoder.RelevancePair`s that keep each row's `kind` (QC / QI / TC), which the task's pairs drop."""
    from seaembed.errors import InputError
    from seaembed.evaluate.halves import split_task
    from seaembed.evaluate.tasks import load_task
    from seaembed.train.cross_encoder_data import read_relevance_jsonl

    task = load_task(task_dir)
    if task.type != "pair-classification":
        raise InputError(task_dir, f"a relevance task is a pair-classification task, this one is {task.type!r}")
    rows = read_relevance_jsonl(Path(task_dir) / "test.jsonl")
    if [(r.query, r.target) for r in rows] != [(p.text1, p.text2) for p in task.test]:
        raise InputError(Path(task_dir) / "test.jsonl", "rows differ from the task's test pairs")
    position = {id(p): i for i, p in enumerate(task.test)}
    sel, rep = split_task(task, seed=seed)
    return [rows[position[id(p)]] for p in sel.test], [rows[position[id(p)]] for p in rep.test]
