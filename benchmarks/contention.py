"""Contention benchmark (#15 item 12): how much a second job on the machine slows seaembed, before and after the
thread settings of `seaembed.threads` (intra-op threads from the CPUs available, passive OpenMP waits).

For each workload (training steps: forward + backward + SGD step on batches of product titles; an encode of
product titles) and each environment ("before": torch's defaults, nothing set; "after": `seaembed.threads.configure()`
as the `seaembed` entry point runs it), we time the workload alone, then again while one concurrent copy of the
same workload runs in another process (started first and kept busy until the measured run ends). Slowdown =
concurrent time / alone time; fair share on a saturated machine is 2x.

    .venv/bin/python benchmarks/contention.py [--model packaged:multilingual-e5-small] [--steps 8] [--texts 256]

Writes benchmarks/results/contention.json and contention.md. Run it under the shared heavy lock; other work on the
machine is not controlled: load averages are recorded beside every number.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME",
               "SEAEMBED_THREADS", "SEAEMBED_SPIN")


def worker(args) -> None:
    """One process: load the model, warm up, then run the workload `repeats` times (forever with --forever),
    printing 'ready' after the warm-up and one JSON line of timings at the end."""
    if args.env == "after":
        from seaembed.threads import configure

        configure()
    import torch

    sys.path.insert(0, str(ROOT))
    from benchmarks.serve import load_titles
    from seaembed.engine.loading import load_sentence_transformer
    from seaembed.threads import describe

    model = load_sentence_transformer(args.model)
    # the word-embedding matrix (96M of e5-small's 118M weights) stays frozen: its dense SGD update is memory-bound
    # and would hide the thread effects this measures
    model[0].auto_model.get_input_embeddings().weight.requires_grad_(False)
    texts = load_titles(args.texts)

    def train_steps() -> None:
        model.train()
        opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1e-5)
        for i in range(args.steps):
            batch = texts[(i * 16) % len(texts):][:16]
            feats = model.tokenize(["query: " + t for t in batch])
            out = model(feats)["sentence_embedding"]
            loss = (out @ out.T).logsumexp(1).mean()
            loss.backward()
            opt.step()
            opt.zero_grad()
        model.eval()

    def encode() -> None:
        model.encode(texts, prompt_name="query", batch_size=32)

    fn = train_steps if args.workload == "train" else encode
    fn()  # warm-up
    print("ready", flush=True)
    if args.forever:
        while True:
            fn()
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    print(json.dumps({"seconds": min(times), "all": [round(t, 3) for t in times], "threads": describe()}), flush=True)


def _spawn(args, env_name: str, workload: str, forever: bool) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
    env["PYTHONPATH"] = str(ROOT)
    cmd = [sys.executable, __file__, "--worker", "--env", env_name, "--workload", workload, "--model", args.model,
           "--steps", str(args.steps), "--texts", str(args.texts), "--repeats", str(args.repeats)]
    if forever:
        cmd.append("--forever")
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def _wait_ready(proc: subprocess.Popen) -> None:
    for line in proc.stdout:  # type: ignore[union-attr]
        if line.strip() == "ready":
            return
    raise RuntimeError("worker exited before it was ready")


def measure(args, env_name: str, workload: str, concurrent: bool) -> dict:
    """Time the workload in a fresh process, alone or beside one busy copy of itself."""
    copy = None
    if concurrent:
        copy = _spawn(args, env_name, workload, forever=True)
        _wait_ready(copy)
    load = [round(x, 2) for x in os.getloadavg()]
    proc = _spawn(args, env_name, workload, forever=False)
    try:
        _wait_ready(proc)
        result = json.loads(proc.stdout.read().strip().splitlines()[-1])  # type: ignore[union-attr]
        proc.wait(timeout=60)
    finally:
        if copy is not None:
            copy.terminate()
            copy.wait(timeout=30)
    result.update({"load_before": load, "load_after": [round(x, 2) for x in os.getloadavg()]})
    print(f"{workload} {env_name} {'with a concurrent copy' if concurrent else 'alone'}: {result['seconds']:.2f} s "
          f"(load {load})", flush=True)
    return result


def render(r: dict) -> str:
    lines = ["# Contention benchmark", "",
             f"Model `{r['model']}` on {r['cpus']} CPUs ({r['cpu']}); training: {r['steps']} steps of batch 16 "
             f"(forward, backward, SGD); encode: {r['texts']} product titles, batch 32. Best of {r['repeats']} "
             "timed runs after a warm-up, each in a fresh process. {:.0f} s in all.".format(r["seconds"]), "",
             "| workload | environment | alone s | with 1 concurrent copy s | slowdown | fair share (<= 2x) | "
             "torch threads | OMP_WAIT_POLICY | load avg (1 min) alone / concurrent |",
             "|---|---|---|---|---|---|---|---|---|"]
    for w, by_env in r["results"].items():
        for env, v in by_env.items():
            t = v["alone"]["threads"]
            lines.append(f"| {w} | {env} | {v['alone']['seconds']:.2f} | {v['concurrent']['seconds']:.2f} | "
                         f"{v['slowdown']:.2f}x | {'met' if v['slowdown'] <= 2.0 else 'missed'} | "
                         f"{t.get('torch_threads')} | {t['env'].get('OMP_WAIT_POLICY') or 'unset (libgomp default)'} | "
                         f"{v['alone']['load_before'][0]} / {v['concurrent']['load_before'][0]} |")
    lines += ["", "before: torch's defaults (no thread variables set). after: `seaembed.threads.configure()` as the "
              "`seaembed` command runs it (OMP_NUM_THREADS from the CPUs available, OMP_WAIT_POLICY=PASSIVE, "
              "GOMP_SPINCOUNT=0, KMP_BLOCKTIME=0). The concurrent copy is the same workload in the same environment, "
              "started first and kept running until the measured run ends. The machine is shared with other agents' "
              "light work: the load averages beside each number say how busy it was.", ""]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="packaged:multilingual-e5-small")
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--texts", type=int, default=192)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--workloads", nargs="+", default=["train", "encode"])
    p.add_argument("--out", default=str(RESULTS / "contention"))
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--forever", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--env", default="after", help=argparse.SUPPRESS)
    p.add_argument("--workload", default="train", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        worker(args)
        return
    sys.path.insert(0, str(ROOT))
    from benchmarks.serve import cpu_flags
    from seaembed.atomic import write_results

    started = time.perf_counter()
    results: dict = {}
    for w in args.workloads:
        results[w] = {}
        for env in ("before", "after"):
            alone = measure(args, env, w, concurrent=False)
            conc = measure(args, env, w, concurrent=True)
            results[w][env] = {"alone": alone, "concurrent": conc, "slowdown": round(conc["seconds"] / alone["seconds"], 2)}
    report = {"model": args.model, "steps": args.steps, "texts": args.texts, "repeats": args.repeats,
              "cpus": os.cpu_count(), "cpu": cpu_flags(), "results": results,
              "seconds": round(time.perf_counter() - started, 1)}
    write_results(args.out, report, render(report))
    print(render(report))


if __name__ == "__main__":
    main()
