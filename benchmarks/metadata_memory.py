"""Peak RSS and load time of an index's metadata (#16 "Bounded memory"): the list of dicts `SearchIndex` used to
keep vs `seaembed.search.metadata.MetadataStore` (row offsets + filter columns, rows read on demand).

    .venv/bin/python benchmarks/metadata_memory.py [--n 1000000] [--work DIR]

Writes a synthetic `metadata.jsonl` of N rows (id, title, category, lang, price, drawn like benchmarks/scale.py's
marketplace from the packaged sample catalog; 3% of rows without a price) and its `metadata_columns.npz` as
`seaembed index` writes them, then measures each way in its own subprocess (peak = that child's VmHWM, and its
ru_maxrss recorded too; see `peak_mib`):

    baseline     the interpreter + numpy + seaembed.search.metadata imported, nothing loaded
    old          `[json.loads(line) for line in f]` and the three filter arrays SearchIndex built from it
                 (category/lang casefolded object arrays, price float64), reproduced here
    new          `MetadataStore.open` with the columns file (a new index)
    new-scan     `MetadataStore.open` without it (an index built before the file: one streaming pass)

Each child also times one category filter and reading 10 rows, and checks the filter's row count against the
others. Writes benchmarks/results/metadata_memory.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

VARIANTS = ("baseline", "old", "new", "new-scan")


def peak_mib() -> float:
    """This process image's peak RSS: VmHWM of /proc/self/status where there is one, else ru_maxrss.

    ru_maxrss alone is not enough here: Linux carries it across fork + exec, so a child's ru_maxrss never reads
    below the parent's RSS when it forked (after generating the file, ~90 MiB at 1M rows), which hid the new
    store's whole footprint in a first 1M run. VmHWM belongs to the exec'd address space only."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return ru_maxrss_mib()


def ru_maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(n: int, work: Path, seed: int = 0) -> tuple[Path, str]:
    """`work/metadata.jsonl` (+ its columns file) of `n` synthetic catalog rows, streamed; and a category to
    filter on, upper-cased (the filter matches case-insensitively)."""
    from seaembed.search.metadata import COLUMNS, ColumnsBuilder, write_row

    rows = [json.loads(line) for line in (ROOT / "seaembed/samples/catalog.jsonl").open(encoding="utf-8")]
    by_cat: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        if len(str(r["title"]).split()) >= 2:
            by_cat[r["category"]].append(r)
    cats = sorted(by_cat)
    median = {c: float(np.median([m["price"] for m in by_cat[c] if m.get("price")] or [100_000])) for c in cats}
    rnd, rng = random.Random(seed), np.random.default_rng(seed)
    sizes = ["S", "M", "L", "XL", "250ml", "500ml", "1kg", "64GB", "isi 12", "pack 3", "42"]
    path, builder = work / "metadata.jsonl", ColumnsBuilder()
    with open(path, "wb") as f:
        for i in range(n):
            c = cats[i % len(cats)] if i % 3 else rnd.choice(cats)
            a, b, d = (str(rnd.choice(by_cat[c])["title"]).split() for _ in range(3))
            src = rnd.choice(by_cat[c])
            row = {"id": f"s{i:07d}", "title": " ".join([a[0], *b[1:6], rnd.choice(d), rnd.choice(sizes)]),
                   "category": c, "lang": src.get("lang")}
            if rng.random() >= 0.03:
                row["price"] = round(median[c] * float(rng.lognormal(0, 0.5)), 0)
            write_row(f, row, builder)
    builder.finish().save(work / COLUMNS)
    return path, cats[0].upper()


# --- the children -------------------------------------------------------------------------------------------------
def child(variant: str, path: Path, category: str) -> dict:
    """Load `path` the `variant` way in this process; its load time, peak RSS and a filter/row check."""
    from seaembed.search.metadata import COLUMNS, MetadataStore

    t0 = time.perf_counter()
    if variant == "baseline":
        return {"variant": variant, "load_s": 0.0, "peak_rss_mib": round(peak_mib(), 1),
                "ru_maxrss_mib": round(ru_maxrss_mib(), 1)}
    if variant == "old":
        with open(path, encoding="utf-8") as f:
            meta = [json.loads(line) for line in f]
        category_col = np.array([str(m.get("category") or "").casefold() for m in meta], dtype=object)
        np.array([str(m.get("lang") or "").casefold() for m in meta], dtype=object)
        np.array([np.nan if m.get("price") is None else float(m["price"]) for m in meta])
        load_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        mask = np.isin(category_col, [category.casefold()])
        rows = [meta[i] for i in np.flatnonzero(mask)[:10]]
    else:
        columns = path.with_name(COLUMNS)
        if variant == "new-scan":
            columns = path.with_name("absent-" + COLUMNS)  # as an index without the file
        store = MetadataStore.open(path, columns)
        load_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        mask = store.matches("category", [category])
        rows = [store[i] for i in np.flatnonzero(mask)[:10]]
    query_ms = (time.perf_counter() - t1) * 1000
    return {"variant": variant, "load_s": round(load_s, 2), "peak_rss_mib": round(peak_mib(), 1),
            "ru_maxrss_mib": round(ru_maxrss_mib(), 1),
            "filter_and_10_rows_ms": round(query_ms, 2), "filter_rows": int(mask.sum()),
            "first_ids": [r["id"] for r in rows[:3]]}


