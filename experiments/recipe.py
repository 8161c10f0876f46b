"""The recipe benchmark (#14 item 4): the seaembed default recipe against the base model, a plain
sentence-transformers baseline, and one ablation per component, all on the same data build, base and budget.

    PYTHONPATH=$PWD .venv/bin/python experiments/recipe.py [--steps 60] [--seeds 3] [--arms a_base,b_st_mnrl,c_default,...]
    PYTHONPATH=$PWD .venv/bin/python experiments/recipe.py --steps 2 --seeds 1 --tag smoke     # smoke mode

Arms (same base = the run's base_model, same budget = steps x batch_size, same data build per variant):
- a_base: the base model, untrained;
- b_st_mnrl: what a user writes with sentence-transformers alone: MultipleNegativesRankingLoss over the build's
  (query, positive) pairs, BatchSamplers.NO_DUPLICATES, one mixed dataset (no per-task batches), the model's
  query/passage prompts, no hard negatives, no merge;
- c_default: the seaembed default recipe (default.yaml's data + train sections, merge t chosen on select halves);
- ablations of c, each removing one part: no_cam (loss mnrl, seaembed sampler), no_hard_negatives (the full build
  with its negatives stripped: hard-negative mining is the build's last stage, so this equals a build without it),
  no_self_validation, no_translation, no_synthetic (data-build variants), no_merge (c's tuned model, t = 1).

Choices read only the `select` halves (seaembed.evaluate.halves, split seed 0): the merge weight, per model, on the
grid --grid with default.yaml's epsilon. Everything reported is on the `report` halves. Per report task and
language: mean and std over seeds; the paired bootstrap 95% CI of each arm's difference from b and from c
(resampling the report items, the same draws for both arms, seed-means compared). Retrieval items are queries
(per-query metric, exact); other task types resample their test rows / pairs and rerun the task's metric on cached
embeddings. Writes experiments/results/recipe[_TAG].{json,md}; results are cached per trained model in --work.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "experiments" / "results"

VARIANTS: dict[str, dict[str, Any]] = {
    "full": {},
    "no_translation": {"translate": {"enabled": False}},
    "no_synthetic": {"synthetic": {"templates": {"enabled": False}, "consistency": {"enabled": False}}},
    "no_self_validation": {"self_validation": {"enabled": False}},
}
# arm -> (data variant, trainer kind, loss override, merge?)
ARMS: dict[str, dict[str, Any]] = {
    "a_base": {},
    "b_st_mnrl": {"variant": "full", "kind": "st"},
    "c_default": {"variant": "full", "kind": "seaembed", "merge": True},
    "no_cam": {"variant": "full", "kind": "seaembed", "loss": {"name": "mnrl"}, "merge": True},
    "no_hard_negatives": {"variant": "full", "strip_negatives": True, "kind": "seaembed", "merge": True},
    "no_self_validation": {"variant": "no_self_validation", "kind": "seaembed", "merge": True},
    "no_merge": {"same_as": "c_default", "merge": False},
    "no_translation": {"variant": "no_translation", "kind": "seaembed", "merge": True},
    "no_synthetic": {"variant": "no_synthetic", "kind": "seaembed", "merge": True},
}


def _deep_update(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = _deep_update(out.get(k, {}), v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def load_defaults() -> dict[str, Any]:
    from seaembed.config import load_yaml

    return load_yaml(ROOT / "seaembed" / "pipeline" / "default.yaml")


def build_variant(data_raw: dict, variant: str, work: Path, base_model: str, log,
                  exclude: tuple[str, ...] = ()) -> Path:
    """The data build of one variant, cached by the content of its config (never by path); `exclude`: e-commerce
    sources left out of training (seaembed.pipeline.loso), so their tasks are unseen."""
    from seaembed.augment.build import build_dataset
    from seaembed.augment.config import DataConfig
    from seaembed.config import validate
    from seaembed.pipeline.loso import filter_sources
    from seaembed.samples import samples_dir

    raw = _deep_update(data_raw, VARIANTS[variant])
    raw.setdefault("guide_model", base_model)
    raw = json.loads(json.dumps(raw).replace('"sample:', f'"{samples_dir()}/'))
    if exclude:
        raw["sources"], dropped = filter_sources(raw["sources"], exclude, base=ROOT,
                                                 work_dir=work / "data" / f"sources-{_digest(sorted(exclude))}")
        log(f"leave-one-source-out: without {', '.join(exclude)}: dropped {dropped['dropped']}")
    cfg = validate(DataConfig, raw, source=f"recipe data variant {variant}")
    # without an exclusion the key is the config's alone (the key earlier results were cached under)
    digest = _digest([cfg.model_dump(mode="json"), sorted(exclude)] if exclude else cfg.model_dump(mode="json"))
    target = work / "data" / f"{variant}-{digest}"
    out = target / "train.jsonl"
    if not out.is_file():
        t = time.time()
        build_dataset(cfg, base_dir=ROOT, out=out, report_dir=target / "report", work_dir=target / "work", log=log)
        log(f"data build {variant}: {time.time() - t:.0f}s, load {os.getloadavg()}")
    return out


def strip_negatives(src: Path, dst: Path) -> Path:
    if not dst.is_file():
        from seaembed.atomic import write_text

        rows = [json.loads(line) for line in src.read_text(encoding="utf-8").splitlines() if line.strip()]
        for r in rows:
            r.pop("negatives", None)
        write_text(dst, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return dst


def train_st_baseline(base_dir: str, data: Path, out: Path, *, steps: int, batch: int, lr: float, warmup: float,
                      seq_len: int, seed: int) -> Path:
    """Arm b: sentence-transformers alone (MNRL, NO_DUPLICATES, one mixed dataset of the build's pairs)."""
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
    from sentence_transformers.losses import MultipleNegativesRankingLoss
    from sentence_transformers.training_args import BatchSamplers, SentenceTransformerTrainingArguments

    rows = [json.loads(line) for line in data.read_text(encoding="utf-8").splitlines() if line.strip()]
    ds = Dataset.from_dict({"anchor": [r["query"] for r in rows], "positive": [r["positive"] for r in rows]})
    model = SentenceTransformer(base_dir, device="cpu")
    model.max_seq_length = seq_len
    prompts = {"anchor": model.prompts.get("query", ""), "positive": model.prompts.get("passage", "")}
    args = SentenceTransformerTrainingArguments(
        output_dir=str(out / "hf"), max_steps=steps, per_device_train_batch_size=batch, learning_rate=lr,
        warmup_ratio=warmup, seed=seed, batch_sampler=BatchSamplers.NO_DUPLICATES, prompts=prompts,
        save_strategy="no", report_to=[], logging_steps=10, use_cpu=True, disable_tqdm=True)
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=ds,
                                         loss=MultipleNegativesRankingLoss(model))
    trainer.train()
    model.save(str(out / "model"))
    return out / "model"


