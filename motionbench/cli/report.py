"""``motionbench report``: leaderboards (terminal, Markdown, CSV, LaTeX, JSON) and the HTML report."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, List, Optional

import typer

from motionbench.cli.app import app, console, err_console
from motionbench.errors import MotionBenchError
from motionbench.tasks import DESCRIPTIONS, MOTION_TRANSFER


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
    task: Optional[str] = typer.Option(
        None, "--task", help="Only this task (motion_transfer, recapture). Default: every task the runs hold, a "
                             "section each (table and md; the other formats need one task)."),
) -> None:
    """Leaderboards with bootstrap intervals, sample counts, costs, conventions and backends."""
    from motionbench.report import build
    from motionbench.report.render import FORMATS
    from motionbench.report.runs import ReportError, load_runs, resolve_run, tasks_of

    if fmt not in FORMATS:
        raise ReportError(f"--format {fmt!r} is not known; use one of {', '.join(FORMATS)}")
    stores = load_runs(runs, results_dir)
    tasks = [task] if task is not None else (tasks_of(stores) or [MOTION_TRANSFER])
    if len(tasks) > 1 and (fmt not in ("table", "md") or html is not None):
        raise ReportError(f"these runs hold the tasks {', '.join(tasks)}; --format {fmt}"
                          + (" with --html" if html is not None else "") + f" reports one task: add --task {tasks[0]} "
                          "(--format table and md print a section per task)")
    options: dict[str, Any] = dict(metrics=metric or None, allow_mixed=allow_mixed, with_reported=with_reported,
                                   rank_reported=rank_reported, seed=seed, n_boot=n_boot, results_dir=results_dir)
    boards = [build(stores, by=by, task=t, **options) for t in tasks]
    # A heading per section in the formats that can hold several (table, md); motion transfer alone
    # prints as it always has, and csv/latex/json hold one task (json says which in its "task" field).
    headed = fmt in ("table", "md") and (len(tasks) > 1 or tasks != [MOTION_TRANSFER])

    html_targets = [p for p in (html, out if fmt == "html" else None) if p is not None]
    if fmt == "html" and out is None:
        html_targets.append(resolve_run(runs[0], results_dir) / "report.html")
    for target in html_targets + ([out] if out is not None and fmt != "html" else []):
        _check_writable(target)  # before the (slow) rendering, not after
    if fmt != "html":
        texts = [_render(lb, fmt, heading=f"Task: {DESCRIPTIONS.get(t, t)}" if headed else None, to_file=out is not None)
                 for t, lb in zip(tasks, boards)]
        if out is not None:
            _write(out, "\n".join(texts))
        elif fmt != "table":
            typer.echo("\n".join(texts), nl=False)
    lb = boards[0]
    if html_targets and by != "category":
        # The HTML report always shows categories: its charts compare methods per category.
        lb = build(stores, by="category", task=tasks[0], **options)
    card = None
    if html_targets:
        from motionbench.report.card import CARD_FILE, load_metric_card

        default_card = resolve_run(runs[0], results_dir) / CARD_FILE
        if metric_card is not None or default_card.exists():
            card = load_metric_card(metric_card or default_card)
    for target in html_targets:
        from motionbench.report.html import write_html_report

        try:
            stats = write_html_report(lb, target, video_width=video_width, metric_card=card)
        except OSError as exc:
            raise MotionBenchError(f"{target}: cannot write the HTML report ({exc.strerror or exc}); "
                                   "pass --out FILE in a writable folder") from None
        err_console.print(f"HTML report: {target} ({stats.size_bytes / 2**20:.2f} MiB, {stats.videos} videos, "
                          f"{stats.missing_videos} missing)", highlight=False, soft_wrap=True)


def _render(lb: Any, fmt: str, *, heading: str | None, to_file: bool) -> str:
    """One leaderboard in a text format; ``table`` prints to the terminal unless ``to_file`` (then returns it)."""
    from motionbench.report.render import to_csv, to_json, to_latex, to_markdown

    if fmt != "table":
        text = {"md": to_markdown, "csv": to_csv, "latex": to_latex, "json": to_json}[fmt](lb)
        return f"## {heading}\n\n{text}" if heading else text
    import io

    from rich.console import Console

    from motionbench.report.terminal import print_table

    target = Console(record=True, width=200, file=io.StringIO()) if to_file else console
    if heading:
        target.print(f"[bold]{heading}[/]\n", highlight=False)
    print_table(lb, target)
    return target.export_text() if to_file else ""


def _check_writable(path: Path) -> None:
    """Raise a MotionBenchError naming ``path`` unless a file can be written there."""
    try:
        if path.is_dir():
            raise IsADirectoryError(21, "is a directory")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=path.parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise MotionBenchError(f"{path}: cannot write the report there ({exc.strerror or exc}); "
                               "pass --out FILE in a writable folder") from None


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise MotionBenchError(f"{path}: cannot write the report ({exc.strerror})") from None
    err_console.print(f"wrote {path} ({path.stat().st_size} bytes)", highlight=False)
