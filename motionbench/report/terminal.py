"""The terminal leaderboard (rich): one table per group, best cells in bold green, footer below.

The terminal has ~80 columns, so this view is compact where the files (md, latex, html) are full:
intervals go on a second line as ``lo–hi`` without leading zeros, anchor methods are marked ``*``,
and a column in which every score was skipped is left out (the footer says which and why). A group
too wide for the screen is printed in consecutive parts of its columns ("(1/2)", "(2/2)"), each with
the Method and n columns, so no number is ever cut short.
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


# Recapture's columns by the names the literature prints (PSNR, SSIM, RotErr, TransErr).
_COLUMN_HEADERS = {"novel_view/psnr": ("PSNR", "dB"), "novel_view/ssim": ("SSIM", ""),
                   "novel_view/psnr_holes": ("PSNR", "holes"), "novel_view/ssim_holes": ("SSIM", "holes"),
                   "camera_accuracy/rotation": ("RotErr", "deg"), "camera_accuracy/translation": ("TransErr", "pivot")}


def _terminal_header(col: Column) -> str:
    """Two short lines, e.g. "motion" / "dmt ↑", so eight columns fit 80 characters."""
    if col.id in _COLUMN_HEADERS:
        first, second = _COLUMN_HEADERS[col.id]
        return f"{first}\n{second} {col.arrow}".strip()
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


def _cells(lb: Leaderboard, group: str, columns: list[Column]) -> list[tuple[Text, str, list[Text]]]:
    """Per row of ``group``: its label, its n and one Text per column (value, marks, interval below)."""
    out = []
    for row in lb.rows_in(group):
        cells = []
        for col in columns:
            t = cell_text(row, col, row.cells[col.id])
            text = Text(t.value, style="bold green" if t.best else ("dim" if t.missing else ""))
            if t.suffix:
                text.append(f" {t.suffix}", style="yellow")
            if t.interval:
                lo, hi = t.interval.strip("[]").split(", ")
                text.append("\n" + _compact_interval(lo, hi), style="dim")
            cells.append(text)
        label = f"{row.label}*" if row.kind == "anchor" else row_label(row)
        style = "italic dim" if row.kind == "reported" else ("dim" if row.kind == "anchor" else "")
        out.append((Text(label, style=style), row_n(row), cells))
    return out


def _table(title: str, columns: list[Column], rows: list[tuple[Text, str, list[Text]]], part: list[int]) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold", header_style="bold cyan",
                  box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1))
    table.add_column("Method", no_wrap=True)
    table.add_column("n", justify="right")
    for i in part:
        table.add_column(_terminal_header(columns[i]), justify="right", no_wrap=True)
    for label, n, cells in rows:
        table.add_row(label, n, *(cells[i] for i in part))
    return table


def print_table(lb: Leaderboard, console: Console) -> None:
    width = console.width if console.is_terminal else max(console.width, PIPE_WIDTH)
    columns = [c for c in lb.columns if not _all_skipped(lb, c)]
    hidden = [c for c in lb.columns if c not in columns]
    anchors = any(row.kind == "anchor" for group in lb.groups for row in lb.rows_in(group))
    for group in lb.groups:
        rows = _cells(lb, group, columns)
        if not rows:
            continue
        # A table too wide for the screen is split into consecutive column ranges that each fit
        # (measured by rich), rather than having its numbers cut short.
        parts: list[list[int]] = [[]]
        for i in range(len(columns)):
            trial = _table(group, columns, rows, parts[-1] + [i])
            if parts[-1] and console.measure(trial, options=console.options.update_width(10_000)).maximum > width:
                parts.append([i])
            else:
                parts[-1].append(i)
        for k, part in enumerate(parts):
            title = group if len(parts) == 1 else f"{group} ({k + 1}/{len(parts)})"
            _print_at(console, _table(title, columns, rows, part), width)
    if anchors:
        console.print(Text("* anchor method (no weights; fixes the scale of each metric)", style="dim"))
    if hidden:
        names = ", ".join(c.label for c in hidden)
        console.print(Text(f"Not shown: {names} (every score skipped; see the reason below).", style="dim"))
    for line in lb.footer_lines():
        console.print(Text(line, style="dim"))