def train_seaembed(base_dir: str, data: Path, out: Path, train_raw: dict, *, steps: int, seed: int,
                   loss: dict | None) -> Path:
    from seaembed.config import validate
    from seaembed.train.config import TrainConfig
    from seaembed.train.trainer import train

    raw = {**train_raw, "model": base_dir, "train_files": [str(data)], "output_dir": str(out), "max_steps": steps,
           "seed": seed, "resume": False, "checkpoint_steps": 10_000}
    if loss:
        raw["loss"] = {**raw.get("loss", {}), **loss}
    return train(validate(TrainConfig, raw, source="recipe train"), progress=False)


class MemoEncoder:
    """An encoder that keeps every embedding of this model in memory (bootstrap resamples re-read them)."""

    def __init__(self, model: Any, batch_size: int = 64):
        from seaembed.evaluate.encoders import load_encoder

        self.inner = load_encoder(model, batch_size=batch_size, cache=False)
        self.name, self.memo = "recipe", {}
        self.fingerprint = getattr(self.inner, "fingerprint", None)

    def encode(self, texts, prompt=None):
        texts = list(texts)
        todo = list(dict.fromkeys(t for t in texts if (prompt, t) not in self.memo))
        if todo:
            for t, v in zip(todo, self.inner.encode(todo, prompt), strict=True):
                self.memo[(prompt, t)] = v
        if not texts:
            return self.inner.encode([], prompt)
        return np.stack([self.memo[(prompt, t)] for t in texts])


