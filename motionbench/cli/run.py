"""``motionbench run``, ``motionbench score`` and ``motionbench methods``.

Method options (``--method-opt``) are ``key=value`` for the only method of the run, or
``method.key=value`` to address one method when several run (``--method-opt fym.rank=8``); an
unprefixed option with several methods is refused rather than guessed at.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path
from typing import Any, Callable, Optional

import typer

from motionbench.cli.app import app, console, err_console
from motionbench.errors import ConfigError

RESULTS_DIR = Path("results")


# --- option parsing ---------------------------------------------------------------------------
def parse_size(text: str | None) -> tuple[int, int] | None:
    """``"WxH"`` -> (width, height)."""
    if text is None:
        return None
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not m or int(m.group(1)) < 16 or int(m.group(2)) < 16:
        raise ConfigError(f"--size {text!r} is not WIDTHxHEIGHT with both sides >= 16 (e.g. --size 128x128)")
    return int(m.group(1)), int(m.group(2))


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


def make_scorer_factory(device: str, metrics: list[str], clip: str | None, tracker: str | None,
                        variants: list[str]) -> Callable[[], Any] | None:
    """A function building the metrics' scorer, or None (with a warning) if metrics are not installed."""
    try:
        from motionbench.metrics import build_scorer  # type: ignore[attr-defined]
    except ImportError as exc:
        err_console.print(f"[yellow]warning:[/] scoring skipped: the metrics are not available ({exc}); "
                          "score later with `motionbench score RUN`")
        return None
    kwargs: dict[str, Any] = {"device": device}
    if metrics:
        kwargs["metrics"] = metrics
    if clip:
        kwargs["clip"] = clip
    if tracker:
        kwargs["tracker"] = tracker
    if variants:
        kwargs["variants"] = variants
    return lambda: build_scorer(**kwargs)


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
    manifest: Optional[Path] = typer.Option(None, help="Benchmark manifest (default: data/manifest.yaml)."),
    category: list[str] = typer.Option([], help="Only samples of this category (repeatable)."),
    sample: list[str] = typer.Option([], help="Only this sample id (repeatable)."),
    limit: Optional[int] = typer.Option(None, min=1, help="At most this many samples."),
    seeds: str = typer.Option("0", help="Seeds, e.g. 0,1,2 or 0-3."),
    num_frames: Optional[int] = typer.Option(None, min=1, help="Frames per video (default: the reference clip's)."),
    size: Optional[str] = typer.Option(None, help="WIDTHxHEIGHT of the videos (default: the reference clip's)."),
    device: str = typer.Option("auto", help="cpu, cuda, cuda:N, or auto (cuda when available)."),
    out: Optional[Path] = typer.Option(None, help="Run directory (default: results/<methods>-<manifest name>)."),
    shard: Optional[str] = typer.Option(None, help="Run only shard i of n (i/n); shards of one run share --out."),
    executor: str = typer.Option("local", help="local or ray."),
    ray_address: Optional[str] = typer.Option(None, help="Ray cluster address (default: start a local one)."),
    method_opt: list[str] = typer.Option([], "--method-opt", "-o", help="key=value (one method) or method.key=value."),
    score: bool = typer.Option(True, "--score/--no-score", help="Score the videos after generating them."),
    metric: list[str] = typer.Option([], help="Only this metric when scoring (repeatable)."),
    clip: Optional[str] = typer.Option(None, help="CLIP backend for scoring."),
    tracker: Optional[str] = typer.Option(None, help="Point tracker for motion fidelity."),
    variant: list[str] = typer.Option([], help="Motion-fidelity variant (repeatable)."),
    fresh: bool = typer.Option(False, help="Start over: move an existing run directory aside to <dir>.old-<time>."),
) -> None:
    """Generate (and score) videos for the chosen methods; rerun the same command to resume."""
    from motionbench.bench.manifest import DEFAULT_MANIFEST, load_manifest
    from motionbench.run.execute import MethodChoice
    from motionbench.run.plan import Shard, parse_seeds
    from motionbench.run.runner import RunConfig, execute_run

    opts = split_method_options(method, method_opt)
    manifest_path = manifest or DEFAULT_MANIFEST
    if out is None:
        out = RESULTS_DIR / f"{'+'.join(method)}-{load_manifest(manifest_path).name}"
    dev = resolve_device(device)
    config = RunConfig(
        methods=tuple(MethodChoice(m, tuple(opts[m])) for m in method), out=out, manifest=manifest_path,
        categories=tuple(category), sample_ids=tuple(sample), limit=limit, seeds=parse_seeds(seeds),
        num_frames=num_frames, size=parse_size(size), device=dev,
        shard=Shard.parse(shard) if shard else None, executor=executor, ray_address=ray_address, fresh=fresh)
    factory = make_scorer_factory(dev, metric, clip, tracker, variant) if score else None
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
    metric: list[str] = typer.Option([], help="Only this metric (repeatable)."),
    clip: Optional[str] = typer.Option(None, help="CLIP backend (rescoring with another adds its scores beside the old)."),
    tracker: Optional[str] = typer.Option(None, help="Point tracker for motion fidelity."),
    variant: list[str] = typer.Option([], help="Motion-fidelity variant (repeatable)."),
) -> None:
    """Score (or rescore with other backends) a run, or videos another tool produced."""
    from motionbench.bench.manifest import DEFAULT_MANIFEST, load_manifest
    from motionbench.run.adopt import adopt_videos
    from motionbench.run.runner import rescore_run
    from motionbench.run.store import RunStore, now_iso

    if (run is None) == (videos is None):
        raise ConfigError("give either a run directory (motionbench score RUN) or --videos DIR, not both/neither")
    factory = make_scorer_factory(resolve_device(device), metric, clip, tracker, variant)
    if factory is None:
        raise typer.Exit(2)
    if videos is not None:
        name = label or re.sub(r"[^a-z0-9_-]+", "-", videos.resolve().name.lower()).strip("-") or "videos"
        out = out or RESULTS_DIR / f"{name}-videos"
        manifest_path = manifest or DEFAULT_MANIFEST
        store = RunStore(out)
        with store.locked():
            store.update_run_info({"schema": 1, "updated": now_iso(), "config": {
                "manifest": str(Path(manifest_path).resolve()), "methods": {name: {"videos": str(videos.resolve())}}}})
            adopted = adopt_videos(store, videos, load_manifest(manifest_path), name)
        console.print(f"adopted {adopted.adopted} video(s) as method {name!r} into {out} "
                      f"({adopted.already} already there)")
        for problem in adopted.problems:
            err_console.print(f"[yellow]skipped:[/] {problem}", highlight=False)
        run = out
    summary = rescore_run(run, factory(), manifest=manifest, progress=RichProgress())
    print_score_summary(summary)


