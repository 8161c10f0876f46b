"""`seaembed data build`: sources -> structured pairs -> translation -> synthetic queries -> filters ->
self-validation -> hard negatives -> training JSONL + data report.

Every stage writes its output under `work_dir` and is skipped on a rerun when its settings and inputs are unchanged
(`seaembed.runner.StageRunner`), so an interrupted build resumes where it stopped and editing one section
of the config re-runs only that stage and those after it. The final JSONL is written atomically.
"""

from __future__ import annotations

import itertools
import json
import shutil
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seaembed.atomic import atomic_path, check_writable, write_json, write_jsonl
from seaembed.augment.config import DataConfig, resolve_path
from seaembed.augment.records import DropLog, SourceData
from seaembed.data.schema import TrainingExample, read_examples
from seaembed.errors import SeaembedError
from seaembed.runner import StageResult, StageRunner

STAGES = ("read", "pairs", "translate", "synthetic", "filter", "self-validation", "hard-negatives")


class DataBuildError(SeaembedError):
    """A build that must not pass: zero examples, or more malformed rows than `max_error_rate` allows."""


@dataclass
class BuildResult:
    out: Path
    report_dir: Path
    examples: int
    report: dict[str, Any]


def _source_paths(cfg: DataConfig, base: Path | None) -> dict[str, Path]:
    paths = {}
    for kind, items in cfg.sources:
        for i, src in enumerate(items):
            paths[f"{kind}[{i}]"] = resolve_path(src.path, base)
    return paths


def _guide_weights(cfg: DataConfig, base: Path | None) -> str | None:
    """The fingerprint of a local guide model's weights, so stages that used it re-run when other weights are put
    at the same path (a packaged or hub source is keyed by its name)."""
    src = cfg.guide_model
    if src.startswith("packaged:"):
        return None
    path = base / src if base is not None and (base / src).is_dir() else Path(src)
    if not path.is_dir():
        return None
    from seaembed.models.fingerprint import fingerprint_dir

    return fingerprint_dir(path)


def _load_drops(path: str | Path) -> DropLog:
    return DropLog.from_json(json.loads(Path(path).read_text(encoding="utf-8")))


def _examples(path: str | Path) -> list[TrainingExample]:
    return list(read_examples(path))


class _Guide:
    """The guide model, loaded on first use only (skipped stages never load it)."""

    def __init__(self, cfg: DataConfig, base: Path | None):
        self.source = cfg.guide_model
        self.dtype = cfg.guide_dtype
        self.max_seq_length = cfg.guide_max_seq_length
        self.base = base
        self._model = None

    def get(self) -> Any:
        if self._model is None:
            from seaembed.augment.guide import load_guide

            src = self.source
            if not src.startswith("packaged:") and self.base is not None and (self.base / src).exists():
                src = str(self.base / src)
            self._model = load_guide(src, dtype=self.dtype, max_seq_length=self.max_seq_length)
        return self._model