def _resample(task, idx: np.ndarray):
    if task.type == "bitext":
        return dataclasses.replace(task, pairs=[task.pairs[i] for i in idx])
    return dataclasses.replace(task, test=[task.test[i] for i in idx])


def _n_items(task) -> int:
    if task.type == "retrieval":
        return len(task.qrels)
    return len(task.pairs) if task.type == "bitext" else len(task.test)


def boot_draws(task, n_boot: int) -> np.ndarray:
    """The bootstrap index draws of a task (seeded by its name: the same draws for every arm)."""
    rng = np.random.default_rng(int(hashlib.sha256(task.name.encode()).hexdigest()[:8], 16))
    n = _n_items(task)
    return rng.integers(0, n, size=(n_boot, n))


def bitext_correct(src: np.ndarray, tgt: np.ndarray, groups: list) -> np.ndarray:
    """1.0 where a source's nearest target (within its language pair) is its own translation."""
    out = np.zeros(len(groups))
    for g in set(groups):
        idx = np.array([i for i, x in enumerate(groups) if x == g])
        out[idx] = ((src[idx] @ tgt[idx].T).argmax(1) == np.arange(len(idx))).astype(float)
    return out


def score_task(task, enc, n_boot: int) -> dict[str, Any]:
    """Main score, per-language main score, and the main score on each bootstrap resample of the task."""
    from seaembed.evaluate.metrics.retrieval import query_metrics
    from seaembed.evaluate.runners import retrieval_run, run_with_encoder

    entry = run_with_encoder(task, enc)
    metric = task.main_metric
    per_lang = {lang: m.get(metric) for lang, m in entry["per_lang"].items()}
    draws = boot_draws(task, n_boot) if n_boot else np.zeros((0, 0), dtype=int)
    if task.type == "retrieval":
        # the same ranking run_with_encoder scored (MemoEncoder serves the embeddings again), one value a query
        run = retrieval_run(task, enc)
        per_q = np.array([query_metrics(ranked, task.qrels[q])[metric] for q, ranked in run.items()])
        boots = per_q[draws].mean(axis=1).tolist() if n_boot else []
    elif task.type == "classification" and metric == "accuracy" and n_boot:
        # the probe is fitted on the (unresampled) train split: fit once, resample the test rows' correctness
        from sklearn.linear_model import LogisticRegression

        clf = LogisticRegression(max_iter=1000, random_state=42)
        clf.fit(enc.encode([r.text for r in task.train], task.symmetric_prompt), [r.label for r in task.train])
        pred = clf.predict(enc.encode([r.text for r in task.test], task.symmetric_prompt))
        correct = (np.asarray(pred, dtype=object) == np.asarray([r.label for r in task.test], dtype=object))
        boots = correct.astype(float)[draws].mean(axis=1).tolist()
    elif task.type == "bitext" and n_boot:
        # resampling pairs would duplicate targets and break the mining; score each pair once (its source's
        # nearest target among its language pair's targets is its own) and resample those
        src = enc.encode([p.src for p in task.pairs], task.query_prompt)
        tgt = enc.encode([p.tgt for p in task.pairs], task.passage_prompt)
        boots = bitext_correct(src, tgt, [(p.src_lang, p.tgt_lang) for p in task.pairs])[draws].mean(axis=1).tolist()
    else:
        boots = [run_with_encoder(_resample(task, d), enc)["main_score"] for d in draws]
    return {"main": entry["main_score"], "per_lang": per_lang, "boot": boots, "metric": metric}


def score_model(model: Any, tasks: list, n_boot: int) -> dict[str, Any]:
    enc = MemoEncoder(model)
    return {t.name: score_task(t, enc, n_boot) for t in tasks}


