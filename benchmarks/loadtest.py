"""Load test: 10,000 embedding requests at concurrency 32 against a real server on 127.0.0.1; counts errors and
checks that memory is stable (server RSS after the last request vs after the first 1,000).

    .venv/bin/python benchmarks/loadtest.py [--model DIR_OR_SOURCE] [--requests 10000] [--concurrency 32]

Defaults to the int8 export cached by benchmarks/serve.py when present, else the tiny test model. Bounded (stops
after --requests) and loopback only. Writes benchmarks/results/loadtest.json and loadtest.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from seaembed.atomic import write_results  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"


def default_model() -> str:
    home = Path(os.environ.get("SEAEMBED_HOME", Path.home() / ".cache" / "seaembed"))
    cached = home / "bench" / "packaged_multilingual-e5-small-onnx-int8"
    if (cached / "seaembed_export.json").is_file():
        return str(cached)
    from seaembed.testing import build_tiny_model

    return str(build_tiny_model(Path(tempfile.mkdtemp()) / "tiny"))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default=None)
    p.add_argument("--requests", type=int, default=10_000)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--texts-per-request", type=int, default=1)
    p.add_argument("--out", default=str(RESULTS / "loadtest"))
    args = p.parse_args()

    from seaembed.samples import sample_path
    from seaembed.serve.loadgen import rss_bytes, run_load, start_server, stop_server
    from seaembed.serve.server import free_port

    model = args.model or default_model()
    titles = [json.loads(x)["title"] for x in sample_path("catalog.jsonl").read_text(encoding="utf-8").splitlines()]
    payloads = [{"input": [titles[(i * args.texts_per_request + j) % len(titles)]
                           for j in range(args.texts_per_request)], "model": "load"} for i in range(args.requests)]
    port = free_port()
    started = time.perf_counter()
    log_path = Path(tempfile.mkdtemp()) / "server.log"
    proc = start_server(["--model", model], port, log_path=str(log_path))
    rss: dict[int, int] = {0: rss_bytes(proc.pid)}
    marks = {1_000, args.requests // 4, args.requests // 2, 3 * args.requests // 4, args.requests}

    def on_done(n: int) -> None:
        if n in marks:
            rss[n] = rss_bytes(proc.pid)
            print(f"{n} requests, server RSS {rss[n] / 2**20:.1f} MiB", flush=True)

    try:
        result = asyncio.run(run_load(f"http://127.0.0.1:{port}", payloads, args.concurrency, on_done=on_done))
    finally:
        code = stop_server(proc)
    # uvicorn re-raises SIGTERM after its graceful shutdown, so the exit code is -15; the log shows the drain
    graceful = "Application shutdown complete" in log_path.read_text(encoding="utf-8", errors="replace")
    first = rss.get(1_000, rss[0])
    last = rss.get(args.requests, first)
    growth = (last - first) / first
    summary = result.summary()
    report = {"model": model, "requests": args.requests, "concurrency": args.concurrency,
              "texts_per_request": args.texts_per_request, **summary,
              "rss_mib": {str(k): round(v / 2**20, 1) for k, v in sorted(rss.items())},
              "rss_growth_first_1000_to_last": round(growth, 4),
              "zero_errors": summary["errors"] == 0, "rss_growth_under_10pct": growth < 0.10,
              "server_exit_code_after_sigterm": code, "graceful_shutdown_logged": graceful, "load_average_after": [round(x, 1) for x in os.getloadavg()],
              "seconds_total": round(time.perf_counter() - started, 1)}
    md = ["# Load test", "",
          f"{args.requests} POST /v1/embeddings requests ({args.texts_per_request} product title each) at concurrency "
          f"{args.concurrency} on 127.0.0.1 against `seaembed serve --model {model}`.", "",
          "| measure | value |", "|---|---|",
          f"| errors | {summary['errors']} |",
          f"| requests/s | {summary['requests_per_s']} |",
          f"| tokens/s | {summary['tokens_per_s']} |",
          f"| p50 / p99 latency | {summary['p50_ms']} / {summary['p99_ms']} ms |",
          f"| server RSS at 1,000 requests | {rss.get(1_000, 0) / 2**20:.1f} MiB |",
          f"| server RSS at the last request | {last / 2**20:.1f} MiB |",
          f"| RSS growth | {growth:+.2%} (target < 10%) |",
          f"| SIGTERM: graceful shutdown logged | {graceful} (exit code {code}: uvicorn re-raises the signal) |", "",
          f"RSS along the run (MiB): {report['rss_mib']}. Load average after: {report['load_average_after']}.", ""]
    write_results(args.out, report, "\n".join(md))
    print("\n".join(md))
    if summary["errors"]:
        print("error samples:", summary["error_samples"])


if __name__ == "__main__":
    main()
