"""The data report (JSON + Markdown): counts per task, language and source; dropped rows per reason (malformed rows
with their file:line) and per language x reason; duplicates; length distributions; hard-negative mining numbers."""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from seaembed.atomic import write_json, write_text
from seaembed.augment.records import DropLog
from seaembed.data.schema import TrainingExample

BUCKETS = (0, 10, 20, 40, 80, 160, 320, 640, 1280)


def length_stats(lengths: Sequence[int] | np.ndarray) -> dict[str, Any]:
    """count, min, p10, p50, p90, max, mean and a histogram (chars) of a list of lengths."""
    if len(lengths) == 0:
        return {"count": 0}
    a = np.asarray(lengths)
    edges = list(BUCKETS) + [max(int(a.max()) + 1, BUCKETS[-1] + 1)]
    hist, _ = np.histogram(a, bins=edges)
    return {"count": int(a.size), "min": int(a.min()), "p10": float(np.percentile(a, 10)),
            "p50": float(np.percentile(a, 50)), "p90": float(np.percentile(a, 90)), "max": int(a.max()),
            "mean": round(float(a.mean()), 1),
            "histogram": {f"{lo}-{hi - 1}": int(n) for lo, hi, n in zip(edges[:-1], edges[1:], hist, strict=True)}}


class _Tally:
    """What the report counts, gathered in one pass over the examples (a file's rows are never all held): counters,
    and the query/positive lengths as compact integer arrays per task."""

    def __init__(self) -> None:
        self.by: dict[str, Counter[str]] = {k: Counter() for k in ("task", "lang", "source", "task_lang")}
        self.n = self.with_negatives = self.negatives = self.down_weighted = 0
        self.query: dict[str, array] = {}  # task -> lengths, in the order tasks first occur
        self.positive: dict[str, array] = {}

    def add(self, ex: TrainingExample) -> None:
        lang = ex.lang or "und"
        self.by["task"][ex.task] += 1
        self.by["lang"][lang] += 1
        self.by["source"][ex.source or "?"] += 1
        self.by["task_lang"][f"{ex.task} / {lang}"] += 1
        self.n += 1
        self.with_negatives += bool(ex.negatives)
        self.negatives += len(ex.negatives)
        self.down_weighted += ex.weight < 1.0
        self.query.setdefault(ex.task, array("l")).append(len(ex.query))
        self.positive.setdefault(ex.task, array("l")).append(len(ex.positive))

    @staticmethod
    def joined(per_task: dict[str, array]) -> np.ndarray:
        parts = [np.frombuffer(a, dtype=a.typecode) for a in per_task.values() if len(a)]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def build_report(examples: Iterable[TrainingExample], drops: DropLog, *, extra: dict[str, Any] | None = None) -> dict:
    """The report as a JSON-able dict; `examples` is read once (a generator over a file is fine)."""
    t = _Tally()
    for ex in examples:
        t.add(ex)
    counts = drops.counts()
    malformed = [d for d in drops.drops if d.reason == "malformed row"]
    return {
        "examples": t.n,
        "counts": {k: dict(v.most_common()) for k, v in t.by.items()},
        "with_negatives": t.with_negatives,
        "negatives_per_example": round(t.negatives / t.n, 2) if t.n else 0,
        "down_weighted": t.down_weighted,
        "dropped": {"total": len(drops), "per_reason": dict(sorted(counts.items(), key=lambda kv: -kv[1])),
                    "per_lang_reason": drops.counts_per_lang()},
        "duplicates": sum(n for k, n in counts.items() if k.endswith(": duplicate")),
        "malformed_rows": [{"where": d.where, "detail": d.detail} for d in malformed],
        "lengths": {"query": length_stats(t.joined(t.query)), "positive": length_stats(t.joined(t.positive))},
        "lengths_per_task": {task: {"query_p50": length_stats(t.query[task])["p50"],
                                    "positive_p50": length_stats(t.positive[task])["p50"]} for task in t.query},
        "drops": drops.to_json(),
        **(extra or {}),
    }


def _table(counter: dict[str, int], head: str) -> list[str]:
    lines = [f"| {head} | rows |", "|---|---:|"]
    lines += [f"| {k} | {v:,} |" for k, v in counter.items()]
    return lines


def hard_negatives_line(hn: dict) -> str:
    """"hard negatives: N mined, M known positives of the same query excluded, false-negative rate X%" (and the
    rate the same-query rule prevented, when the stats have it)."""
    mined = sum(hn.get("mined", {}).values())
    excluded = sum(hn.get("known_positives_excluded", {}).values())
    line = (f"hard negatives: {mined:,} mined, {excluded:,} known positives of the same query excluded, "
            f"false-negative rate {100 * hn.get('false_negative_rate', 0.0):.1f}%")
    if "false_negative_rate_without_same_query_rule" in hn:
        line += (f" (without the same-query rule: "
                 f"{100 * hn['false_negative_rate_without_same_query_rule']:.1f}% of "
                 f"{sum(hn.get('mined_without_same_query_rule', {}).values()):,})")
    return line


