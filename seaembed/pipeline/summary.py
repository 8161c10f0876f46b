"""The closing summary of `seaembed run`: where everything is, the headline numbers, how to serve the result."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def headline(results_path: str | Path) -> list[str]:
    """One line per task: the final model's main metric against each baseline's."""
    results = json.loads(Path(results_path).read_text(encoding="utf-8"))
    baselines = results.get("baselines", {})
    lines = []
    for name, entry in results.get("tasks", {}).items():
        metric = entry.get("main_metric")
        value = entry.get("metrics", {}).get(metric)
        others = []
        for bname, b in baselines.items():
            bval = b.get("tasks", {}).get(name, {}).get("metrics", {}).get(metric)
            if bval is not None:
                others.append(f"{bname} {bval:.3f}")
        shown = f"{value:.3f}" if isinstance(value, int | float) else "n/a"
        lines.append(f"  {name:32s} {metric:12s} final {shown}" + (f"  ({', '.join(others)})" if others else ""))
    return lines


def showcase(model_dir: str | Path, index_dir: str | Path, queries: list[str], k: int = 5) -> list[str]:
    """Search the built index with each query (dense, query prompt) and format the top hits with their language."""
    from seaembed.models import load_model
    from seaembed.models.encode import encode
    from seaembed.search.search_index import SearchIndex

    index = SearchIndex.load(index_dir)
    vectors = encode(load_model(str(model_dir)), queries, prompt="query")
    lines = []
    for query, vec in zip(queries, vectors, strict=True):
        lines.append(f"  {query!r}")
        for hit in index.search(vec, query, k=k, mode="dense"):
            lines.append(f"    {hit['score']:.3f} [{hit.get('lang') or '?'}] {str(hit.get('title', hit.get('id')))[:90]}")
    return lines


def summarise(manifest: dict[str, Any], out: str | Path) -> str:
    """Human summary of a finished run."""
    out = Path(out)
    rows = [f"seaembed run finished: {out / 'run.json'}", ""]
    for key in ("train_data", "data_report", "tuned_model", "merged_model", "merge_report", "final_model",
                "eval_report", "export_onnx_int8", "export_onnx", "index", "relevance_model", "relevance_report",
                "relevance_export"):
        if manifest.get(key):
            rows.append(f"  {key:18s} {manifest[key]}")
    stages = manifest.get("stages") or {}
    if stages:
        rows += ["", "Stages (seconds, peak RSS of the stage):"]
        for name, st in stages.items():
            if st.get("skipped"):
                rows.append(f"  {name:18s} unchanged, skipped")
            else:
                rss = st.get("peak_rss_mib")
                rows.append(f"  {name:18s} {st.get('seconds', 0):7.0f} s" + (f"  {rss:8,.0f} MiB" if rss else ""))
    total = sum(st.get("seconds", 0) for st in stages.values() if not st.get("skipped"))
    if total:
        import os

        threads = os.environ.get("OMP_NUM_THREADS") or "default"
        rows.append(f"  {'wall time':18s} {total / 60:7.1f} min for the stages run now, on {os.cpu_count()} CPU "
                    f"core(s) (OMP_NUM_THREADS={threads})")
    if manifest.get("eval_results") and Path(manifest["eval_results"]).exists():
        rows += ["", "Dev tasks (main metric; report half, settings chosen on the select half):"]
        rows += headline(manifest["eval_results"])
    for choice in manifest.get("choices") or []:
        rows.append(f"  chose {choice['choice']} = {choice.get('chosen')} on {len(choice['select_tasks'])} select "
                    f"half/halves (seed {choice.get('seed', 0)})")
    check = (stages.get("index") or {}).get("report_half")
    if check:
        rows.append(f"  hybrid search at the chosen weight, report halves of {len(check['tasks'])} task(s): nDCG@10 "
                    f"hybrid {check['hybrid']:.3f}, dense {check['dense']:.3f}, BM25 {check['bm25']:.3f}")
    rel = manifest.get("relevance")
    if rel:
        rows += ["", f"Relevance ({rel['task']}; positive-class F1 and AP in %, report half of {rel['rows']['report']} "
                     f"pairs, each group's threshold chosen on the select half of {rel['rows']['select']}):"]
        rows += ["  " + line for line in rel["table"].splitlines()]
    if manifest.get("guard_overlap"):
        rows.append("  warning: general guard task(s) share a source with training: "
                    + ", ".join(o["task"] for o in manifest["guard_overlap"]))
    if manifest.get("showcase"):
        rows += ["", "Search the index (dense):"] + manifest["showcase"]
    rows += ["", "Serve it (then open the search page at the printed address):", f"  {manifest.get('serve_command')}", ""]
    return "\n".join(rows)