def run_child(variant: str, path: Path, category: str) -> dict:
    load = os.getloadavg()
    proc = subprocess.run([sys.executable, __file__, "--child", variant, "--path", str(path), "--category", category],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    if proc.returncode != 0:
        raise SystemExit(f"{variant}: failed:\n{proc.stderr[-2000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out.update(loadavg_before=[round(x, 2) for x in load], loadavg_after=[round(x, 2) for x in os.getloadavg()])
    return out


def markdown(doc: dict) -> str:
    by = {r["variant"]: r for r in doc["runs"]}
    base = by["baseline"]["peak_rss_mib"]
    lines = [
        f"# Metadata memory at {doc['n']:,} rows", "",
        f"`metadata.jsonl` {doc['jsonl_mib']} MiB, `metadata_columns.npz` {doc['columns_mib']} MiB. Each way in its "
        "own subprocess; peak = the child's VmHWM (its ru_maxrss, in the JSON, carries the parent's RSS at fork "
        "as a floor). Above baseline = peak minus the interpreter with numpy and "
        f"seaembed.search.metadata imported ({base} MiB).", "",
        "| way | load s | peak RSS MiB | above baseline MiB | filter + 10 rows ms | load avg before / after |",
        "|---|---|---|---|---|---|",
    ]
    names = {"baseline": "baseline (nothing loaded)", "old": "old: list of dicts + 3 arrays",
             "new": "new: MetadataStore (columns file)", "new-scan": "new: MetadataStore (no columns file, scan)"}
    for v in VARIANTS:
        r = by[v]
        lines.append(f"| {names[v]} | {r['load_s']} | {r['peak_rss_mib']} | {round(r['peak_rss_mib'] - base, 1)} | "
                     f"{r.get('filter_and_10_rows_ms', '')} | {r['loadavg_before'][0]} / {r['loadavg_after'][0]} |")
    ratio = doc["ratios"]
    lines += ["", f"Old / new: peak RSS {ratio['peak_rss']}x, above baseline {ratio['above_baseline']}x, "
              f"load time {ratio['load_s']}x (old / new-scan above baseline {ratio['above_baseline_scan']}x). "
              f"Every way's filter on category {doc['filter_category']!r} admits {by['new']['filter_rows']:,} rows.", "",
              f"Machine: {doc['machine']['cpus']} CPUs, Python {doc['machine']['python']}, threads env "
              f"{doc['machine']['threads_env']}; the processes ran under `nice -n 19` beside other work, so the "
              "load times are upper bounds.", ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--work", type=Path, default=None, help="Directory for the synthetic file (default: a temp dir).")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/metadata_memory")
    ap.add_argument("--child", choices=VARIANTS, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--path", type=Path, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--category", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.path, args.category)))
        return
    from seaembed.atomic import write_results
    from seaembed.search.metadata import COLUMNS

    work = args.work or Path(tempfile.mkdtemp(prefix="seaembed-metadata-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        t0 = time.perf_counter()
        path, category = generate(args.n, work)
        gen_s = time.perf_counter() - t0
        runs = [run_child(v, path, category) for v in VARIANTS]
        by = {r["variant"]: r for r in runs}
        counts = {r["filter_rows"] for r in runs if "filter_rows" in r}
        if len(counts) != 1:
            raise SystemExit(f"the ways disagree on the filter: {counts}")
        base = by["baseline"]["peak_rss_mib"]
        above = {v: by[v]["peak_rss_mib"] - base for v in VARIANTS}
        doc = {"n": args.n, "generate_s": round(gen_s, 1), "filter_category": category,
               "jsonl_mib": round(path.stat().st_size / 2**20, 1),
               "columns_mib": round((work / COLUMNS).stat().st_size / 2**20, 1), "runs": runs,
               "ratios": {"peak_rss": round(by["old"]["peak_rss_mib"] / by["new"]["peak_rss_mib"], 1),
                          "above_baseline": round(above["old"] / max(above["new"], 0.1), 1),
                          "above_baseline_scan": round(above["old"] / max(above["new-scan"], 0.1), 1),
                          "load_s": round(by["old"]["load_s"] / max(by["new"]["load_s"], 0.01), 1)},
               "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                           "threads_env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}}}
        print(write_results(args.out, doc, markdown(doc)))
        print(markdown(doc))
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