def mining_search_cell(how: dict | None) -> str:
    """How a task's neighbour search ran: "exact", or "IVF-PQ nprobe P x R, recall@k X on Q queries (target T)"."""
    if not how:
        return "-"
    if how.get("index") != "ivfpq":
        return f"exact over {how.get('n', 0):,}"
    missed = "" if how["recall"] >= how["target"] else ", target MISSED"
    return (f"IVF-PQ over {how['n']:,}: nprobe {how['nprobe']} x{how['refine']} re-ranked, recall@{how['k']} "
            f"{how['recall']:.3f} on {how['cal_queries']} queries (target {how['target']}{missed})")


def render_markdown(report: dict, *, max_listed: int = 50) -> str:
    """A readable Markdown version of the report."""
    lines = ["# Training-data report", "", f"**{report['examples']:,} examples**, "
             f"{report['with_negatives']:,} with hard negatives ({report['negatives_per_example']} per example), "
             f"{report['down_weighted']:,} down-weighted; {report['dropped']['total']:,} rows dropped, "
             f"of which {report['duplicates']:,} duplicates.", ""]
    for key, head in (("task", "task"), ("lang", "language"), ("source", "source"), ("task_lang", "task / language")):
        lines += [f"## Per {head}", ""] + _table(report["counts"][key], head) + [""]
    lines += ["## Dropped rows per reason", ""] + _table(report["dropped"]["per_reason"], "stage: reason") + [""]
    lines += ["## Dropped rows per language and reason", "", "| language | stage: reason | rows |", "|---|---|---:|"]
    lines += [f"| {lang} | {reason} | {n:,} |" for lang, reasons in report["dropped"].get("per_lang_reason", {}).items()
              for reason, n in reasons.items()]
    lines.append("")
    malformed = report["malformed_rows"]
    lines += [f"## Malformed rows ({len(malformed)})", ""]
    lines += [f"- `{m['where']}`: {m['detail']}" for m in malformed[:max_listed]]
    if len(malformed) > max_listed:
        lines.append(f"- ... and {len(malformed) - max_listed} more (all in report.json)")
    flagged = [d for d in report["drops"] if d["stage"].startswith("self-validation")]
    lines += ["", f"## Self-validation ({len(flagged)} rows flagged)", ""]
    lines += [f"- {d['stage']}: {d['reason']} ({d['detail']}) `{d['where']}`: {d['preview']}" for d in flagged[:max_listed]]
    lines += ["", "## Lengths (characters)", "", "| field | count | min | p10 | p50 | p90 | max | mean |",
              "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, s in report["lengths"].items():
        if s.get("count"):
            lines.append(f"| {name} | {s['count']:,} | {s['min']} | {s['p10']:.0f} | {s['p50']:.0f} | "
                         f"{s['p90']:.0f} | {s['max']} | {s['mean']} |")
    for name, s in report["lengths"].items():
        if s.get("count"):
            lines += ["", f"{name} length histogram: " + ", ".join(f"{k}: {v}" for k, v in s["histogram"].items() if v)]
    if "hard_negatives" in report:
        hn = report["hard_negatives"]
        lines += ["", "## Hard-negative mining", ""]
        if hn.get("mined") is not None:
            lines += [hard_negatives_line(hn), ""]
        lines += ["| task | candidates | mined | excluded | short rows | search |", "|---|---:|---:|---|---:|---|"]
        for task, n in hn.get("candidates", {}).items():
            excl = ", ".join(f"{k} {v}" for k, v in hn.get("excluded", {}).get(task, {}).items()) or "-"
            lines.append(f"| {task} | {n:,} | {hn['mined'].get(task, 0):,} | {excl} | "
                         f"{hn['rows_short_of_negatives'].get(task, 0):,} | "
                         f"{mining_search_cell(hn.get('search', {}).get(task))} |")
    if "stages" in report:
        lines += ["", "## Stages", "", "| stage | seconds | resumed | not run |", "|---|---:|---|---|"]
        lines += [f"| {k} | {v.get('seconds', '')} | {v.get('skipped', False)} | {v.get('not_run') or ''} |"
                  for k, v in report["stages"].items()]
    return "\n".join(lines) + "\n"


def dropped_line(drops: DropLog) -> str:
    """One console line of the dropped rows by reason, most first: "dropped 12 rows: read: malformed row 7, ..."."""
    counts = sorted(drops.counts().items(), key=lambda kv: (-kv[1], kv[0]))
    if not counts:
        return "dropped 0 rows"
    return f"dropped {len(drops):,} rows: " + ", ".join(f"{k} {v:,}" for k, v in counts)


def malformed_rate(drops: DropLog, rows_read: dict[str, int]) -> tuple[float, int, int]:
    """(rate, malformed, total) of the source rows the read stage rejected: malformed / (read + malformed)."""
    bad = sum(1 for d in drops.drops if d.stage == "read" and d.reason == "malformed row")
    total = bad + sum(rows_read.values())
    return (bad / total if total else 0.0), bad, total


def write_report(report: dict, out_dir: str | Path) -> tuple[Path, Path]:
    """Write `report.json` and `report.md` (atomically) into `out_dir`."""
    out_dir = Path(out_dir)
    return write_json(out_dir / "report.json", report), write_text(out_dir / "report.md", render_markdown(report))
