"""Peak RSS and time of the default run's training step: plain CAM vs GradCache (mini-batch 8, 16) vs gradient
checkpointing, on the packaged multilingual-e5-small with the default run's shapes (batch 32, query + positive + one
hard negative, max length 64).

    .venv/bin/python benchmarks/train_memory.py --data runs/demo/data/train.jsonl [--steps 10]

Each variant is a `seaembed train` subprocess (peak = the child's ru_maxrss, which includes loading the model), run
one after another so they don't share the CPU. Writes benchmarks/results/train_memory.json and .md with each
variant's peak and time as ratios to the plain loss. GradCache's gradients equal the plain loss's (tests/train), so
the choice changes memory and time, not what is learned.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

VARIANTS: dict[str, dict] = {
    "plain CAM": {"loss": {"name": "cam", "temperature": 0.05}},
    "GradCache, mini-batch 8": {"loss": {"name": "cam", "temperature": 0.05, "cached": True, "mini_batch_size": 8}},
    "GradCache, mini-batch 16": {"loss": {"name": "cam", "temperature": 0.05, "cached": True, "mini_batch_size": 16}},
    "gradient checkpointing": {"loss": {"name": "cam", "temperature": 0.05}, "gradient_checkpointing": True},
}


def run_variant(name: str, extra: dict, data: Path, steps: int, work: Path) -> dict:
    """Train `steps` steps in a child process; its peak RSS and wall time."""
    cfg = {"model": "packaged:multilingual-e5-small", "train_files": [str(data)], "output_dir": str(work / "out"),
           "batch_size": 32, "max_steps": steps, "learning_rate": 3e-5, "max_negatives": 1, "max_seq_length": 64,
           "checkpoint_steps": 10_000, "logging_steps": 1, "resume": False, **extra}
    path = work / "train.yaml"
    path.write_text(yaml.safe_dump(cfg))
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    proc = subprocess.run([sys.executable, "-m", "seaembed.cli", "train", str(path), "--no-resume"],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{name}: seaembed train failed:\n{proc.stderr[-2000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if peak <= before:
        raise SystemExit(f"{name}: its peak RSS is hidden behind an earlier child's; run fewer variants per process")
    return {"variant": name, "peak_mib": round(peak / 1024), "wall_s": round(wall, 1), "load_before": round(load, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="a data build's train.jsonl (e.g. runs/demo/data)")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    args = ap.parse_args()
    import torch

    from seaembed.atomic import write_results

    # ru_maxrss of RUSAGE_CHILDREN is the largest child so far: run the variants largest-expected last is not
    # enough, so each variant is measured by a fresh python process of its own
    rows = []
    for name in args.variants:
        with tempfile.TemporaryDirectory() as tmp:
            out = subprocess.run([sys.executable, __file__, "--data", str(args.data), "--steps", str(args.steps),
                                  "--one", name, "--work", tmp], capture_output=True, text=True)
            if out.returncode != 0:
                raise SystemExit(out.stderr[-2000:])
            rows.append(yaml.safe_load(out.stdout.strip().splitlines()[-1]))
            print(rows[-1], flush=True)
    plain = next((r for r in rows if r["variant"] == "plain CAM"), rows[0])
    for r in rows:
        r["peak_ratio"] = round(r["peak_mib"] / plain["peak_mib"], 2)
        r["time_ratio"] = round(r["wall_s"] / plain["wall_s"], 2)
    env = {"machine": platform.machine(), "cpus": os.cpu_count(), "torch": torch.__version__,
           "torch_threads": torch.get_num_threads(), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
           "steps": args.steps, "data": str(args.data)}
    lines = ["# Training step memory (the default run's shapes)", "",
             f"Machine: {env['machine']}, {env['cpus']} cores, torch {env['torch']}, {env['torch_threads']} torch "
             f"threads (OMP_NUM_THREADS={env['OMP_NUM_THREADS']}). `seaembed train` subprocesses of {args.steps} "
             "steps each, batch 32 x (query, positive, 1 hard negative), max length 64, packaged "
             "multilingual-e5-small with frozen word embeddings. Peak includes loading the model. Wall time "
             "includes start-up; one run each, so small time differences are noise.", "",
             "| variant | peak RSS (MiB) | peak / plain | wall (s) | time / plain | load avg before |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {r['variant']} | {r['peak_mib']} | {r['peak_ratio']} | {r['wall_s']} | {r['time_ratio']} | "
              f"{r['load_before']} |" for r in rows]
    write_results(ROOT / "benchmarks" / "results" / "train_memory", {"env": env, "rows": rows}, "\n".join(lines) + "\n")


if __name__ == "__main__":
    if "--one" in sys.argv:
        ap = argparse.ArgumentParser()
        ap.add_argument("--data", type=Path)
        ap.add_argument("--steps", type=int)
        ap.add_argument("--one")
        ap.add_argument("--work", type=Path)
        a = ap.parse_args()
        print(run_variant(a.one, VARIANTS[a.one], a.data, a.steps, a.work))
    else:
        main()
