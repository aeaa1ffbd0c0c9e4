"""Text renderers of a leaderboard: Markdown, CSV, LaTeX (booktabs) and JSON.

All of them print the same cells: mean, bootstrap interval, a sample count where it differs from
the row's, marks for mixed backends and reported rows, and the footer (conventions, backends,
skipped scores, run provenance) under the table.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from typing import Any

from motionbench.report.model import MARK_MIXED, MARK_REPORTED, MARK_TIED, Cell, Column, Leaderboard, Row

FORMATS = ("table", "md", "csv", "latex", "json", "html")


@dataclass(frozen=True)
class CellText:
    """A cell split into parts, so each format can style them (bold value, small interval)."""

    value: str
    interval: str  # "[lo, hi]" or ""
    suffix: str  # "(n=1)" and marks, or ""
    best: bool
    missing: bool


def fmt(value: float | None, decimals: int) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:.{decimals}f}"


def cell_text(row: Row, col: Column, cell: Cell) -> CellText:
    if cell.value is None:
        missing = "failed" if cell.missing == "failed" else "skipped" if cell.missing else "—"
        return CellText(missing, "", "", False, True)
    interval = f"[{fmt(cell.lo, col.decimals)}, {fmt(cell.hi, col.decimals)}]" if cell.lo is not None else ""
    bits = []
    if row.kind != "reported" and cell.n < row.n:
        bits.append(f"(n={cell.n})")
    if cell.mixed:
        bits.append(MARK_MIXED)
    if cell.tied_with_best:
        bits.append(MARK_TIED)
    return CellText(fmt(cell.value, col.decimals), interval, " ".join(bits), cell.best, False)


def row_label(row: Row) -> str:
    if row.kind == "reported":
        return f"{row.label} {MARK_REPORTED}"
    if row.kind == "anchor":
        return f"{row.label} (anchor)"
    return row.label


def row_n(row: Row) -> str:
    return "—" if row.kind == "reported" else str(row.n)


def header(col: Column) -> str:
    return f"{col.label} {col.arrow}"


# ----------------------------------------------------------------------------------------- Markdown
def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def to_markdown(lb: Leaderboard) -> str:
    out: list[str] = []
    for group in lb.groups:
        rows = lb.rows_in(group)
        if not rows:
            continue
        out.append(f"### {group}\n")
        out.append("| Method | n | " + " | ".join(_md_escape(header(c)) for c in lb.columns) + " |")
        out.append("|---|--:|" + "|".join("--:" for _ in lb.columns) + "|")
        for row in rows:
            cells = []
            for col in lb.columns:
                t = cell_text(row, col, row.cells[col.id])
                value = f"**{t.value}**" if t.best else t.value
                cells.append(" ".join(x for x in (value, t.interval, t.suffix) if x))
            out.append(f"| {_md_escape(row_label(row))} | {row_n(row)} | " + " | ".join(_md_escape(c) for c in cells) + " |")
        out.append("")
    out.append("Notes:\n")
    out.extend(f"- {_md_escape(line.strip())}" if not line.startswith("  ") else f"  - {_md_escape(line.strip())}"
               for line in lb.footer_lines())
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------------- CSV
def to_csv(lb: Leaderboard) -> str:
    """One line per (group, row); every cell as value, lo, hi, n, skipped, rank, best, mixed; footer as # lines.

    Read it back with ``pandas.read_csv(path, comment="#")``.
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    fields = ("", ".lo", ".hi", ".n", ".skipped", ".rank", ".best", ".mixed", ".p_vs_best")
    writer.writerow(["group", "method", "label", "run", "kind", "n"]
                    + [f"{c.id}{f}" for c in lb.columns for f in fields])

    def num(v: float | None) -> str:
        return "" if v is None else repr(round(v, 10))

    for row in lb.rows:
        line: list[Any] = [row.group, row.method, row.label, row.run or "", row.kind, "" if row.kind == "reported" else row.n]
        for c in lb.columns:
            cell = row.cells[c.id]
            line += [num(cell.value), num(cell.lo), num(cell.hi), cell.n, cell.skipped,
                     "" if cell.rank is None else cell.rank, int(cell.best), int(cell.mixed),
                     num(cell.p_vs_best)]
        writer.writerow(line)
    for text in lb.footer_lines():
        buf.write(f"# {text}\n")
    return buf.getvalue()


# ------------------------------------------------------------------------------------------- LaTeX
_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                  "<": r"\textless{}", ">": r"\textgreater{}",
                  "—": "---", "–": "--", "†": r"\textdagger{}", "‡": r"\textdaggerdbl{}", "≈": r"\ensuremath{\approx}",
                  "↑": r"$\uparrow$", "↓": r"$\downarrow$", "×": r"$\times$", "…": r"\dots{}", "`": "'"}


def latex_escape(text: str, *, breakable: bool = False) -> str:
    """Escape LaTeX specials; with ``breakable`` long ids (backends, paths) may break after : / =."""
    out = []
    for ch in text:
        esc = _LATEX_SPECIAL.get(ch, ch)
        if ord(ch) > 127 and ch not in _LATEX_SPECIAL:
            esc = "?"  # keep pdflatex happy with any stray symbol in a reason string
        out.append(esc)
        if breakable and ch in ":/=":
            out.append(r"\allowbreak{}")
    return "".join(out)