def mean_main(scores: dict[str, Any], names: list[str]) -> float:
    return float(np.mean([scores[n]["main"] for n in names]))


def choose_merge(base_model, tuned_dir: Path, select_tasks: dict[str, list], grid: list[float], epsilon: float,
                 base_select: dict[str, Any]):
    """The merge weight chosen on the select halves (seaembed.merge.search.choose_t); returns (t, rows, model)."""
    from sentence_transformers import SentenceTransformer

    from seaembed.merge.search import choose_t
    from seaembed.merge.session import MergeSession

    tuned = SentenceTransformer(str(tuned_dir), device="cpu")
    session = MergeSession(copy.deepcopy(base_model), [tuned], method="slerp")
    rows = []
    for t in grid:
        if t == 0.0:
            sc = base_select
        else:
            session.apply(float(t))
            sc = score_model(session.model, select_tasks["domain"] + select_tasks["general"], 0)
        rows.append({"t": t, "domain": mean_main(sc, [x.name for x in select_tasks["domain"]]),
                     "general": mean_main(sc, [x.name for x in select_tasks["general"]])})
    chosen, _ = choose_t(rows, epsilon)
    session.apply(float(chosen))
    return chosen, rows, session.model


def paired_ci(arm: list[list[float]], ref: list[list[float]]) -> tuple[float, float]:
    """95% percentile CI of mean-over-seeds(arm) - mean-over-seeds(ref) over the shared bootstrap draws."""
    if not arm or not ref or not arm[0]:
        return (float("nan"), float("nan"))
    d = np.mean(np.array(arm), axis=0) - np.mean(np.array(ref), axis=0)
    return float(np.percentile(d, 2.5)), float(np.percentile(d, 97.5))


