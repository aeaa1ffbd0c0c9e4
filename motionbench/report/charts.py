"""Charts of the HTML report, drawn with matplotlib's Agg canvas and returned as SVG text.

Figures are built with :class:`matplotlib.figure.Figure` directly (no pyplot), so drawing a report
never changes the backend or state of a notebook that imported pyplot.
"""

from __future__ import annotations

import io
import math
from motionbench.report.model import OVERALL_CATEGORIES, TUNING, Column, Leaderboard, Row

# Colour-blind-safe palette (Okabe-Ito), one colour per method across every chart.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")


def method_colours(lb: Leaderboard) -> dict[str, str]:
    labels = list(dict.fromkeys(r.label for r in lb.rows if r.kind != "reported"))
    return {label: PALETTE[i % len(PALETTE)] for i, label in enumerate(labels)}


def _svg(fig) -> str:  # type: ignore[no-untyped-def]
    import matplotlib

    buf = io.StringIO()
    # Text as text (smaller files) and fixed ids/metadata: the same data gives the same bytes.
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "motionbench"}):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    return buf.getvalue()


def metric_chart_svg(lb: Leaderboard, col: Column) -> str | None:
    """Bars per category (and the mean of categories) per method, with bootstrap whiskers."""
    from matplotlib.figure import Figure

    groups = [g for g in lb.groups if g != "overall (mean of samples)"]
    labels = list(dict.fromkeys(r.label for r in lb.rows if r.kind != "reported"))
    if not labels or not groups:
        return None
    colours = method_colours(lb)
    cells: dict[tuple[str, str], Row] = {(r.group, r.label): r for r in lb.rows if r.kind != "reported"}
    fig = Figure(figsize=(max(4.0, 1.1 * len(groups) * max(1, len(labels)) * 0.45 + 1.5), 2.8))
    ax = fig.add_subplot()
    width = 0.8 / len(labels)
    drawn = False
    for j, label in enumerate(labels):
        xs, ys, err_lo, err_hi = [], [], [], []
        for i, g in enumerate(groups):
            row = cells.get((g, label))
            cell = row.cells.get(col.id) if row else None
            if cell is None or cell.value is None:
                continue
            xs.append(i - 0.4 + width * (j + 0.5))
            ys.append(cell.value)
            err_lo.append(cell.value - cell.lo if cell.lo is not None else 0.0)
            err_hi.append(cell.hi - cell.value if cell.hi is not None else 0.0)
        if xs:
            drawn = True
            ax.bar(xs, ys, width=width * 0.92, color=colours[label], label=label,
                   yerr=[err_lo, err_hi], capsize=2, error_kw={"elinewidth": 0.8, "ecolor": "#333333"})
    if not drawn:
        return None
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([g.replace("overall (mean of categories)", "overall\n(mean of cat.)") for g in groups],
                       fontsize=8)
    ax.set_ylabel(f"{col.label} {col.arrow}", fontsize=8)
    ax.set_title(f"{col.id}: mean and {int(round(lb.level * 100))}% bootstrap interval", fontsize=9)
    ax.tick_params(axis="y", labelsize=7)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", linewidth=0.3, alpha=0.6)
    ax.legend(fontsize=7, frameon=False, ncols=min(4, len(labels)), loc="upper center",
              bbox_to_anchor=(0.5, -0.18))
    return _svg(fig)


def fidelity_vs_tuning_svg(lb: Leaderboard, fidelity: Column) -> str | None:
    """Overall motion fidelity (mean of categories) against tuning seconds; reported rows hollow."""
    from matplotlib.figure import Figure

    rows = [r for r in lb.rows if r.group == OVERALL_CATEGORIES]
    points = [(r, r.cells[fidelity.id], r.cells[TUNING]) for r in rows
              if r.cells.get(fidelity.id) and r.cells[fidelity.id].value is not None
              and r.cells.get(TUNING) and r.cells[TUNING].value is not None]
    if not points:
        return None
    colours = method_colours(lb)
    fig = Figure(figsize=(6.0, 3.6))
    ax = fig.add_subplot()
    xs = [t.value for _, _, t in points]
    # Neighbouring labels alternate above and below their points so that close points stay legible.
    order = sorted(range(len(points)), key=lambda i: (points[i][1].value, points[i][2].value))
    offsets = {i: (4, 4) if k % 2 == 0 else (4, -9) for k, i in enumerate(order)}
    for i, (row, f, t) in enumerate(points):
        if row.kind == "reported":
            ax.scatter([t.value], [f.value], s=28, facecolors="none", edgecolors="#777777", linewidths=1.0,
                       zorder=3)
            ax.annotate(f"{row.label} (rep.)", (t.value, f.value), fontsize=6, color="#777777",
                        xytext=offsets[i], textcoords="offset points")
            continue
        yerr = None
        if f.lo is not None and f.hi is not None:
            yerr = [[f.value - f.lo], [f.hi - f.value]]
        ax.errorbar([t.value], [f.value], yerr=yerr, fmt="o", color=colours.get(row.label, "#000000"),
                    markersize=5, capsize=2, elinewidth=0.8, zorder=4)
        ax.annotate(row.label, (t.value, f.value), fontsize=7, xytext=offsets[i], textcoords="offset points")
    # Tuning spans 0 s (training-free) to hours: symlog keeps both ends readable.
    pos = [x for x in xs if x > 0]
    if pos and (max(pos) / min(pos) > 20 or len(pos) < len(xs)):
        # Sub-second fits (training-free methods, anchors) sit in the linear part near 0.
        ax.set_xscale("symlog", linthresh=max(1.0, 10 ** math.floor(math.log10(min(pos)))))
    ax.set_xlabel("tuning time per reference (s)", fontsize=8)
    ax.set_ylabel(f"{fidelity.label} {fidelity.arrow}", fontsize=8)
    ax.set_title(f"{fidelity.id} (overall, mean of categories) vs tuning time", fontsize=9)
    ax.tick_params(labelsize=7)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(linewidth=0.3, alpha=0.6)
    return _svg(fig)