def build_dataset(cfg: DataConfig, *, base_dir: str | Path | None = None, out: str | Path | None = None,
                  report_dir: str | Path | None = None, work_dir: str | Path | None = None,
                  show_progress: bool = True, log: Callable[[str], None] | None = None) -> BuildResult:
    """Run every stage of the build; returns where the training set and the report are."""
    base = Path(base_dir) if base_dir is not None else None
    out = Path(out or cfg.out)
    work = Path(work_dir or cfg.work_dir)
    report_dir = Path(report_dir or cfg.report_dir or out.parent / "data_report")
    log = log or (lambda m: print(m, file=sys.stderr, flush=True))
    check_writable(out)  # before any stage runs (and the guide model loads)
    check_writable(report_dir / "report.json")
    runner = StageRunner(work, log=log)
    guide = _Guide(cfg, base)
    guide_settings = [cfg.guide_model, cfg.guide_dtype, cfg.guide_max_seq_length, _guide_weights(cfg, base)]
    bs = cfg.batch_size
    p = {name: work / f"{name}.jsonl" for name in STAGES}
    d = {name: work / f"{name}.drops.json" for name in STAGES}

    def done(name: str, rows: Iterable[TrainingExample] | None, drops: DropLog, **summary: Any) -> StageResult:
        """Write a stage's rows (a list or a generator: streamed to the file either way) and then its drops (a
        generator adds to them as it is consumed)."""
        if rows is not None:
            summary.setdefault("examples", write_jsonl(p[name], rows))
        write_json(d[name], drops.to_json())
        return StageResult({"rows": str(p[name]), "drops": str(d[name])}, summary)

    # 1. read
    def read() -> StageResult:
        from seaembed.augment.sources import read_sources

        drops = DropLog()
        data = read_sources(cfg, base, drops)
        write_jsonl(p["read"], data.iter_rows())
        return done("read", None, drops, rows_read=data.rows_read, malformed=len(drops))

    runner.run("read", read, settings={"sources": cfg.sources.model_dump(), "langid": cfg.langid.model_dump(),
                                       "errors": cfg.errors, "format": SourceData.ROWS_FORMAT},
               inputs={k: str(v) for k, v in _source_paths(cfg, base).items()})

    def source_data(*kinds: str) -> SourceData:
        """The rows the read stage wrote (only those of `kinds`, when given)."""
        return SourceData.load(p["read"], kinds or None)

    if cfg.max_error_rate is not None:  # checked before the (long) later stages
        from seaembed.augment.report import malformed_rate

        rows_read = SourceData.load(p["read"], ()).rows_read
        rate, bad, total = malformed_rate(_load_drops(d["read"]), rows_read)
        if rate > cfg.max_error_rate:
            raise DataBuildError(f"{bad:,} of {total:,} source rows are malformed ({100 * rate:.1f}%), above "
                                 f"max_error_rate {100 * cfg.max_error_rate:g}%; the first ones are listed in "
                                 f"{d['read']}")

    # 2. structured pairs
    def pairs() -> StageResult:
        from seaembed.augment.pairs import iter_pairs

        drops = DropLog()
        data = source_data()
        rows: Iterable[TrainingExample] = iter_pairs(data, cfg.pairs, drops)  # written one rule's rows at a time
        if cfg.same_class.enabled:
            from seaembed.augment.same_class_pairs import same_class_pairs

            sc = cfg.same_class
            rows = itertools.chain(rows, same_class_pairs(data.products, data.reviews, kinds=sc.kinds,
                                                          per_class=sc.per_class, level=sc.category_level,
                                                          seed=cfg.seed))
        return done("pairs", rows, drops)

    runner.run("pairs", pairs, settings={**cfg.pairs.model_dump(), **({"same_class": cfg.same_class.model_dump()}
                                                                      if cfg.same_class.enabled else {})},
               inputs={"read": p["read"]})

    # 3. translation augmentation
    translate_unavailable = None
    if cfg.translate.enabled and cfg.translate.backend is not None:
        from seaembed.augment.translate import backend_unavailable

        translate_unavailable = backend_unavailable(cfg.translate.backend)

    def translate() -> StageResult:
        drops = DropLog()
        rows: list[TrainingExample] = []
        if cfg.translate.enabled:
            from seaembed.augment.translate import make_translator
            from seaembed.augment.translate.augment import translate_examples
            from seaembed.errors import ConfigError

            if cfg.translate.backend is None:
                raise ConfigError("translate.backend: required when translate.enabled is true")
            if translate_unavailable is not None:
                if cfg.translate.if_unavailable == "error":
                    raise ConfigError(f"translate.backend: {translate_unavailable}; or set "
                                      "translate.if_unavailable: skip")
                log(f"translate: SKIPPED, {translate_unavailable}; the build goes on without translated rows")
                return done("translate", rows, drops, not_run=translate_unavailable)
            translator = make_translator(cfg.translate.backend, work / "cache")
            rows = translate_examples(_examples(p["pairs"]), cfg.translate, translator, drops, seed=cfg.seed)
            return done("translate", rows, drops, backend_calls=translator.misses, cache_hits=translator.hits)
        return done("translate", rows, drops)

    # whether the backend can run is a setting: installing apertium later re-runs the stage
    runner.run("translate", translate, settings={**cfg.translate.model_dump(), "unavailable": translate_unavailable},
               inputs={"pairs": p["pairs"]})

    # 4. synthetic queries
    def synthetic() -> StageResult:
        from seaembed.augment.synthetic import generate_synthetic, iter_template_examples, streams

        drops = DropLog()
        if streams(cfg.synthetic):  # templates only: product by product from the read stage's file
            products = SourceData.iter_kind(p["read"], "products")
            return done("synthetic", iter_template_examples(products, cfg.synthetic, seed=cfg.seed,
                                                            show_progress=show_progress), drops)
        model = guide.get() if cfg.synthetic.consistency.enabled else None
        rows = generate_synthetic(source_data("products").products, cfg.synthetic, drops, seed=cfg.seed, guide=model,
                                  cache_dir=work / "cache", batch_size=bs, show_progress=show_progress)
        return done("synthetic", rows, drops)

    runner.run("synthetic", synthetic, settings={"synthetic": cfg.synthetic.model_dump(), "guide": guide_settings,
                                                 "seed": cfg.seed}, inputs={"read": p["read"]})

    # 5. filters: length + dedupe over everything built so far
    def filters() -> StageResult:
        from seaembed.augment.filters import iter_dedupe, iter_length_filter

        drops = DropLog()
        rows = itertools.chain.from_iterable(read_examples(p[k]) for k in ("pairs", "translate", "synthetic"))
        rows = iter_length_filter(rows, min_chars=cfg.pairs.min_chars, max_chars=cfg.pairs.max_chars, drops=drops)
        return done("filter", iter_dedupe(rows, drops=drops), drops)  # streamed: one row in memory at a time

    runner.run("filter", filters, settings={"min": cfg.pairs.min_chars, "max": cfg.pairs.max_chars},
               inputs={k: p[k] for k in ("pairs", "translate", "synthetic")})

    # 6. self-validation
    def validation() -> StageResult:
        drops = DropLog()
        rows: Iterable[TrainingExample] = read_examples(p["filter"])  # when off: streamed through
        if cfg.self_validation.enabled:
            from seaembed.augment.self_validation import self_validate

            rows = self_validate(list(rows), guide.get(), cfg.self_validation, drops, seed=cfg.seed, batch_size=bs,
                                 show_progress=show_progress)
        return done("self-validation", rows, drops)

    runner.run("self-validation", validation, settings={"cfg": cfg.self_validation.model_dump(),
                                                        "guide": guide_settings, "seed": cfg.seed},
               inputs={"filter": p["filter"]})

    # 7. hard negatives
    stats_path = work / "hard-negatives.stats.json"

    def negatives() -> StageResult:
        rows: Iterable[TrainingExample] = read_examples(p["self-validation"])  # when off: streamed through
        stats: dict[str, Any] = {}
        if cfg.hard_negatives.enabled:
            from seaembed.augment.hard_negatives import mine_hard_negatives

            rows, mined = mine_hard_negatives(list(rows), guide.get(), cfg.hard_negatives, batch_size=bs,
                                              show_progress=show_progress)
            stats = mined.to_json()
        write_json(stats_path, stats)
        result = done("hard-negatives", rows, DropLog())
        result.outputs["stats"] = str(stats_path)
        return result

    runner.run("hard-negatives", negatives, settings={"cfg": cfg.hard_negatives.model_dump(),
                                                      "guide": guide_settings},
               inputs={"self-validation": p["self-validation"]})

    # final output (atomic) + report; zero examples is an error (the report is still written, the output is not)
    drops = DropLog()
    for name in STAGES:
        if d[name].exists():
            drops.extend(_load_drops(d[name]))
    from seaembed.augment.report import build_report, dropped_line, write_report

    stages = {name: {**r.summary, "skipped": r.skipped} for name, r in runner.results.items()}
    report = build_report(read_examples(p["hard-negatives"]), drops, extra={
        "hard_negatives": json.loads(stats_path.read_text(encoding="utf-8")) if stats_path.exists() else {},
        "stages": stages, "output": str(out)})
    final = report["examples"]
    if final:
        with atomic_path(out) as tmp:
            shutil.copyfile(p["hard-negatives"], tmp)
    write_report(report, report_dir)
    log(dropped_line(drops))
    if not final:
        raise DataBuildError(f"the build produced 0 examples ({dropped_line(drops)}); nothing written to {out}, "
                             f"report in {report_dir}")
    log(f"wrote {final:,} examples to {out}; report in {report_dir}")
    for name, summary in stages.items():
        if summary.get("not_run"):
            log(f"note: stage {name} did not run: {summary['not_run']}")
    return BuildResult(out, report_dir, final, report)