def main() -> None:  # noqa: C901 - one linear experiment script
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=60, help="training steps per arm (budget = steps x batch size; "
                    "60 = the quick profile's budget)")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--arms", default=",".join(ARMS), help="comma-separated subset of the arms")
    ap.add_argument("--domain-tasks", default="domain", help="comma-separated task dirs or bundled group names")
    ap.add_argument("--general-tasks", default="general")
    ap.add_argument("--grid", default="0,0.5,1", help="merge weights tried on the select halves")
    ap.add_argument("--ablation-merge", choices=["search", "off"], default="search",
                    help="off: the ablation arms skip the merge search and are scored at t = 1 (only fair when c "
                    "chose t = 1 on every seed; c itself keeps its search); saves two select-half evaluations an arm")
    ap.add_argument("--bootstrap", type=int, default=200)
    ap.add_argument("--split-seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--base-model", default=None, help="default: default.yaml's base_model (a tiny model dir for "
                    "a quick check of the harness)")
    ap.add_argument("--exclude-source", action="append", default=[],
                    help="leave this e-commerce source out of every arm's training (seaembed.pipeline.loso: "
                    "prdect-id, seaembed-handwritten, filipino-shopee-reviews); its tasks are then unseen")
    ap.add_argument("--tag", default="")
    ap.add_argument("--work", default=str(ROOT.parent / "recipe-work"))
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from seaembed.atomic import write_json, write_text
    from seaembed.evaluate.halves import split_task
    from seaembed.evaluate.tasks import load_task
    from seaembed.models import resolve_model_dir
    from seaembed.pipeline.run import resolve_source, resolve_tasks

    log = lambda msg: print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)  # noqa: E731
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    defaults = load_defaults()
    base_dir = str(resolve_model_dir(resolve_source(args.base_model or defaults["base_model"], ROOT)))
    train_raw = dict(defaults["train"])
    grid = [float(x) for x in args.grid.split(",")]
    epsilon = float(defaults["merge"].get("epsilon", 0.01))
    halves: dict[str, dict[str, list]] = {"select": {}, "report": {}}
    for group, spec in (("domain", args.domain_tasks), ("general", args.general_tasks)):
        for d in resolve_tasks([s for s in spec.split(",") if s], ROOT):
            sel, rep = split_task(load_task(d), seed=args.split_seed)
            halves["select"].setdefault(group, []).append(sel)
            halves["report"].setdefault(group, []).append(rep)
    report_tasks = halves["report"]["domain"] + halves["report"]["general"]
    select_tasks = halves["select"]["domain"] + halves["select"]["general"]
    arms = [a for a in args.arms.split(",") if a]
    seeds = list(range(args.seeds))
    env = {"torch_threads": torch.get_num_threads(), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
           "cpus": os.cpu_count(), "load_at_start": os.getloadavg()}
    results: dict[str, Any] = {"args": vars(args), "env": env, "base_model": base_dir, "train": train_raw,
                               "domain_tasks": [t.name for t in halves["report"]["domain"]],
                               "general_tasks": [t.name for t in halves["report"]["general"]],
                               "data": {}, "arms": {}}
    if args.exclude_source:
        from seaembed.pipeline.loso import unseen_tasks

        unseen = set(unseen_tasks(args.exclude_source))
        results["excluded_sources"] = sorted(args.exclude_source)
        results["unseen_tasks"] = [t for t in results["domain_tasks"] if t.split(":")[0] in unseen]
    from sentence_transformers import SentenceTransformer

    base_model = SentenceTransformer(base_dir, device="cpu")
    cache_file = work / "scores.json"
    cache: dict[str, Any] = json.loads(cache_file.read_text()) if cache_file.is_file() else {}

    def cached(key: str, fn):
        if key not in cache:
            cache[key] = fn()
            write_json(cache_file, cache)
        return cache[key]

    tkey = _digest([t.name for t in report_tasks] + [args.split_seed, args.bootstrap])
    base_select = cached(f"base-select-{tkey}", lambda: score_model(base_model, select_tasks, 0))
    data_paths: dict[str, Path] = {}

    def data_for(spec: dict) -> Path:
        v = spec["variant"]
        if v not in data_paths:
            data_paths[v] = build_variant(defaults["data"], v, work, base_dir, log,
                                          exclude=tuple(sorted(args.exclude_source)))
        path = data_paths[v]
        if spec.get("strip_negatives"):
            path = strip_negatives(path, path.with_name("train.no-negatives.jsonl"))
        results["data"][v] = {"path": str(path), "sha": hashlib.sha256(path.read_bytes()).hexdigest()[:16],
                              "rows": sum(1 for _ in path.open(encoding="utf-8"))}
        return path

    for arm in arms:
        spec = ARMS[arm]
        runs = []
        for seed in (seeds if arm != "a_base" else [0]):
            if arm == "a_base":
                sc = cached(f"base-report-{tkey}", lambda: score_model(base_model, report_tasks, args.bootstrap))
                runs.append({"seed": None, "scores": sc, "load": os.getloadavg()})
                break
            tspec = ARMS[spec["same_as"]] if "same_as" in spec else spec
            data = data_for(tspec)
            key = _digest([tspec, str(data), results["data"][tspec["variant"]]["sha"], args.steps, seed, train_raw,
                           base_dir])
            model_dir = work / "models" / key
            t0 = time.time()
            if not (model_dir / "done").is_file():
                if tspec["kind"] == "st":
                    trained = train_st_baseline(base_dir, data, model_dir, steps=args.steps,
                                                batch=train_raw["batch_size"], lr=train_raw["learning_rate"],
                                                warmup=train_raw.get("warmup_ratio", 0.1),
                                                seq_len=train_raw.get("max_seq_length", 64), seed=seed)
                else:
                    trained = train_seaembed(base_dir, data, model_dir, train_raw, steps=args.steps, seed=seed,
                                             loss=tspec.get("loss"))
                (model_dir / "tuned_path").write_text(str(trained))
                (model_dir / "train_seconds").write_text(f"{time.time() - t0:.1f} {os.getloadavg()}")
                (model_dir / "done").write_text("ok")
            trained = Path((model_dir / "tuned_path").read_text())
            train_info = (model_dir / "train_seconds").read_text()
            log(f"{arm} seed {seed}: trained ({train_info})")
            rkey = f"{arm}-{key}-{tkey}-{args.grid}"

            merge = spec.get("merge") and (arm == "c_default" or args.ablation_merge == "search")
            rkey = rkey if merge or not spec.get("merge") else f"{rkey}-t1"

            def evaluate_arm(spec=spec, trained=trained, merge=merge):
                t1 = time.time()
                if merge:
                    t, rows, model = choose_merge(base_model, trained, halves["select"], grid, epsilon, base_select)
                else:
                    t, rows, model = 1.0, [], SentenceTransformer(str(trained), device="cpu")
                sc = score_model(model, report_tasks, args.bootstrap)
                return {"scores": sc, "t": t, "merge_rows": rows, "eval_seconds": round(time.time() - t1, 1),
                        "load": os.getloadavg()}

            res = cached(rkey, evaluate_arm)
            runs.append({"seed": seed, "train": train_info, **res})
            log(f"{arm} seed {seed}: t={res['t']} eval {res['eval_seconds']}s; domain mean "
                f"{mean_main(res['scores'], results['domain_tasks']):.4f}")
        results["arms"][arm] = runs
    results["env"]["load_at_end"] = os.getloadavg()
    results["summary"] = summarise(results)
    name = f"recipe_{args.tag}" if args.tag else "recipe"
    write_json(RESULTS / f"{name}.json", results)
    write_text(RESULTS / f"{name}.md", render(results))
    log(f"wrote {RESULTS / name}.md")


