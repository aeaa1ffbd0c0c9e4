"""``motionbench run``, ``motionbench score`` and ``motionbench methods``.

Method options (``--method-opt``) are ``key=value`` for the only method of the run, or
``method.key=value`` to address one method when several run (``--method-opt fym.rank=8``); an
unprefixed option with several methods is refused rather than guessed at.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable, Optional

import typer

from motionbench.cli.app import app, console, err_console
from motionbench.cli.plugins import print_heading, print_listing
from motionbench.cli.options import check_budget, check_num_frames, parse_size
from motionbench.errors import ConfigError
from motionbench.tasks import DEFAULT_MANIFESTS, MOTION_TRANSFER, check_task

RESULTS_DIR = Path("results")
METRIC_HELP = ("Metric to score, as NAME (every variant) or NAME/VARIANT (repeatable; default clip_text, "
               "clip_temporal, motion_fidelity). `motionbench metrics` lists them, plug-ins included.")
VARIANT_HELP = "Only this variant of metrics that have variants, e.g. dmt (repeatable)."


# --- option parsing ---------------------------------------------------------------------------
def split_method_options(methods: list[str], options: list[str]) -> dict[str, list[str]]:
    """Assign each ``--method-opt`` to its method (see module docstring)."""
    out: dict[str, list[str]] = {m: [] for m in methods}
    for item in options:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--method-opt {item!r} is not of the form key=value (or method.key=value)")
        if "." in key:
            method, _, key = key.partition(".")
            if method not in out:
                raise ConfigError(f"--method-opt {item!r} names method {method!r}, which is not among the "
                                  f"--method values ({', '.join(methods)})")
            out[method].append(f"{key}={value}")
        elif len(methods) == 1:
            out[methods[0]].append(item)
        else:
            raise ConfigError(f"--method-opt {item!r}: several methods run; say which one it is for, e.g. "
                              f"--method-opt {methods[0]}.{item}")
    return out


def resolve_device(device: str) -> str:
    if device != "auto":
        if not re.fullmatch(r"cpu|cuda(:\d+)?", device):
            raise ConfigError(f"--device {device!r}: use cpu, cuda, cuda:N or auto")
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def make_scorer_factory(device: str, metrics: list[str], variants: list[str], clip: str | None,
                        tracker: str | None, grid: int | None, task: str = MOTION_TRANSFER) -> Callable[[], Any]:
    """A function building the scorer (the ``task``'s default metrics unless named). Metric names are
    checked now, before anything is generated; models load only when the function is called (after
    generation)."""
    from motionbench.metrics.scorer import FeatureOptions, build_scorer, resolve_metrics

    chosen = resolve_metrics(metrics, variants, task)
    given = {"clip": clip, "tracker": tracker, "grid": grid}
    options = FeatureOptions(device=device, **{k: v for k, v in given.items() if v is not None})
    return lambda: build_scorer(chosen, options)


# --- progress -----------------------------------------------------------------------------------
class RichProgress:
    """Progress bars with counts and ETA for generation, then scoring."""

    def __init__(self) -> None:
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)

        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TextColumn("{task.fields[status]}"),
                                 TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=console)
        self.failed = 0
        self.task: Any = None
        self.score_task: Any = None

    def start(self, total: int, already_done: int) -> None:
        self.progress.start()
        note = f"{already_done} already done" if already_done else ""
        self.task = self.progress.add_task("generating", total=total, completed=already_done, status=note)

    def job_done(self, record: Any) -> None:
        if record.status != "ok":
            self.failed += 1
            self.progress.console.print(f"[red]failed[/] {record.job}: {record.error.splitlines()[0] if record.error else ''}",
                                        highlight=False)
        self.progress.update(self.task, advance=1, status=f"[red]{self.failed} failed[/]" if self.failed else "")

    def scoring_started(self, videos: int) -> None:
        if videos:
            self.progress.start()
            self.score_task = self.progress.add_task("scoring", total=videos, status="")

    def sample_scored(self, sample: str, videos: int) -> None:
        if self.score_task is not None:
            self.progress.update(self.score_task, advance=videos, status=sample)

    def stop(self) -> None:
        self.progress.stop()


# --- rendering ----------------------------------------------------------------------------------
def print_score_summary(summary: Any) -> None:
    if summary is None:
        return
    v = summary.values
    console.print(f"scored {summary.jobs_scored} video(s) ({v.get('ok', 0)} values ok, {v.get('skipped', 0)} skipped, "
                  f"{v.get('error', 0)} errors); {summary.jobs_already_scored} already scored")
    for problem in summary.problems:
        err_console.print(f"[yellow]not scored:[/] {problem}", highlight=False)


def print_run_summary(summary: Any) -> None:
    from rich.table import Table

    table = Table(title=f"run {summary.run_dir}", show_edge=False)
    for col in ("planned", "already done", "generated now", "failed now", "time"):
        table.add_column(col, justify="right")
    table.add_row(str(summary.planned), str(summary.already_done), str(summary.ok), str(len(summary.failed)),
                  f"{summary.seconds:.1f} s")
    console.print(table)
    if summary.moved_aside:
        console.print(f"the previous run was moved to {summary.moved_aside}")
    if summary.failed:
        kinds: dict[str, int] = {}
        for rec in summary.failed:
            kind = (rec.error or "unknown error").split(":", 1)[0]
            kinds[kind] = kinds.get(kind, 0) + 1
        err_console.print(f"[red]{len(summary.failed)} job(s) failed[/] ("
                          + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) + f"); errors are in "
                          f"{summary.run_dir / 'generations.jsonl'}; rerun the same command to retry them", highlight=False)
    print_score_summary(summary.scoring)


# --- commands -----------------------------------------------------------------------------------
@app.command("run")
def run_command(
    method: list[str] = typer.Option(..., "--method", help="Method name (repeatable). `motionbench methods` lists them."),
    task: str = typer.Option(MOTION_TRANSFER, "--task", help="motion_transfer, or recapture (re-rendering along new "
                                                           "camera paths); only the manifest's samples of the task run."),
    manifest: Optional[Path] = typer.Option(None, help="Benchmark manifest (default: data/manifest.yaml; "
                                                     "--task recapture: data/recapture.yaml)."),
    category: list[str] = typer.Option([], help="Only samples of this category (repeatable)."),
    sample: list[str] = typer.Option([], help="Only this sample id (repeatable)."),
    limit: Optional[int] = typer.Option(None, min=1, help="At most this many samples."),
    seeds: str = typer.Option("0", help="Seeds, e.g. 0,1,2 or 0-3."),
    num_frames: Optional[int] = typer.Option(None, help="Frames per video, 2 to 1024 (default: the reference clip's); "
                                                        "a clip of another length is resampled to it."),
    clip_frames: Optional[int] = typer.Option(None, "--clip-frames", help="Cut every reference clip to its first N "
                                              "frames (methods, ground truth and scores all see the cut clip, its "
                                              "motion at its own speed); quick CPU runs of long clips."),
    size: Optional[str] = typer.Option(None, help="WIDTHxHEIGHT of the videos (default: the reference clip's)."),
    device: str = typer.Option("auto", help="cpu, cuda, cuda:N, or auto (cuda when available)."),
    out: Optional[Path] = typer.Option(None, help="Run directory (default: results/<methods>-<manifest name>)."),
    shard: Optional[str] = typer.Option(None, help="Run only shard i of n (i/n); shards of one run share --out."),
    executor: str = typer.Option("local", help="local or ray."),
    ray_address: Optional[str] = typer.Option(None, help="Ray cluster address (default: start a local one)."),
    method_opt: list[str] = typer.Option([], "--method-opt", "-o", help="key=value (one method) or method.key=value."),
    score: bool = typer.Option(True, "--score/--no-score", help="Score the videos after generating them."),
    metric: list[str] = typer.Option([], help=METRIC_HELP),
    clip: Optional[str] = typer.Option(None, help="CLIP backend for scoring."),
    tracker: Optional[str] = typer.Option(None, help="Point tracker for motion fidelity."),
    grid: Optional[int] = typer.Option(None, min=2, help="Points per side of the tracking grid (default 55)."),
    variant: list[str] = typer.Option([], help=VARIANT_HELP),
    fresh: bool = typer.Option(False, help="Start over: move an existing run directory aside to <dir>.old-<time>."),
    depth: Optional[str] = typer.Option(None, help="Recapture: the depth model real clips are lifted with (a hub id "
                                                  "or a local folder; default Depth Anything V2 Small)."),
) -> None:
    """Generate (and score) videos for the chosen methods; rerun the same command to resume."""
    from motionbench.bench.manifest import load_manifest
    from motionbench.run.execute import MethodChoice
    from motionbench.run.plan import Shard, parse_seeds
    from motionbench.run.runner import RunConfig, execute_run

    check_task(task)
    opts = split_method_options(method, method_opt)
    the_size = parse_size(size)
    check_budget(check_num_frames(num_frames), the_size)
    check_num_frames(clip_frames, "--clip-frames")
    the_seeds = parse_seeds(seeds)
    manifest_path = manifest or DEFAULT_MANIFESTS[task]
    if out is None:
        out = RESULTS_DIR / f"{'+'.join(method)}-{load_manifest(manifest_path).name}"
    dev = resolve_device(device)
    config = RunConfig(
        methods=tuple(MethodChoice(m, tuple(opts[m])) for m in method), out=out, manifest=manifest_path,
        categories=tuple(category), sample_ids=tuple(sample), limit=limit, seeds=the_seeds,
        num_frames=num_frames, size=the_size, device=dev,
        shard=Shard.parse(shard) if shard else None, executor=executor, ray_address=ray_address, fresh=fresh,
        task=task, depth=depth, clip_frames=clip_frames)
    factory = make_scorer_factory(dev, metric, variant, clip, tracker, grid, task) if score else None
    summary = execute_run(config, scorer_factory=factory, progress=RichProgress())
    print_run_summary(summary)
    raise typer.Exit(summary.exit_code)


@app.command("score")
def score_command(
    run: Optional[Path] = typer.Argument(None, help="A run directory made by `motionbench run`."),
    videos: Optional[Path] = typer.Option(None, help="Score videos from another tool: DIR/<sample>/<prompt-index>-s<seed>.mp4 or DIR/<sample>.mp4."),
    label: Optional[str] = typer.Option(None, help="Method name for --videos (default: the folder's name)."),
    out: Optional[Path] = typer.Option(None, help="Run directory for --videos (default: results/<label>-videos)."),
    manifest: Optional[Path] = typer.Option(None, help="Manifest (default: the run's own; data/manifest.yaml for --videos)."),
    device: str = typer.Option("auto", help="cpu, cuda, cuda:N, or auto."),
    metric: list[str] = typer.Option([], help=METRIC_HELP),
    clip: Optional[str] = typer.Option(None, help="CLIP backend (rescoring with another adds its scores beside the old)."),
    tracker: Optional[str] = typer.Option(None, help="Point tracker for motion fidelity."),
    grid: Optional[int] = typer.Option(None, min=2, help="Points per side of the tracking grid (default 55)."),
    variant: list[str] = typer.Option([], help=VARIANT_HELP),
) -> None:
    """Score (or rescore with other backends) a run, or videos another tool produced.

    Exits 1 when any video was skipped (not in the layout, not in the manifest, truncated or corrupt)
    or could not be scored; what was scored is kept.
    """
    from motionbench.bench.manifest import DEFAULT_MANIFEST, load_manifest
    from motionbench.run.adopt import adopt_videos
    from motionbench.run.runner import rescore_run
    from motionbench.run.store import RunStore

    if (run is None) == (videos is None):
        raise ConfigError("give either a run directory (motionbench score RUN) or --videos DIR, not both/neither")
    info = RunStore(run).read_run_info() if run is not None else None
    task = info.settings.task if info is not None else MOTION_TRANSFER  # --videos: motion-transfer layouts
    factory = make_scorer_factory(resolve_device(device), metric, variant, clip, tracker, grid, task)
    if videos is not None:
        name = label or re.sub(r"[^a-z0-9_-]+", "-", videos.resolve().name.lower()).strip("-") or "videos"
        out = out or RESULTS_DIR / f"{name}-videos"
        manifest_path = manifest or DEFAULT_MANIFEST
        store = RunStore(out)
        with store.locked():
            adopted = adopt_videos(store, videos, load_manifest(manifest_path), name)
        console.print(f"adopted {adopted.adopted} video(s) as method {name!r} into {out} "
                      f"({adopted.already} already there)")
        for problem in adopted.problems:
            err_console.print(f"[yellow]skipped:[/] {problem}", highlight=False)
        run = out
    summary = rescore_run(run, factory(), manifest=manifest, progress=RichProgress())
    print_score_summary(summary)
    skipped = (len(adopted.problems) if videos is not None else 0) + len(summary.problems)
    if skipped:
        err_console.print(f"[red]{skipped} video(s) or sample(s) were not scored[/] (listed above); exit status 1",
                          highlight=False)
        raise typer.Exit(1)


@app.command("methods")
def methods_command(
    name: Optional[str] = typer.Argument(None, help="Show this method's options and presets."),
    options: bool = typer.Option(False, "--options", help="Also import every method to list its options."),
) -> None:
    """List the registered methods (lazily: nothing is imported unless options are asked for)."""
    from motionbench.methods.config import describe_options
    from motionbench.methods.registry import METHODS

    if name is not None:
        cls = print_heading(METHODS, name)
        console.print(f"  tasks: {', '.join(cls.tasks) or 'none'}", highlight=False)
        usage = getattr(cls, "usage", "")  # optional longer notes a method class offers its users
        if usage:
            import inspect

            console.print("\n" + inspect.cleandoc(usage) + "\n", highlight=False, markup=False)
        _print_options(cls, describe_options)
        return
    print_listing(METHODS, "method")
    if options:
        for method_name in METHODS.names():
            console.print(f"\n[bold]{method_name}[/]")
            try:
                cls = METHODS.load(method_name)
            except ConfigError as exc:
                err_console.print(f"  [yellow]{exc}[/]", highlight=False)
                continue
            _print_options(cls, describe_options)
    else:
        console.print("options: `motionbench methods NAME` or `motionbench methods --options`")


def _print_options(cls: type, describe: Callable[[type], list[Any]]) -> None:
    from rich.markup import escape

    from motionbench.methods.config import preset_values

    rows = describe(cls)
    if not rows:
        console.print("  no options")
    for row in rows:
        source = f"  [dim]({escape(row.source)})[/]" if row.source else ""
        console.print(f"  {row.name}: {row.type} = {escape(row.default)}{source}", highlight=False, soft_wrap=True)
    presets = getattr(cls, "presets", {}) or {}
    if presets:
        console.print("  presets: " + ", ".join(
            escape(f"{k} ({', '.join(f'{a}={b!r}' for a, b in preset_values(cls, k).items())})") for k in presets),
            highlight=False, soft_wrap=True)
