"""``motionbench report``: leaderboards (terminal, Markdown, CSV, LaTeX, JSON) and the HTML report."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from motionbench.cli.app import app, console, err_console
from motionbench.errors import MotionBenchError


@app.command("report")
def report_command(
    runs: List[str] = typer.Argument(..., help="Run folders, or run names under --results-dir."),
    fmt: str = typer.Option("table", "--format", "-f", help="table | md | csv | latex | json | html."),
    by: str = typer.Option("category", "--by", help="category (each category, then overall) | overall."),
    metric: List[str] = typer.Option([], "--metric", "-m",
                                     help="Only this metric (all its variants) or metric/variant; repeatable."),
    out: Optional[Path] = typer.Option(None, "--out", "-o",
                                       help="Write here instead of the terminal (html: default <run>/report.html)."),
    html: Optional[Path] = typer.Option(None, "--html", help="Also write the HTML report here (any --format)."),
    allow_mixed: bool = typer.Option(False, "--allow-mixed",
                                     help="Show columns whose rows used different metric backends, marked."),
    with_reported: bool = typer.Option(False, "--with-reported", help="Add published rows from results/reported/."),
    rank_reported: bool = typer.Option(False, "--rank-reported", help="Rank published rows with measured ones."),
    seed: int = typer.Option(0, "--seed", help="Bootstrap seed."),
    n_boot: int = typer.Option(2000, "--n-boot", help="Bootstrap replicates."),
    video_width: int = typer.Option(192, "--video-width", help="HTML: width of the embedded video copies (px)."),
    results_dir: Path = typer.Option(Path("results"), "--results-dir", help="Where run names are looked up."),
    metric_card: Optional[Path] = typer.Option(
        None, "--metric-card",
        help="HTML: add the metric card from `motionbench metaeval --out FILE` (default: <first run>/metaeval.json if present)."),
) -> None:
    """Leaderboards with bootstrap intervals, sample counts, costs, conventions and backends."""
    from motionbench.report import build
    from motionbench.report.render import FORMATS, to_csv, to_json, to_latex, to_markdown
    from motionbench.report.store import ReportError

    if fmt not in FORMATS:
        raise ReportError(f"--format {fmt!r} is not known; use one of {', '.join(FORMATS)}")
    lb = build(runs, by=by, metrics=metric or None, allow_mixed=allow_mixed, with_reported=with_reported,
               rank_reported=rank_reported, seed=seed, n_boot=n_boot, results_dir=results_dir)

    html_targets = [p for p in (html, out if fmt == "html" else None) if p is not None]
    if fmt == "html" and out is None:
        from motionbench.report.store import resolve_run

        html_targets.append(resolve_run(runs[0], results_dir) / "report.html")
    if fmt != "html":
        if fmt == "table":
            import io

            from rich.console import Console

            from motionbench.report.terminal import print_table

            if out is None:
                print_table(lb, console)
            else:
                rec = Console(record=True, width=200, file=io.StringIO())
                print_table(lb, rec)
                _write(out, rec.export_text())
        else:
            text = {"md": to_markdown, "csv": to_csv, "latex": to_latex, "json": to_json}[fmt](lb)
            if out is None:
                typer.echo(text, nl=False)
            else:
                _write(out, text)
    if html_targets and by != "category":
        # The HTML report always shows categories: its charts compare methods per category.
        lb = build(runs, by="category", metrics=metric or None, allow_mixed=allow_mixed, with_reported=with_reported,
                   rank_reported=rank_reported, seed=seed, n_boot=n_boot, results_dir=results_dir)
    card = None
    if html_targets:
        from motionbench.report.card import CARD_FILE, load_metric_card
        from motionbench.report.store import resolve_run

        default_card = resolve_run(runs[0], results_dir) / CARD_FILE
        if metric_card is not None or default_card.exists():
            card = load_metric_card(metric_card or default_card)
    for target in html_targets:
        from motionbench.report.html import write_html_report

        stats = write_html_report(lb, target, video_width=video_width, metric_card=card)
        err_console.print(f"HTML report: {target} ({stats.size_bytes / 2**20:.2f} MiB, {stats.videos} videos, "
                          f"{stats.missing_videos} missing)", highlight=False, soft_wrap=True)


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise MotionBenchError(f"{path}: cannot write the report ({exc.strerror})") from None
    err_console.print(f"wrote {path} ({path.stat().st_size} bytes)", highlight=False)