def module_file(module: str) -> Path | None:
    """The source file of ``module`` found without importing it or its parent packages."""
    parts = module.split(".")
    try:
        spec = importlib.util.find_spec(parts[0])  # a top-level lookup imports nothing
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if len(parts) == 1:
        return Path(spec.origin) if spec.origin and spec.origin.endswith(".py") else None
    locations = list(spec.submodule_search_locations or [])
    for i, part in enumerate(parts[1:], start=1):
        last = i == len(parts) - 1
        nxt: list[str] = []
        for loc in locations:
            if last and (Path(loc) / f"{part}.py").is_file():
                return Path(loc) / f"{part}.py"
            pkg = Path(loc) / part
            if (pkg / "__init__.py").is_file():
                if last:
                    return pkg / "__init__.py"
                nxt.append(str(pkg))
        locations = nxt
    return None


def static_summary(target: str) -> str | None:
    """A method class's ``summary`` read from its source (``module:Class``) without importing it."""
    module, _, attr = target.partition(":")
    path = module_file(module)
    if path is None:
        return None
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError):
        return None
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == attr:
            for stmt in node.body:
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target] if isinstance(stmt, ast.AnnAssign) else []
                value = getattr(stmt, "value", None)
                if any(isinstance(t, ast.Name) and t.id == "summary" for t in targets) and isinstance(value, ast.Constant):
                    return str(value.value)
    return None


@app.command("methods")
def methods_command(
    name: Optional[str] = typer.Argument(None, help="Show this method's options and presets."),
    options: bool = typer.Option(False, "--options", help="Also import every method to list its options."),
) -> None:
    """List the registered methods (lazily: nothing is imported unless options are asked for)."""
    from rich.table import Table

    from motionbench.methods.config import describe_options
    from motionbench.methods.registry import entry_point, load_method_class, method_names

    if name is not None:
        ep = entry_point(name)
        cls = load_method_class(name)
        console.print(f"[bold]{name}[/] ({ep.value}): {getattr(cls, 'summary', '')}", highlight=False)
        _print_options(cls, describe_options)
        return
    table = Table(show_edge=False)
    table.add_column("method")
    table.add_column("summary")
    table.add_column("registered as", style="dim")
    eps = {n: entry_point(n) for n in method_names()}
    for method_name in sorted(eps):
        ep = eps[method_name]
        summary = static_summary(ep.value)
        table.add_row(method_name, summary if summary is not None else "[yellow](module not found: not installed?)[/]", ep.value)
    console.print(table)
    if options:
        for method_name in sorted(eps):
            console.print(f"\n[bold]{method_name}[/]")
            try:
                cls = load_method_class(method_name)
            except ConfigError as exc:
                err_console.print(f"  [yellow]{exc}[/]", highlight=False)
                continue
            _print_options(cls, describe_options)
    else:
        console.print("options: `motionbench methods NAME` or `motionbench methods --options`")


def _print_options(cls: type, describe: Callable[[type], list[tuple[str, str, str]]]) -> None:
    rows = describe(cls)
    if not rows:
        console.print("  no options")
    for opt, typ, default in rows:
        console.print(f"  {opt}: {typ} = {default}", highlight=False)
    presets = getattr(cls, "presets", {}) or {}
    if presets:
        console.print("  presets: " + ", ".join(f"{k} ({', '.join(f'{a}={b}' for a, b in v.items())})"
                                                for k, v in presets.items()), highlight=False)
