"""Experiment: does merging a domain fine-tune back into its base keep general ability? SLERP vs linear, against t.

1. Fine-tune the packaged multilingual-e5-small briefly with `seaembed train` on PRDECT-ID product name ->
   category pairs (the training side of the bundled samples, `seaembed/samples/catalog.jsonl`; the dev tasks use
   disjoint products), word-embedding table frozen.
2. Merge base and tuned in memory at each t of a grid, by SLERP and by linear interpolation.
3. Evaluate every merge with the evaluation stage on domain dev tasks (PRDECT-ID category classification and
   category -> product retrieval) and general dev tasks (SIB-200 dev topic classification, TALPCo bitext), both
   from `seaembed/samples/tasks/`, subsampled so the whole run fits in ~15 minutes on 2 shared CPU cores.
4. Write `experiments/results/merge_tradeoff.{json,md,png}`.

Usage: .venv/bin/python experiments/merge_tradeoff.py [--steps 80] [--grid 0,0.25,...,1] [--work DIR]
Resumable: the tuned model and each finished (method, t) evaluation are kept in --work.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "experiments" / "results"
BASE = "packaged:multilingual-e5-small"


def _read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def training_file(work: Path) -> Path:
    """PRDECT-ID catalog rows of the samples as title -> category examples (CAM masks same-category positives)."""
    from seaembed.samples import sample_path

    rows = [r for r in _read_jsonl(sample_path("catalog.jsonl")) if r.get("source") == "prdect-id"]
    out = work / "train_title_category.jsonl"
    _write_jsonl(out, [{"query": r["title"], "positive": r["category"], "negatives": [], "task": "title-category",
                        "label": r["category"], "lang": "id", "source": "prdect-id"} for r in rows])
    return out


def fine_tune(work: Path, steps: int, lr: float, batch_size: int, max_seq_length: int) -> Path:
    """Run `seaembed train` (skipped when the tuned model already exists)."""
    from seaembed.train.config import TrainConfig
    from seaembed.train.trainer import train

    model_dir = work / "train" / "model"
    if (model_dir / "modules.json").is_file():
        return model_dir
    started = time.perf_counter()
    cfg = TrainConfig(model=BASE, train_files=[training_file(work)], output_dir=work / "train",
                      batch_size=batch_size, max_steps=steps, learning_rate=lr, warmup_ratio=0.1,
                      freeze_word_embeddings=True, checkpoint_steps=10_000, logging_steps=10, max_seq_length=max_seq_length,
                      seed=0)
    out = train(cfg)
    (work / "train_seconds.json").write_text(json.dumps(time.perf_counter() - started))
    return out


def _copy_task(src: Path, dst: Path, files: dict[str, list[dict]]) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    (dst / "task.json").write_text((src / "task.json").read_text(encoding="utf-8"), encoding="utf-8")
    for name, rows in files.items():
        _write_jsonl(dst / name, rows)
    return dst


def small_tasks(work: Path, seed: int = 0) -> dict[str, list[Path]]:
    """Subsampled copies of the bundled dev tasks (sizes in the module docstring of the results)."""
    from seaembed.samples import samples_dir

    rng = random.Random(seed)
    tasks = samples_dir() / "tasks"
    out = work / "tasks"

    def by(rows: list[dict], key: str, n: int) -> list[dict]:
        groups: dict[str, list[dict]] = defaultdict(list)
        for r in rows:
            groups[r[key]].append(r)
        picked = []
        for k in sorted(groups):
            g = groups[k][:]
            rng.shuffle(g)
            picked += g[:n]
        return picked

    # SIB-200 dev (the task's test.jsonl is SIB-200's dev split): 4 languages x 35 train / 25 test a language
    langs = {"th", "vi", "id", "en"}
    sib = tasks / "sib200-topic-clf"
    sib_train = by([r for r in _read_jsonl(sib / "train.jsonl") if r["lang"] in langs], "lang", 35)
    sib_test = by([r for r in _read_jsonl(sib / "test.jsonl") if r["lang"] in langs], "lang", 25)
    # TALPCo bitext: 70 sentences, English -> id, th, vi
    pairs = [r for r in _read_jsonl(tasks / "talpco-bitext" / "pairs.jsonl") if r["tgt_lang"] in {"id", "th", "vi"}]
    ids = sorted({r["id"] for r in pairs})
    rng.shuffle(ids)
    keep = set(ids[:70])
    # PRDECT-ID category classification: 300 of the 622 rows, all 29 categories
    clf = tasks / "prdect-category-clf"
    clf_train = by(_read_jsonl(clf / "train.jsonl"), "label", 6)
    clf_test = by(_read_jsonl(clf / "test.jsonl"), "label", 5)
    # PRDECT-ID category -> product retrieval: all queries, up to 6 relevant products a query + 100 distractors
    ret = tasks / "prdect-category-retrieval"
    qrels = (ret / "qrels" / "test.tsv").read_text(encoding="utf-8").splitlines()
    header, qrel_rows = qrels[0], [line.split("\t") for line in qrels[1:] if line.strip()]
    corpus = _read_jsonl(ret / "corpus.jsonl")
    rng.shuffle(corpus)
    per_query: dict[str, list[str]] = defaultdict(list)
    for q, d, _ in qrel_rows:
        per_query[q].append(d)
    wanted = {d for docs in per_query.values() for d in sorted(docs)[:6]}
    docs = [c for c in corpus if c["_id"] in wanted] + [c for c in corpus if c["_id"] not in wanted][:100]
    doc_ids = {c["_id"] for c in docs}
    ret_dir = _copy_task(ret, out / "prdect-category-retrieval",
                         {"corpus.jsonl": docs, "queries.jsonl": _read_jsonl(ret / "queries.jsonl")})
    (ret_dir / "qrels").mkdir(exist_ok=True)
    (ret_dir / "qrels" / "test.tsv").write_text(
        header + "\n" + "".join("\t".join(r) + "\n" for r in qrel_rows if r[1] in doc_ids), encoding="utf-8")
    return {
        "domain": [_copy_task(clf, out / "prdect-category-clf", {"train.jsonl": clf_train, "test.jsonl": clf_test}),
                   ret_dir],
        "general": [_copy_task(sib, out / "sib200-topic-clf", {"train.jsonl": sib_train, "test.jsonl": sib_test}),
                    _copy_task(tasks / "talpco-bitext", out / "talpco-bitext",
                               {"pairs.jsonl": [r for r in pairs if r["id"] in keep]})],
    }


def sizes(task_dirs: dict[str, list[Path]]) -> dict[str, dict[str, int]]:
    out = {}
    for group in task_dirs.values():
        for d in group:
            out[d.name] = {p.name if p.parent == d else f"qrels/{p.name}": sum(1 for _ in open(p, encoding="utf-8"))
                           for p in sorted(d.rglob("*.*")) if p.suffix in {".jsonl", ".tsv"}}
    return out


def two_panel_plot(series: dict[str, list[dict]], floor: float) -> bytes:
    """Left: mean domain / general score vs t for both methods. Right: every task's score vs t (SLERP)."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=110)
    styles = {"slerp": dict(color="tab:blue", lw=2.5, alpha=0.6), "linear": dict(color="tab:orange", lw=1, ls="--")}
    for method, rows in series.items():
        ts = [r["t"] for r in rows]
        left.plot(ts, [r["domain"] for r in rows], marker="o", label=f"{method}: domain", **styles[method])
        left.plot(ts, [r["general"] for r in rows], marker="s", label=f"{method}: general", **styles[method])
    left.axhline(floor, color="grey", lw=0.8, ls=":", label="general floor (base - epsilon)")
    left.set(xlabel="t  (0 = base, 1 = tuned)", ylabel="mean main metric", title="Mean scores: SLERP vs linear")
    left.legend(fontsize=7)
    left.grid(alpha=0.3)
    rows = series["slerp"]
    for name in sorted(rows[0]["tasks"]):
        right.plot([r["t"] for r in rows], [r["tasks"][name] for r in rows], marker="o",
                   ls="-" if name.startswith("domain/") else "--", label=name)
    right.set(xlabel="t", ylabel="main metric", title="Per task (SLERP)")
    right.legend(fontsize=7)
    right.grid(alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--max-seq-length", type=int, default=32)
    ap.add_argument("--grid", default="0,0.25,...,1")
    ap.add_argument("--epsilon", type=float, default=0.01)
    ap.add_argument("--work", type=Path, default=Path("/tmp/seaembed-merge-tradeoff"))
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads; 1 is ~10x faster than 2 on an oversubscribed shared machine")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from seaembed.evaluate.run import evaluate
    from seaembed.merge.merge_models import load_parents
    from seaembed.merge.report import tradeoff_table
    from seaembed.merge.search import OBJECTIVE, choose_t, parse_grid
    from seaembed.merge.session import MergeSession

    torch.manual_seed(0)
    args.work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    tuned_dir = fine_tune(args.work, args.steps, args.lr, args.batch_size, args.max_seq_length)
    train_seconds = json.loads((args.work / "train_seconds.json").read_text())
    task_dirs = small_tasks(args.work)
    grid = parse_grid(args.grid)

    base_model, tuned_models = load_parents(BASE, [tuned_dir])
    session = MergeSession(base_model, tuned_models, method="slerp", base_name=BASE, tuned_names=[str(tuned_dir)])
    del tuned_models
    angles = [a for a in session.compute_angles().values() if a == a]

    partial = args.work / "rows.json"
    done: dict[str, dict] = json.loads(partial.read_text()) if partial.is_file() else {}
    series: dict[str, list[dict]] = {"slerp": [], "linear": []}
    fallbacks = {}
    for method in ("slerp", "linear"):
        for t in grid:
            # t = 0 and t = 1 are the base and the tuned model for both methods: evaluate once
            key = f"{'any' if t in (0.0, 1.0) else method}:{t:g}"
            if key not in done:
                t_start = time.perf_counter()
                stats = session.apply(t, method=method)
                row = {"t": t, "tasks": {}}
                for group in ("domain", "general"):
                    res = evaluate(session.model, task_dirs[group], show_progress=False, cache=False)
                    scores = {n: e["metrics"][e["main_metric"]] for n, e in res["tasks"].items()}
                    row["tasks"].update({f"{group}/{n}": v for n, v in scores.items()})
                    row[group] = statistics.mean(scores.values())
                row["lerp_fallbacks"] = stats.get("lerp_fallbacks")
                row["seconds"] = round(time.perf_counter() - t_start, 1)
                done[key] = row
                partial.write_text(json.dumps(done, indent=1))
                print(f"{method} t={t:g}: domain {row['domain']:.4f} general {row['general']:.4f}", flush=True)
            series[method].append(done[key])
            if method == "slerp" and done[key].get("lerp_fallbacks") is not None:
                fallbacks[f"{t:g}"] = done[key]["lerp_fallbacks"]

    choice = {}
    for method, rows in series.items():
        for constraint in ("mean", "each"):
            t_best, floor = choose_t(rows, args.epsilon, constraint)
            choice[f"{method}/{constraint}"] = {"chosen_t": t_best, "general_floor": floor,
                                                "row": next(r for r in rows if r["t"] == t_best)}
    # how far apart are the two methods' weights? (relative L2 gap per tensor at t = 0.5)
    gaps = []
    with torch.no_grad():
        for k in session.varying:
            s_, l_ = session.merged_tensor(k, 0.5, "slerp"), session.merged_tensor(k, 0.5, "linear")
            gaps.append(float((s_ - l_).norm() / l_.norm().clamp_min(1e-12)))
    diffs = [{"t": a["t"], "domain": a["domain"] - b["domain"], "general": a["general"] - b["general"]}
             for a, b in zip(series["slerp"], series["linear"], strict=True)]
    result = {
        "base": BASE, "tuned": str(tuned_dir),
        "training": {"data": "samples/catalog.jsonl PRDECT-ID rows as title -> category (686 examples)",
                     "loss": "CAM InfoNCE (seaembed train defaults)", "steps": args.steps, "lr": args.lr,
                     "batch_size": args.batch_size, "max_seq_length": args.max_seq_length, "frozen_word_embeddings": True,
                     "seconds": round(train_seconds, 1)},
        "task_sizes": sizes(task_dirs), "grid": grid, "epsilon": args.epsilon, "objective": OBJECTIVE,
        "angles_degrees": {"tensors": len(angles), "median": statistics.median(angles), "max": max(angles),
                           "min": min(angles)} if angles else None,
        "slerp_lerp_fallbacks_by_t": fallbacks, "changed_tensors": len(session.varying),
        "slerp_vs_linear_weight_gap_t05": {"median": statistics.median(gaps), "max": max(gaps)} if gaps else None,
        "series": series, "slerp_minus_linear": diffs, "choice": choice,
        "seconds_this_invocation": round(time.perf_counter() - started, 1),
        "eval_seconds": round(sum(r.get("seconds", 0) for r in done.values()), 1),
        "evaluations": len(done),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    floor = choice["slerp/mean"]["general_floor"]
    (RESULTS / "merge_tradeoff.png").write_bytes(two_panel_plot(series, floor))
    md = [
        "# Merge trade-off: SLERP vs linear (experiments/merge_tradeoff.py)", "",
        f"Base `{BASE}`; tuned: {args.steps} steps of `seaembed train` (CAM InfoNCE, lr {args.lr:g}, batch "
        f"{args.batch_size}, max length {args.max_seq_length}, word embeddings frozen) on 686 PRDECT-ID title -> category pairs; "
        f"training took {train_seconds / 60:.1f} min and the {result['evaluations']} evaluations (merge + all four "
        f"tasks) {result['eval_seconds'] / 60:.1f} min on 2 shared CPU cores (one torch thread).", "",
        "Domain = mean of prdect-category-clf accuracy and prdect-category-retrieval nDCG@10; general = mean of "
        "sib200-topic-clf accuracy (SIB-200 dev, th/vi/id/en) and talpco-bitext F1 (en -> id/th/vi). Task "
        "sizes (rows per file): " + "; ".join(f"{k}: " + ", ".join(f"{f} {n}" for f, n in v.items())
                                              for k, v in result["task_sizes"].items()) + ".", "",
    ]
    if angles:
        a = result["angles_degrees"]
        md += [f"Angle between base and tuned weights over the {a['tensors']} changed tensors: median "
               f"{a['median']:.3f}°, max {a['max']:.3f}°. SLERP tensors that fell back to linear interpolation "
               f"(|cos| > 1 - 1e-8): {fallbacks}. Relative L2 gap between the SLERP and the linear merge at t = 0.5, "
               f"per tensor: median {result['slerp_vs_linear_weight_gap_t05']['median']:.2e}, max "
               f"{result['slerp_vs_linear_weight_gap_t05']['max']:.2e}.", ""]
    for method in ("slerp", "linear"):
        c, e = choice[f"{method}/mean"], choice[f"{method}/each"]
        md += [f"## {method}", "", tradeoff_table(series[method], chosen_t=c["chosen_t"], floor=c["general_floor"]),
               "", f"Chosen t (epsilon {args.epsilon:g}): {c['chosen_t']:g} with the mean-general constraint "
               f"(`--constraint mean`, the default: {OBJECTIVE}); {e['chosen_t']:g} with `--constraint each` "
               "(every general task within epsilon of the base).", ""]
    md += ["## SLERP minus linear at the same t", "", "| t | domain | general |", "|---:|---:|---:|"]
    md += [f"| {d['t']:g} | {d['domain']:+.4f} | {d['general']:+.4f} |" for d in diffs]
    md += ["", "![trade-off](merge_tradeoff.png)", ""]
    from seaembed.atomic import write_results

    write_results(RESULTS / "merge_tradeoff", result, "\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()