def summarise(results: dict[str, Any]) -> dict[str, Any]:
    """Per arm and task (and language): mean, std over seeds, paired bootstrap CIs vs b and vs c; group means."""
    out: dict[str, Any] = {}
    dom, gen = results["domain_tasks"], results["general_tasks"]
    tasks = dom + gen

    def boots(arm: str, task: str) -> list[list[float]]:
        return [r["scores"][task]["boot"] for r in results["arms"].get(arm, [])]

    def group_boots(arm: str, names: list[str]) -> list[list[float]]:
        runs = results["arms"].get(arm, [])
        if not runs or not runs[0]["scores"][names[0]]["boot"]:
            return []
        return [np.mean([r["scores"][n]["boot"] for n in names], axis=0).tolist() for r in runs]

    for arm, runs in results["arms"].items():
        row: dict[str, Any] = {"tasks": {}, "t": [r.get("t") for r in runs]}
        for task in tasks:
            vals = [r["scores"][task]["main"] for r in runs]
            langs = sorted(runs[0]["scores"][task]["per_lang"])
            cell = {"mean": float(np.mean(vals)), "std": float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0,
                    "per_lang": {lg: {"mean": float(np.mean([r["scores"][task]["per_lang"][lg] for r in runs])),
                                      "std": float(np.std([r["scores"][task]["per_lang"][lg] for r in runs],
                                                          ddof=1)) if len(runs) > 1 else 0.0}
                                 for lg in langs}}
            for ref in ("b_st_mnrl", "c_default"):
                if ref in results["arms"] and ref != arm:
                    cell[f"ci_vs_{ref[0]}"] = paired_ci(boots(arm, task), boots(ref, task))
            row["tasks"][task] = cell
        groups = [("domain_mean", dom), ("general_mean", gen)]
        if results.get("unseen_tasks"):
            groups.append(("unseen_mean", results["unseen_tasks"]))
        for group, names in groups:
            vals = [np.mean([r["scores"][n]["main"] for n in names]) for r in runs]
            cell = {"mean": float(np.mean(vals)), "std": float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0}
            for ref in ("b_st_mnrl", "c_default"):
                if ref in results["arms"] and ref != arm:
                    cell[f"ci_vs_{ref[0]}"] = paired_ci(group_boots(arm, names), group_boots(ref, names))
            row[group] = cell
        out[arm] = row
    return out


def _fmt_ci(ci) -> str:
    if ci is None or any(np.isnan(ci)):
        return "-"
    return f"[{100 * ci[0]:+.1f}, {100 * ci[1]:+.1f}]"


