"""The merge report: a Markdown table and a PNG plot of the domain / general trade-off against t."""

from __future__ import annotations

import io
from collections.abc import Collection, Mapping, Sequence
from typing import Any


def plot_tradeoff(series: Mapping[str, Sequence[Mapping[str, Any]]], *, chosen_t: float | None = None,
                  floor: float | None = None, title: str = "Merge trade-off") -> bytes:
    """PNG bytes: domain (solid) and general (dashed) score against t, one colour per series (e.g. a method).

    Each row has `t`, `domain`, `general`. `floor` draws the general-score constraint, `chosen_t` the chosen t.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (label, rows) in enumerate(series.items()):
        rows = sorted(rows, key=lambda r: r["t"])
        ts = [r["t"] for r in rows]
        c = colours[i % len(colours)]
        ax.plot(ts, [r["domain"] for r in rows], "-o", color=c, ms=4, label=f"{label}: domain")
        ax.plot(ts, [r["general"] for r in rows], "--s", color=c, ms=4, label=f"{label}: general")
    if floor is not None:
        ax.axhline(floor, color="grey", lw=0.8, ls=":", label="general floor (base - epsilon)")
    if chosen_t is not None:
        ax.axvline(chosen_t, color="black", lw=0.8, ls="-.", label=f"chosen t = {chosen_t:g}")
    ax.set_xlabel("t  (0 = base, 1 = tuned)")
    ax.set_ylabel("mean main metric")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def tradeoff_table(rows: Sequence[Mapping[str, Any]], *, chosen_t: float | None = None,
                   floor: float | None = None, feasible: Collection[float] | None = None) -> str:
    """A Markdown table of t, domain and general score (and per-task scores), marking the chosen row.

    The "feasible" column says whether a row meets the constraint: `feasible` lists the t that do, else
    `floor` is the minimum mean general score.
    """
    tasks = sorted({name for r in rows for name in r.get("tasks", {})})
    head = "| t | domain | general | feasible |" + "".join(f" {n} |" for n in tasks)
    sep = "|---:|---:|---:|:---:|" + "---:|" * len(tasks)
    lines = [head, sep]
    for r in sorted(rows, key=lambda r: r["t"]):
        mark = " **<- chosen**" if chosen_t is not None and r["t"] == chosen_t else ""
        if feasible is not None:
            ok = "yes" if r["t"] in feasible else "no"
        else:
            ok = "" if floor is None else ("yes" if r["general"] >= floor else "no")
        cells = "".join(f" {r['tasks'][n]:.4f} |" if n in r.get("tasks", {}) else " |" for n in tasks)
        lines.append(f"| {r['t']:g}{mark} | {r['domain']:.4f} | {r['general']:.4f} | {ok} |{cells}")
    return "\n".join(lines)
