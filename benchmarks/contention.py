"""Contention benchmark (#15 item 12): how much a second job on the machine slows seaembed, before and after the
thread settings of `seaembed.threads` (intra-op threads from the CPUs available, passive OpenMP waits).

For each workload (training steps: forward + backward + SGD step on batches of product titles; an encode of
product titles) and each thread environment, we time the workload alone, then again beside a competitor started
first and kept busy until the measured run ends. Slowdown = competing time / alone time; fair share on a saturated
machine is 2x. Environments (`--envs`):

    before       torch's defaults, nothing set (libgomp spins idle threads for a while)
    passive      `seaembed.threads.configure()` with the passive policy (OMP_WAIT_POLICY=PASSIVE, GOMP_SPINCOUNT=0)
    spin         configure() with SEAEMBED_SPIN=1: threads sized, no wait policy (libgomp's default spinning)
    spinN        configure() with GOMP_SPINCOUNT=N and no wait policy: idle threads spin N iterations, then sleep

Competitors (`--competitors`): `copy`, one copy of the same workload in the same environment (two seaembed jobs),
and `busy`, one single-threaded CPU-bound Python process (any other job). The alone time is the policy's cost on
an idle machine; the competing time is what a shared machine sees.

    .venv/bin/python benchmarks/contention.py   # the defaults are the settings of the committed results
    .venv/bin/python benchmarks/contention.py --envs passive spin --competitors copy --workloads encode

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
    if args.env != "before":
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
            batch = texts[(i * args.batch) % len(texts):][:args.batch]
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


BUSY = "import time\nprint('ready', flush=True)\nwhile True:\n    sum(range(10000))"


def env_vars(env_name: str) -> dict[str, str]:
    """The thread variables an environment sets before the worker starts (configure() keeps existing values)."""
    if env_name in ("before", "passive"):
        return {}
    if env_name == "spin":
        return {"SEAEMBED_SPIN": "1"}
    if env_name.startswith("spin") and env_name[4:].isdigit():
        return {"SEAEMBED_SPIN": "1", "GOMP_SPINCOUNT": env_name[4:]}
    raise SystemExit(f"contention.py: unknown environment {env_name!r} (before, passive, spin, spinN)")


def _spawn(args, env_name: str, workload: str, forever: bool) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
    env["PYTHONPATH"] = str(ROOT)
    if workload == "busy":
        return subprocess.Popen([sys.executable, "-c", BUSY], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
    env.update(env_vars(env_name))
    cmd = [sys.executable, __file__, "--worker", "--env", env_name, "--workload", workload, "--model", args.model,
           "--steps", str(args.steps), "--batch", str(args.batch), "--texts", str(args.texts),
           "--repeats", str(args.repeats)]
    if forever:
        cmd.append("--forever")
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def _wait_ready(proc: subprocess.Popen) -> None:
    for line in proc.stdout:  # type: ignore[union-attr]
        if line.strip() == "ready":
            return
    raise RuntimeError("worker exited before it was ready")


def measure(args, env_name: str, workload: str, competitor: str | None) -> dict:
    """Time the workload in a fresh process, alone (competitor None), beside one busy copy of itself ("copy") or
    beside a single-threaded CPU-bound process ("busy")."""
    copy = None
    if competitor is not None:
        copy = _spawn(args, env_name, workload if competitor == "copy" else "busy", forever=True)
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
    print(f"{workload} {env_name} {'beside ' + competitor if competitor else 'alone'}: {result['seconds']:.2f} s "
          f"(load {load})", flush=True)
    return result


def render(r: dict) -> str:
    comps = r["competitors"]
    lines = ["# Contention benchmark", "",
             f"Model `{r['model']}` on {r['cpus']} CPUs ({r['cpu']}); training: {r['steps']} steps of batch "
             f"{r['batch']} (forward, backward, SGD; the word-embedding matrix frozen); encode: {r['texts']} product "
             f"titles, batch 32. Best of {r['repeats']} timed runs after a warm-up, each in a fresh process. "
             "{:.0f} s in all.".format(r["seconds"]), "",
             "| workload | environment | alone s | " + " | ".join(f"beside {c} s | slowdown ({c})" for c in comps)
             + " | torch threads | thread env | load avg (1 min) before each run |",
             "|---|---|---|" + "---|---|" * len(comps) + "---|---|---|"]
    for w, by_env in r["results"].items():
        best_alone = min(v["alone"]["seconds"] for v in by_env.values())
        for env, v in by_env.items():
            t = v["alone"]["threads"]
            cells = []
            for c in comps:
                cells += [f"{v[c]['seconds']:.2f}", f"{v['slowdown'][c]:.2f}x"]
            envs = {k: val for k, val in t["env"].items() if val is not None and k != "MKL_NUM_THREADS"}
            loads = " / ".join(str(x["load_before"][0]) for x in [v["alone"]] + [v[c] for c in comps])
            lines.append(f"| {w} | {env} | {v['alone']['seconds']:.2f} ({v['alone']['seconds'] / best_alone:.2f}x "
                         f"best) | " + " | ".join(cells) + f" | {t.get('torch_threads')} | "
                         f"{', '.join(f'{k}={val}' for k, val in envs.items()) or 'none'} | {loads} |")
    lines += ["", "Environments: before = torch's defaults (no thread variables); passive = `seaembed.threads."
              "configure()` with OMP_WAIT_POLICY=PASSIVE, GOMP_SPINCOUNT=0, KMP_BLOCKTIME=0; spin = configure() with "
              "SEAEMBED_SPIN=1 (threads sized, libgomp's default spin); spinN = configure() with GOMP_SPINCOUNT=N "
              "(idle threads spin N iterations, then sleep). Competitors: copy = the same workload in the same "
              "environment; busy = one single-threaded CPU-bound Python loop. Each competitor starts first and runs "
              "until the measured run ends. `alone ... x best` is the environment's cost on an idle machine against "
              "the fastest environment. The load averages beside each number say how busy the machine was.", ""]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="packaged:multilingual-e5-small")
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--batch", type=int, default=8, help="training batch (8 = the default GradCache mini-batch)")
    p.add_argument("--envs", nargs="+", default=["before", "passive", "spin1000", "spin10000", "spin100000"])
    p.add_argument("--competitors", nargs="+", default=["copy", "busy"], choices=["copy", "busy"])
    p.add_argument("--texts", type=int, default=192)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--workloads", nargs="+", default=["train", "encode"])
    p.add_argument("--out", default=str(RESULTS / "contention"))
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--forever", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--env", default="passive", help=argparse.SUPPRESS)
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
        for env in args.envs:
            env_vars(env)  # an unknown name stops here, before any run
            alone = measure(args, env, w, None)
            row = {"alone": alone, "slowdown": {}}
            for c in args.competitors:
                row[c] = measure(args, env, w, c)
                row["slowdown"][c] = round(row[c]["seconds"] / alone["seconds"], 2)
            results[w][env] = row
    report = {"model": args.model, "steps": args.steps, "batch": args.batch, "texts": args.texts,
              "repeats": args.repeats, "envs": args.envs, "competitors": args.competitors,
              "cpus": os.cpu_count(), "cpu": cpu_flags(), "results": results,
              "seconds": round(time.perf_counter() - started, 1)}
    write_results(args.out, report, render(report))
    print(render(report))


if __name__ == "__main__":
    main()