def render(results: dict[str, Any]) -> str:
    s = results["summary"]
    dom, gen = results["domain_tasks"], results["general_tasks"]
    a = results["args"]
    lines = [f"# Recipe benchmark ({a['steps']} steps x batch {results['train']['batch_size']}, {a['seeds']} seeds)",
             "", f"Generated by `experiments/recipe.py --steps {a['steps']} --seeds {a['seeds']}`. Report halves "
             f"only (split seed {a['split_seed']}); merge t chosen on select halves (grid {a['grid']}). Scores x100; "
             "mean ± std over seeds; [CI] = paired bootstrap 95% CI of the difference (item resamples, "
             f"{a['bootstrap']} draws) vs b (ST baseline) and vs c (default).", "",
             f"Environment: {json.dumps(results['env'])}", ""]
    if a.get("ablation_merge") == "off":
        lines += ["`--ablation-merge off`: the ablation arms skip the merge search and are scored at t = 1 (the t "
                  f"that c chose on its select halves: {s.get('c_default', {}).get('t')}); c keeps its search.", ""]
    means = ["domain_mean", "general_mean"]
    if results.get("excluded_sources"):
        means.append("unseen_mean")
        lines += [f"Every arm trained without the source(s) {', '.join(results['excluded_sources'])} "
                  f"(leave-one-source-out); unseen report tasks: {', '.join(results['unseen_tasks']) or 'none'} "
                  "(their mean: `unseen_mean`).", ""]
    cols = means + dom + gen
    lines.append("| arm | " + " | ".join(c.replace(":report", "") for c in cols) + " | merge t |")
    lines.append("|---" * (len(cols) + 2) + "|")
    for arm, row in s.items():
        cells = []
        for c in cols:
            cell = row[c] if c in means else row["tasks"][c]
            txt = f"{100 * cell['mean']:.1f} ± {100 * cell['std']:.1f}"
            for ref in ("b", "c"):
                if f"ci_vs_{ref}" in cell:
                    txt += f"<br>vs {ref} {_fmt_ci(cell[f'ci_vs_{ref}'])}"
            cells.append(txt)
        lines.append(f"| {arm} | " + " | ".join(cells) + f" | {row['t']} |")
    lines += ["", "## Per language (mean ± std over seeds, x100)", ""]
    for task in dom + gen:
        langs = sorted(s["a_base"]["tasks"][task]["per_lang"]) if "a_base" in s else []
        if len(langs) < 2:
            continue
        lines.append(f"**{task}**: " + "; ".join(
            f"{arm} " + ", ".join(f"{lg} {100 * row['tasks'][task]['per_lang'][lg]['mean']:.1f}±"
                                  f"{100 * row['tasks'][task]['per_lang'][lg]['std']:.1f}" for lg in langs)
            for arm, row in s.items()))
        lines.append("")
    if {"a_base", "b_st_mnrl", "c_default"} <= set(s):
        c, b, base = s["c_default"], s["b_st_mnrl"], s["a_base"]
        lines += ["## Goals", "",
                  f"- c - b on the domain mean: {100 * (c['domain_mean']['mean'] - b['domain_mean']['mean']):+.1f} "
                  f"(goal >= +2; CI {_fmt_ci(c['domain_mean'].get('ci_vs_b'))})",
                  f"- c - a on the domain mean: {100 * (c['domain_mean']['mean'] - base['domain_mean']['mean']):+.1f}"
                  " (goal >= +5)",
                  f"- c - a on the general mean: "
                  f"{100 * (c['general_mean']['mean'] - base['general_mean']['mean']):+.1f} (goal >= -1)", ""]
        if "unseen_mean" in c:
            lines.insert(-1, f"- on the unseen tasks: c - b "
                         f"{100 * (c['unseen_mean']['mean'] - b['unseen_mean']['mean']):+.1f} "
                         f"(CI {_fmt_ci(c['unseen_mean'].get('ci_vs_b'))}), c - a "
                         f"{100 * (c['unseen_mean']['mean'] - base['unseen_mean']['mean']):+.1f}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
