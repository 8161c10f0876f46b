"""Plots for the HTML report (matplotlib, Agg backend), returned as PNG bytes to embed in the page."""

from __future__ import annotations

import io
from typing import Any

import numpy as np

COLORS = ["#1f6feb", "#d97706", "#16a34a", "#9333ea", "#dc2626", "#0891b2"]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    _plt().close(fig)
    return buf.getvalue()


def systems(results: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(name, {"tasks": ...}) of the model and then each baseline."""
    return [(results["model"], results)] + list(results.get("baselines", {}).items())


def per_lang_bars(results: dict[str, Any], task: str) -> bytes | None:
    """Grouped bars of the main metric: x = 'all' and each language, one bar per system."""
    entry = results["tasks"][task]
    metric = entry["main_metric"]
    langs = ["all"] + list(entry.get("per_lang", {}))
    rows = []
    for name, sys_res in systems(results):
        e = sys_res["tasks"].get(task, {})
        if e.get("skipped") or not e.get("metrics"):
            continue
        vals = [e["metrics"].get(metric)] + [e.get("per_lang", {}).get(lang, {}).get(metric) for lang in langs[1:]]
        rows.append((name, [np.nan if v is None else v for v in vals]))
    if not rows:
        return None
    plt = _plt()
    width = 0.8 / len(rows)
    # one fixed size, so that every chart reads the same in the report's two-column grid
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    x = np.arange(len(langs))
    for i, (name, vals) in enumerate(rows):
        bars = ax.bar(x + (i - (len(rows) - 1) / 2) * width, vals, width, label=name, color=COLORS[i % len(COLORS)])
        if len(langs) * len(rows) <= 12:
            ax.bar_label(bars, fmt="%.2f", fontsize=8, padding=1)
    many = len(langs) > 12
    ax.set_xticks(x, langs, rotation=45 if many else 0, ha="right" if many else "center")
    ax.set_ylabel(metric)
    ax.set_ylim(0, 1.05)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2 if many else -0.1), ncol=min(3, len(rows)),
              frameon=False)
    return _png(fig)


def delta_plot(results: dict[str, Any]) -> bytes | None:
    """Horizontal bars: model minus each baseline on the main metric, per task and per language."""
    baselines = list(results.get("baselines", {}).items())
    labels: list[str] = []
    deltas: dict[str, list[float]] = {name: [] for name, _ in baselines}
    for task, entry in results["tasks"].items():
        metric = entry["main_metric"]
        keys = [("all", entry["metrics"])] + list(entry.get("per_lang", {}).items())
        for lang, m in keys:
            labels.append(f"{task} / {lang}")
            for name, base in baselines:
                b = base["tasks"].get(task, {})
                ref = b.get("metrics", {}) if lang == "all" else b.get("per_lang", {}).get(lang, {})
                ours = m.get(metric)
                deltas[name].append(np.nan if ours is None or ref.get(metric) is None else ours - ref[metric])
    usable = {n: np.asarray(v, dtype=float) for n, v in deltas.items() if not np.all(np.isnan(v))}
    if not labels or not usable:
        return None
    keep = ~np.all(np.isnan(np.stack(list(usable.values()))), axis=0)  # rows no baseline could score
    labels = [lab for lab, k in zip(labels, keep, strict=True) if k]
    usable = {n: v[keep] for n, v in usable.items()}
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, max(2.5, 0.22 * len(labels) * len(usable) + 1)))
    y = np.arange(len(labels))
    h = 0.8 / len(usable)
    for i, (name, vals) in enumerate(usable.items()):
        ax.barh(y + (i - (len(usable) - 1) / 2) * h, vals, h, label=f"model − {name}",
                color=COLORS[(i + 1) % len(COLORS)])
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(y, labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("difference in the main metric (positive: the model is better)")
    ax.set_title(f"{results['model']} against the baselines")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return _png(fig)
