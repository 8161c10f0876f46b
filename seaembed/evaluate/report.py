"""Render results as a Markdown table and a self-contained HTML report (plots embedded as PNG data URIs)."""

from __future__ import annotations

import base64
import html
from typing import Any

from seaembed.evaluate.plots import delta_plot, per_lang_bars, systems


def fmt(value: Any) -> str:
    """A score as ×100 with one decimal; '–' for missing."""
    if value is None or (isinstance(value, float) and value != value):
        return "–"
    return f"{100 * value:.1f}"


def _score(sys_res: dict[str, Any], task: str, lang: str | None = None) -> Any:
    e = sys_res["tasks"].get(task, {})
    if e.get("skipped"):
        return None
    m = e.get("metrics", {}) if lang is None else e.get("per_lang", {}).get(lang, {})
    return m.get(e.get("main_metric"))


def _main_cell(sys_res: dict[str, Any], task: str) -> str:
    """The main score, marked `(= floor)` when a pair-classification F1 comes from labelling every pair relevant."""
    cell = fmt(_score(sys_res, task))
    e = sys_res["tasks"].get(task, {})
    if e.get("main_metric") == "f1" and e.get("metrics", {}).get("all_positive"):
        cell += " (= floor)"
    return cell


def summary_rows(results: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the main table: task, type, main metric, one column per system."""
    names = [n for n, _ in systems(results)]
    rows = []
    for task, entry in results["tasks"].items():
        rows.append([task, entry["type"], entry["main_metric"]] + [_main_cell(s, task) for _, s in systems(results)])
    return ["task", "type", "metric"] + names, rows


def lang_rows(results: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the per-language table (main metric)."""
    names = [n for n, _ in systems(results)]
    rows = []
    for task, entry in results["tasks"].items():
        for lang in entry.get("per_lang", {}):
            rows.append([task, lang] + [fmt(_score(s, task, lang)) for _, s in systems(results)])
    return ["task", "lang"] + names, rows


FLOOR_NOTE = "= floor: every pair predicted relevant"


def pair_rows(results: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the pair-classification table: per task, group ('all', then each language) and system,
    the F1, the F1 of predicting every pair relevant (`f1_floor`, 2p/(1+p)) and the average precision; the note
    says `= floor` when the system's threshold labels every pair relevant (its F1 is then the floor itself)."""
    rows = []
    for task, entry in results["tasks"].items():
        if entry["type"] != "pair-classification":
            continue
        groups = [None] + list(entry.get("per_lang", {}))
        for lang in groups:
            for name, sys_res in systems(results):
                e = sys_res["tasks"].get(task, {})
                if e.get("skipped"):
                    continue
                m = e.get("metrics", {}) if lang is None else e.get("per_lang", {}).get(lang, {})
                if not m:
                    continue
                note = FLOOR_NOTE if m.get("all_positive") else ""
                rows.append([task, lang or "all", name, fmt(m.get("f1")), fmt(m.get("f1_floor")), fmt(m.get("ap")),
                             note])
    return ["task", "lang", "system", "F1", "all-positive floor F1", "AP", "note"], rows


def relevance_note(rel: dict[str, Any]) -> str:
    """What the relevance table (`results["relevance"]`, added by `seaembed run`'s relevance-eval) measures."""
    rows = rel.get("rows") or {}
    return (f"Positive-class F1 and AP (x100) of the relevance cross-encoder beside the bi-encoder cosine on the report "
            f"half of {rel.get('task', '?')} ({rows.get('report', '?')} pairs); each group's threshold chosen on the "
            f"select half ({rows.get('select', '?')} pairs), split seed {rel.get('split_seed', 0)}. QC: query-category, "
            "QI: query-item, TC: title-category; mean F1 = (QC + QI) / 2; the floor labels every pair relevant.")


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def half_note(results: dict[str, Any]) -> str:
    """A sentence naming the half the scores are (the report half: settings chosen on the select one), or ""."""
    halves = results.get("halves") or {}
    if not halves.get("half"):
        return ""
    return f" Scores are the {halves['note'] or halves['half'] + ' half'} (split seed {halves.get('seed', 0)})."


def render_markdown(results: dict[str, Any]) -> str:
    """results.md: main table, per-language table, every metric of the model, and skipped tasks."""
    parts = [f"# Evaluation of `{results['model']}`", "",
             "Scores ×100. Main metric of each task; baselines in the same run." + half_note(results), "",
             _md_table(*summary_rows(results)), ""]
    header, rows = lang_rows(results)
    if rows:
        parts += ["## Per language (main metric)", "", _md_table(header, rows), ""]
    header, rows = pair_rows(results)
    if rows:
        parts += ["## Pair classification: F1 beside its floor and AP", "",
                  "Floor = the F1 of predicting every pair relevant, 2p/(1+p) for a positive rate p; AP (average "
                  "precision) needs no threshold.", "", _md_table(header, rows), ""]
    rel = results.get("relevance")
    if rel:
        from seaembed.evaluate.relevance import table_rows

        parts += [f"## Relevance: cross-encoder vs bi-encoder cosine ({rel.get('task', '?')})", "",
                  relevance_note(rel), "", _md_table(*table_rows(rel["systems"])), ""]
    parts += ["## All metrics of the model", ""]
    for task, entry in results["tasks"].items():
        metrics = {k: v for k, v in entry["metrics"].items()
                   if isinstance(v, float) and k not in ("threshold", "n", "n_queries", "n_lang_pairs")}
        extra = ""
        if "threshold_source" in entry["metrics"]:
            extra = (f" (threshold {entry['metrics']['threshold']:.4f} chosen on "
                     f"{entry['metrics']['threshold_source']})")
        parts.append(f"- **{task}**{extra}: " + ", ".join(f"{k} {fmt(v)}" for k, v in metrics.items()))
    skipped = [(n, t, e["skipped"]) for n, s in systems(results) for t, e in s["tasks"].items() if e.get("skipped")]
    if skipped:
        parts += ["", "## Skipped", ""] + [f"- {n} on {t}: {why}" for n, t, why in skipped]
    return "\n".join(parts) + "\n"


def _num(cell: str) -> float:
    """The score of a table cell ('66.7' or '66.7 (= floor)')."""
    return float(cell.split()[0])


def _html_table(header: list[str], rows: list[list[str]], first_score_col: int) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = []
    for r in rows:
        scores = [_num(c) for c in r[first_score_col:] if c != "–"]
        best = max(scores) if len(scores) > 1 else None
        cells = []
        for i, c in enumerate(r):
            cls = ""
            if i >= first_score_col:
                cls = " class='num best'" if c != "–" and best is not None and _num(c) == best else " class='num'"
            cells.append(f"<td{cls}>{html.escape(c)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _img(png: bytes | None, alt: str) -> str:
    if not png:
        return ""
    return f"<img alt='{html.escape(alt)}' src='data:image/png;base64,{base64.b64encode(png).decode()}'>"


CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans','Noto Sans Thai',sans-serif;margin:2rem auto;
max-width:1100px;color:#1f2328;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem} h2{margin-top:2rem;border-bottom:1px solid #d0d7de;padding-bottom:.3rem}
.sub{color:#57606a} table{border-collapse:collapse;margin:.8rem 0;font-size:.92rem}
th,td{border:1px solid #d0d7de;padding:.3rem .6rem;text-align:left} th{background:#f6f8fa}
td.num{text-align:right;font-variant-numeric:tabular-nums} td.best{font-weight:700;background:#dafbe1}
img{max-width:100%;margin:.5rem 0} .grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(480px,1fr));
gap:0 1.5rem} .grid h3{font-size:1rem;margin:.8rem 0 0} .note{color:#57606a;font-size:.88rem} code{background:#f6f8fa;padding:0 .2rem}
"""


def render_html(results: dict[str, Any]) -> str:
    """report.html: a self-contained page (no external files or scripts)."""
    names = [n for n, _ in systems(results)]
    esc = html.escape
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>seaembed eval: "
             f"{esc(results['model'])}</title><style>{CSS}</style></head><body>",
             f"<h1>Evaluation of <code>{esc(results['model'])}</code></h1>",
             f"<p class='sub'>Baselines: {esc(', '.join(names[1:]) or 'none')} · {len(results['tasks'])} tasks · "
             f"{esc(results.get('created', ''))} · scores ×100, best per row in bold{esc(half_note(results))}</p>",
             "<h2>Main metric per task</h2>", _html_table(*summary_rows(results), first_score_col=3)]
    delta = delta_plot(results)
    if delta:
        parts += ["<h2>Model minus baselines</h2>", _img(delta, "delta plot")]
    parts.append("<h2>Per task and language</h2><div class='grid'>")
    for task, entry in results["tasks"].items():
        parts.append("<div>")
        parts.append(f"<h3>{esc(task)} <span class='note'>({esc(entry['type'])}, {esc(entry['main_metric'])}; "
                     f"{esc(', '.join(f'{k} {v}' for k, v in entry.get('size', {}).items()))})</span></h3>")
        parts.append(_img(per_lang_bars(results, task), f"{task} per language"))
        m = entry["metrics"]
        if m.get("threshold_source") == "test":
            parts.append("<p class='note'>No dev split: the threshold is the best one on test (optimistic).</p>")
        parts.append("</div>")
    parts.append("</div>")
    header, rows = lang_rows(results)
    if rows:
        parts += ["<h2>Per-language table</h2>", _html_table(header, rows, first_score_col=2)]
    header, rows = pair_rows(results)
    if rows:
        parts += ["<h2>Pair classification: F1 beside its floor and AP</h2>",
                  "<p class='note'>Floor = the F1 of predicting every pair relevant, 2p/(1+p) for a positive rate p; "
                  "AP (average precision) needs no threshold.</p>", _html_table(header, rows, first_score_col=len(header))]
    rel = results.get("relevance")
    if rel:
        from seaembed.evaluate.relevance import table_rows

        header, rows = table_rows(rel["systems"])
        parts += [f"<h2>Relevance: cross-encoder vs bi-encoder cosine ({esc(str(rel.get('task', '?')))})</h2>",
                  f"<p class='note'>{esc(relevance_note(rel))}</p>",
                  _html_table(header, rows, first_score_col=len(header))]
    skipped = [(n, t, e["skipped"]) for n, s in systems(results) for t, e in s["tasks"].items() if e.get("skipped")]
    if skipped:
        parts.append("<h2>Skipped</h2><ul>" + "".join(f"<li>{esc(n)} on {esc(t)}: {esc(w)}</li>"
                                                      for n, t, w in skipped) + "</ul>")
    parts.append("</body></html>")
    return "\n".join(parts)
