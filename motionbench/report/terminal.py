"""The terminal leaderboard (rich): one table per group, best cells in bold green, footer below.

The terminal has ~80 columns, so this view is compact where the files (md, latex, html) are full:
intervals go on a second line as ``lo–hi`` without leading zeros, anchor methods are marked ``*``,
and a column in which every score was skipped is left out (the footer says which and why).
"""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from motionbench.report.model import Column, Leaderboard
from motionbench.report.render import cell_text, row_label, row_n


def _short(value: str) -> str:
    return value.replace("0.", ".", 1) if value.startswith(("0.", "-0.")) else value


def _compact_interval(lo: str, hi: str) -> str:
    return f"{_short(lo)}–{_short(hi)}"


_SHORT = {"clip_text": "text", "clip_temporal": "temporal", "motion_fidelity": "motion",
          "tuning_s": "tuning", "generate_s": "gen.", "peak_memory_gib": "memory"}
_UNITS = {"tuning_s": "s", "generate_s": "s/video", "peak_memory_gib": "GiB"}


def _terminal_header(col: Column) -> str:
    """Two short lines, e.g. "motion" / "dmt ↑", so eight columns fit 80 characters."""
    second = col.variant or _UNITS.get(col.metric, "")
    return f"{_SHORT.get(col.metric, col.label)}\n{second} {col.arrow}".strip()


def _all_skipped(lb: Leaderboard, col: Column) -> bool:
    return all(row.cells[col.id].value is None for group in lb.groups for row in lb.rows_in(group))


# Written to a file or a pipe there is no screen to fit; 80 columns would only squeeze the cells.
PIPE_WIDTH = 110


def _print_at(console: Console, table: Table, width: int) -> None:
    saved = console.width
    console.width = width
    try:
        console.print(table)
    finally:
        console.width = saved


def print_table(lb: Leaderboard, console: Console) -> None:
    width = console.width if console.is_terminal else max(console.width, PIPE_WIDTH)
    columns = [c for c in lb.columns if not _all_skipped(lb, c)]
    hidden = [c for c in lb.columns if c not in columns]
    anchors = False
    for group in lb.groups:
        rows = lb.rows_in(group)
        if not rows:
            continue
        table = Table(title=group, title_justify="left", title_style="bold", header_style="bold cyan",
                      box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1))
        table.add_column("Method", no_wrap=True)
        table.add_column("n", justify="right")
        for col in columns:
            table.add_column(_terminal_header(col), justify="right")
        for row in rows:
            cells = []
            for col in columns:
                cell = row.cells[col.id]
                t = cell_text(row, col, cell)
                text = Text(t.value, style="bold green" if t.best else ("dim" if t.missing else ""))
                if t.suffix:
                    text.append(f" {t.suffix}", style="yellow")
                if t.interval:
                    lo, hi = t.interval.strip("[]").split(", ")
                    text.append("\n" + _compact_interval(lo, hi), style="dim")
                cells.append(text)
            label = row_label(row)
            if row.kind == "anchor":
                anchors = True
                label = f"{row.label}*"
            style = "italic dim" if row.kind == "reported" else ("dim" if row.kind == "anchor" else "")
            table.add_row(Text(label, style=style), row_n(row), *cells)
        _print_at(console, table, width)
    if anchors:
        console.print(Text("* anchor method (no weights; fixes the scale of each metric)", style="dim"))
    if hidden:
        names = ", ".join(c.label for c in hidden)
        console.print(Text(f"Not shown: {names} (every score skipped; see the reason below).", style="dim"))
    for line in lb.footer_lines():
        console.print(Text(line, style="dim"))