def to_latex(lb: Leaderboard, *, caption: str = "MotionBench leaderboard.", label: str = "tab:motionbench") -> str:
    """A ``table*`` float with a booktabs tabular scaled to the text width, notes under it.

    Paste it into a paper that loads ``booktabs`` and ``graphicx``.
    """
    ncols = 2 + len(lb.columns)
    spec = "lr" + "".join("c" if c.kind == "quality" else "r" for c in lb.columns)
    lines = [
        "% MotionBench leaderboard (motionbench report --format latex).",
        "% Needs \\usepackage{booktabs} and \\usepackage{graphicx} (the table is scaled to the text width).",
        "\\begin{table*}[t]",
        "\\centering",
        "\\setlength{\\tabcolsep}{4pt}",
        "\\resizebox{\\linewidth}{!}{%",
        f"\\begin{{tabular}}{{{spec}}}",
        "\\toprule",
        "Method & $n$ & " + " & ".join(latex_escape(header(c)) for c in lb.columns) + " \\\\",
    ]
    for group in lb.groups:
        rows = lb.rows_in(group)
        if not rows:
            continue
        lines.append("\\midrule")
        lines.append(f"\\multicolumn{{{ncols}}}{{l}}{{\\textit{{{latex_escape(group)}}}}} \\\\")
        for row in rows:
            cells = []
            for col in lb.columns:
                t = cell_text(row, col, row.cells[col.id])
                s = latex_escape(t.value)
                if t.best:
                    s = f"\\textbf{{{s}}}"
                if t.interval:
                    s += f"{{\\tiny\\,{latex_escape(t.interval)}}}"
                if t.suffix:
                    s += f"{{\\tiny\\,{latex_escape(t.suffix)}}}"
                cells.append(s)
            lines.append(f"{latex_escape(row_label(row))} & {latex_escape(row_n(row))} & " + " & ".join(cells) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}}",
              "\\par\\smallskip",
              "\\parbox{\\linewidth}{\\tiny\\raggedright"]
    notes = lb.footer_lines()
    for i, text in enumerate(notes):
        end = " \\\\" if i < len(notes) - 1 else ""
        lines.append(latex_escape(text.strip(), breakable=True) + end)
    lines += ["}", f"\\caption{{{latex_escape(caption)}}}", f"\\label{{{label}}}", "\\end{table*}"]
    return "\n".join(lines) + "\n"


# -------------------------------------------------------------------------------------------- JSON
def to_json_data(lb: Leaderboard) -> dict[str, Any]:
    """A plain, NaN-free structure: columns, rows with their cells, footer, runs."""
    def clean(v: float | None) -> float | None:
        return None if v is None or not math.isfinite(v) else v

    return {
        "task": lb.task,
        "by": lb.by,
        "groups": lb.groups,
        "bootstrap": {"n_boot": lb.n_boot, "seed": lb.seed, "level": lb.level,
                      "unit": "sample", "overall_mean_of_categories": "resampled within each category"},
        "columns": [{"id": c.id, "metric": c.metric, "variant": c.variant, "kind": c.kind, "label": c.label,
                     "higher_is_better": c.higher_is_better, "unit": c.unit, "backends": list(c.backends),
                     "versions": list(c.versions), "conventions": list(c.conventions)} for c in lb.columns],
        "rows": [{"group": r.group, "label": r.label, "method": r.method, "run": r.run, "kind": r.kind,
                  "n": None if r.kind == "reported" else r.n,
                  "cells": {cid: {"value": clean(c.value), "lo": clean(c.lo), "hi": clean(c.hi), "n": c.n,
                                  "videos": c.videos, "skipped": c.skipped, "rank": c.rank, "best": c.best,
                                  "mixed": c.mixed, "note": c.note, "p_vs_best": clean(c.p_vs_best)}
                          for cid, c in r.cells.items()}}
                 for r in lb.rows],
        "skipped": [{"row": s.row, "column": s.column, "status": s.status, "reason": s.reason, "count": s.count}
                    for s in lb.skips],
        "samples": [{"row": x.row, "run": x.run, "method": x.method, "sample": x.sample, "category": x.category,
                     "column": x.column, "value": clean(x.value), "videos": x.videos, "skipped": x.skipped}
                    for x in lb.samples],
        "comparisons": [{"group": c.group, "column": c.column, "row": c.row, "best": c.best, "n": c.n,
                         "delta": c.delta, "lo": clean(c.lo), "hi": clean(c.hi), "p": c.p, "exact": c.exact,
                         "significant": c.significant} for c in lb.comparisons],
        "failed_generations": [{"row": f.row, "reason": f.reason, "count": f.count} for f in lb.failures],
        "reported_sources": [{"title": s.title, "citation": s.citation, "url": s.url, "note": s.note}
                             for s in lb.reported],
        "runs": [vars(r) for r in lb.runs],
        "footer": lb.footer_lines(),
    }


def to_json(lb: Leaderboard) -> str:
    return json.dumps(to_json_data(lb), indent=2, allow_nan=False, ensure_ascii=False) + "\n"
