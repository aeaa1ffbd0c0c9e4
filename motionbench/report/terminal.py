"""The terminal leaderboard (rich): one table per group, best cells in bold green, footer below."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from motionbench.report.model import Leaderboard
from motionbench.report.render import cell_text, header, row_label, row_n


def print_table(lb: Leaderboard, console: Console) -> None:
    for group in lb.groups:
        rows = lb.rows_in(group)
        if not rows:
            continue
        table = Table(title=group, title_justify="left", title_style="bold", header_style="bold cyan",
                      show_lines=False, pad_edge=False)
        table.add_column("Method", no_wrap=True)
        table.add_column("n", justify="right")
        for col in lb.columns:
            table.add_column(header(col), justify="right")
        for row in rows:
            cells = []
            for col in lb.columns:
                t = cell_text(row, col, row.cells[col.id])
                text = Text(t.value, style="bold green" if t.best else ("dim" if t.missing else ""))
                if t.interval:
                    text.append(f" {t.interval}", style="dim")
                if t.suffix:
                    text.append(f" {t.suffix}", style="yellow")
                cells.append(text)
            style = "italic dim" if row.kind == "reported" else ("dim" if row.kind == "anchor" else "")
            table.add_row(Text(row_label(row), style=style), row_n(row), *cells)
        console.print(table)
    for line in lb.footer_lines():
        console.print(Text(line, style="dim"))
