"""``motionbench metric ...`` (score single videos), ``motionbench metrics`` (list them), ``doctor``, ``download``.

Heavy libraries load inside the commands, so registering them costs nothing at start-up.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from motionbench.cli.app import app, console, err_console
from motionbench.cli.plugins import print_heading, print_listing
from motionbench.errors import ConfigError

metric_app = typer.Typer(
    help="Score single videos with one metric (no benchmark run needed).",
    no_args_is_help=True,
)
app.add_typer(metric_app, name="metric")

CLIP_HELP = ("CLIP model as ARCH:WEIGHTS: an open_clip pretrained tag (ViT-B-32-quickgelu:openai, the default; "
             "ViT-L-14-quickgelu:openai) or a local file (ViT-B-32-quickgelu:/path/weights.pt|.safetensors|.bin).")
JSON_HELP = "Print one JSON record (value, metric, variant, convention, backend, ...) instead of text."
EXIT_SKIPPED = 3


def _parse_box(box: Optional[str]) -> tuple[float, float, float, float] | None:
    if box is None:
        return None
    try:
        vals = tuple(float(v) for v in box.split(","))
    except ValueError:
        vals = ()
    if len(vals) != 4 or not (vals[0] < vals[2] and vals[1] < vals[3]):
        raise ConfigError(f"--box must be x0,y0,x1,y1 in reference pixels with x0 < x1 and y0 < y1, got {box!r}")
    return vals  # type: ignore[return-value]



def _emit(value: Any, extra: dict[str, Any], as_json: bool) -> None:
    """Print one metric's :class:`ScoreValue` (with ``extra`` fields in JSON); a skipped or failed
    score exits with status 3 after printing why."""
    record = {**asdict(value), **extra}
    if as_json:
        sys.stdout.write(json.dumps(record, sort_keys=True, allow_nan=False) + "\n")
    elif value.status == "ok":
        variant = f" ({value.variant})" if value.variant else ""
        console.print(f"{value.metric}{variant}: [bold]{value.value:.4f}[/]", highlight=False)
        console.print(f"  backend: {value.backend}", highlight=False, soft_wrap=True)
        console.print(f"  convention: {value.convention}", highlight=False, soft_wrap=True)
        for side, applied in extra.get("inputs", {}).items():
            console.print(f"  {side}: {applied['file']} ({_describe(applied)})", highlight=False, soft_wrap=True)
    else:
        err_console.print(f"[yellow]{value.metric} {value.status}:[/] {value.reason}", highlight=False)
    if value.status != "ok":
        raise typer.Exit(EXIT_SKIPPED)


START_HELP = "First source frame of each video's window (as frames.start in a manifest)."
COUNT_HELP = "Frames of the window, from --start (as frames.count; default: to the end)."
NUM_FRAMES_HELP = "Resample the window evenly to this many frames, 2 to 1024 (as run --num-frames)."
SIZE_HELP = "Resize the frames to WIDTHxHEIGHT before scoring (as run --size)."


@dataclass(frozen=True)
class Window:
    """The frames of a video a single-video command scores: the runner's window, count and size options."""

    start: int = 0
    count: int | None = None
    num_frames: int | None = None
    size: tuple[int, int] | None = None

    @classmethod
    def parse(cls, start: int, count: int | None, num_frames: int | None, size: str | None) -> "Window":
        from motionbench.cli.options import check_budget, check_num_frames, check_window, parse_size

        check_window(start, count)
        the_size = parse_size(size)
        check_budget(check_num_frames(num_frames), the_size)
        return cls(start, count, num_frames, the_size)


def _read_window(path: Path, window: Window, min_frames: int):
    """(decoded clip, what was applied: file, source frames and size, window, frames and size scored)."""
    from motionbench.video import probe, read_video

    info = probe(path)
    clip = read_video(path, start=window.start, count=window.count, num_frames=window.num_frames,
                      size=window.size, min_frames=min_frames)
    end = info.num_frames if window.count is None else window.start + window.count
    applied = {"file": str(path), "source_frames": info.num_frames, "source_size": [info.width, info.height],
               "window": [window.start, end], "frames": clip.num_frames, "size": list(clip.size)}
    return clip, applied


def _describe(applied: dict) -> str:
    """``frames 0-299 of 300, resampled to 32; 1920x1080 -> 480x270`` for the text output."""
    start, end = applied["window"]
    text = f"frames {start}-{end - 1} of {applied['source_frames']}"
    if applied["frames"] != end - start:
        text += f", resampled to {applied['frames']}"
    sw, sh = applied["source_size"]
    w, h = applied["size"]
    return text + (f"; {sw}x{sh} -> {w}x{h}" if (sw, sh) != (w, h) else f"; {w}x{h}")


def _read_side(path: Path, window: Window) -> tuple[Any, dict | None]:
    """One side of a comparison: (a :class:`TrackFile`, None) for ``.npz``, else (the decoded video, what was applied)."""
    from motionbench.metrics.tracks import read_track_file

    if path.suffix == ".npz":
        return read_track_file(path), None
    return _read_window(path, window, min_frames=2)


def _pixel_space(side: Any, other: Any) -> tuple[int, int]:
    """The (width, height) a side's coordinates are in.

    A video's own size; a track file's ``size`` entry. A track file without one is in the pixels of
    the other side (its video, or its file's ``size``), and two files without one share one pixel
    space (the extent of both): files of one pixel space are compared unscaled.
    """
    from motionbench.metrics.tracks import TrackFile, coordinate_extent

    if not isinstance(side, TrackFile):
        return side.size
    if side.size is not None:
        return side.size
    if not isinstance(other, TrackFile):
        return other.size
    return other.size or coordinate_extent(side, other)


def _tracks_of(side: Any, size: tuple[int, int], box: Any, tracker: Any) -> tuple[Any, str]:
    """(Tracks, backend) of one side: a track file's tracks inside ``box``, or the tracker's on a video."""
    from motionbench.metrics.tracks import TrackFile

    if isinstance(side, TrackFile):
        tracks = side.with_size(size)
        return (tracks.inside(box) if box is not None else tracks), f"file:{side.path.name}"
    return tracker.track(side.frames, box), tracker.backend


@metric_app.command("motion-fidelity")
def motion_fidelity_cmd(
    reference: Path = typer.Option(..., "--reference", "-r", help="Reference video, or .npz tracks (tracks [N,T,2], optional visibility [N,T], size)."),
    generated: Path = typer.Option(..., "--generated", "-g", help="Generated video, or .npz tracks."),
    tracker: str = typer.Option("auto", help="auto (CoTracker3 when its weights are here, else lk), cotracker3 or lk."),
    variant: str = typer.Option("dmt", help="dmt: public DMT code, mean over generated of max over reference of (S - I); "
                                             "symmetric: the paper's two-sided form, halved; matched: position-matched "
                                             "displacement agreement."),
    grid: Optional[int] = typer.Option(None, help="Points per side of the tracking grid (default 55)."),
    box: Optional[str] = typer.Option(None, help="Foreground box x0,y0,x1,y1 in reference pixels: seed tracks only inside it."),
    tracker_repo: Optional[Path] = typer.Option(None, help="Local co-tracker checkout (default: $MOTIONBENCH_COTRACKER_REPO or the torch hub cache)."),
    tracker_checkpoint: Optional[Path] = typer.Option(None, help="CoTracker3 checkpoint (default: $TORCH_HOME/hub/checkpoints/scaled_offline.pth)."),
    device: str = typer.Option("cpu", help="torch device for CoTracker."),
    start: int = typer.Option(0, "--start", help=START_HELP),
    count: Optional[int] = typer.Option(None, "--count", help=COUNT_HELP),
    num_frames: Optional[int] = typer.Option(None, "--num-frames", help=NUM_FRAMES_HELP),
    size: Optional[str] = typer.Option(None, "--size", help=SIZE_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Motion fidelity of GENERATED against REFERENCE, in [-1, 1] (higher is better).

    Unit per-step displacements of grid tracks; corr = mean over steps of dot products. Videos of
    different lengths are resampled in time to the shorter; different sizes are compared in the
    reference's pixels. A displacement under 1e-3 px has a zero unit vector, so static points give
    0, not NaN. Track files without a size entry are in the pixels of the other side.
    --start/--count/--num-frames/--size apply to both videos (not to track files), as the runner
    applies them; a long clip (e.g. 300 frames of 1080p) is tracked much faster with --num-frames 32
    --size 480x270. The output says what was applied.
    """
    from motionbench.metrics.motion_fidelity import MotionFidelity
    from motionbench.metrics.trackers import build_tracker, scale_box

    metric = MotionFidelity(variant)
    if tracker == "gt":
        raise ConfigError("--tracker gt needs ground-truth tracks: pass them as --reference tracks.npz with --tracker lk")
    the_box = _parse_box(box)
    window = Window.parse(start, count, num_frames, size)
    extra: dict[str, Any] = {"reference": str(reference), "generated": str(generated)}
    choice = None
    if reference.suffix != ".npz" or generated.suffix != ".npz":  # a video to track (options checked before decoding)
        choice = build_tracker(tracker, grid=grid, device=device, repo=tracker_repo, checkpoint=tracker_checkpoint)
        if choice.tracker is None:
            _emit(metric.outcome("skipped", f"{tracker}:unavailable", reason=choice.unavailable), extra, as_json)
            return
    (ref, ref_applied), (gen, gen_applied) = _read_side(reference, window), _read_side(generated, window)
    inputs = {side: applied for side, applied in (("reference", ref_applied), ("generated", gen_applied)) if applied}
    if inputs:
        extra["inputs"] = inputs
    ref_size, gen_size = _pixel_space(ref, gen), _pixel_space(gen, ref)
    track = choice.tracker if choice is not None else None
    ref_tracks, ref_backend = _tracks_of(ref, ref_size, the_box, track)
    gen_box = scale_box(the_box, ref_size, gen_size) if the_box is not None else None
    gen_tracks, gen_backend = _tracks_of(gen, gen_size, gen_box, track)
    backend = ref_backend if ref_backend == gen_backend else f"reference={ref_backend};generated={gen_backend}"
    value = metric(generated_tracks=gen_tracks, reference_tracks=ref_tracks)
    _emit(metric.outcome("ok", backend, value=value), extra, as_json)


def _clip_metric(metric: str, video: Path, prompt: Optional[str], clip: str, device: str, as_json: bool,
                 window: Window) -> None:
    """One CLIP metric of one video, through the scorer the runner uses (the video is its own reference)."""
    from motionbench.metrics.scorer import FeatureOptions, build_scorer
    from motionbench.metrics.api import ScoringItem

    decoded, applied = _read_window(video, window, min_frames=1 if metric == "clip_text" else 2)
    extra = {"video": str(video), "inputs": {"video": applied}} | ({"prompt": prompt} if prompt is not None else {})
    scorer = build_scorer([metric], FeatureOptions(clip=clip, device=device))
    (value,) = scorer.score_sample(decoded, [ScoringItem("video", decoded, prompt or "")])["video"]
    _emit(value, extra, as_json)


@metric_app.command("clip-text")
def clip_text_cmd(
    video: Path = typer.Argument(..., help="The video to score."),
    prompt: str = typer.Option(..., "--prompt", "-p", help="The text prompt."),
    clip: str = typer.Option("ViT-B-32-quickgelu:openai", help=CLIP_HELP),
    device: str = typer.Option("cpu", help="torch device."),
    start: int = typer.Option(0, "--start", help=START_HELP),
    count: Optional[int] = typer.Option(None, "--count", help=COUNT_HELP),
    num_frames: Optional[int] = typer.Option(None, "--num-frames", help=NUM_FRAMES_HELP),
    size: Optional[str] = typer.Option(None, "--size", help=SIZE_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """CLIP text alignment: mean over all frames of cos(image, text).

    Convention: raw cosine of L2-normalised embeddings, no scaling (not 100x, not 2.5x) and no
    clamp; range [-1, 1]; FYM-style numbers are about 0.2-0.4.
    """
    _clip_metric("clip_text", video, prompt, clip, device, as_json, Window.parse(start, count, num_frames, size))


@metric_app.command("clip-temporal")
def clip_temporal_cmd(
    video: Path = typer.Argument(..., help="The video to score."),
    clip: str = typer.Option("ViT-B-32-quickgelu:openai", help=CLIP_HELP),
    device: str = typer.Option("cpu", help="torch device."),
    start: int = typer.Option(0, "--start", help=START_HELP),
    count: Optional[int] = typer.Option(None, "--count", help=COUNT_HELP),
    num_frames: Optional[int] = typer.Option(None, "--num-frames", help=NUM_FRAMES_HELP),
    size: Optional[str] = typer.Option(None, "--size", help=SIZE_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """CLIP temporal consistency: mean cos(image_t, image_t+1) over consecutive frames.

    Convention: raw cosine of L2-normalised embeddings, all T-1 consecutive pairs, no clamp; a
    static video scores 1.
    """
    _clip_metric("clip_temporal", video, None, clip, device, as_json, Window.parse(start, count, num_frames, size))


@app.command("metrics")
def metrics_command(
    name: Optional[str] = typer.Argument(None, help="Show this metric's variants, features, version and convention."),
) -> None:
    """List the registered metrics (built-in and plug-in; nothing but their specs is imported)."""
    from motionbench.metrics.base import METRICS

    if name is not None:
        cls = print_heading(METRICS, name)
        direction = "higher is better" if cls.higher_is_better else "lower is better"
        console.print(f"  version {cls.version}, {direction}", highlight=False)
        variants = [v for v in cls.variants if v]
        console.print(f"  variants: {', '.join(variants) if variants else 'none (one form)'}", highlight=False)
        console.print(f"  needs: {', '.join(cls.needs)}", highlight=False)
        console.print(f"  convention: {cls.convention}", highlight=False, soft_wrap=True)
        return
    print_listing(METRICS, "metric")
    console.print("details: `motionbench metrics NAME`; score with `motionbench run --metric NAME` or "
                  "`motionbench score RUN --metric NAME`")


# ------------------------------------------------------------------------------------------------
# doctor


def installation_rows() -> list[tuple[str, str, str]]:
    """Doctor rows of MotionBench itself: version, git commit (in a checkout), where its package data is."""
    from motionbench.package_data import installation, shipped_manifests
    from motionbench.report.reported import default_reported_dir
    from motionbench.run.env import git_state

    found = installation()
    version = found.version
    if found.metadata_version and found.metadata_version != found.version:
        version += f" (its installed metadata says {found.metadata_version}: reinstall it, e.g. make install)"
    rows = [("MotionBench", "info", f"{version}, {found.kind} at {found.package}")]
    if found.checkout is None:
        rows.append(("git commit", "info", "none: an installed package, not a git checkout"))
    else:
        git = git_state(found.checkout)
        rows.append(("git commit", "info", f"{git.describe()} in {found.checkout}" if git.commit
                     else f"none: {found.checkout} is not a git work tree"))
    manifests = shipped_manifests()
    rows.append(("package data", "ok" if "manifest" in manifests else "absent",
                 f"{found.data} (manifests: {', '.join(manifests) or 'none'}; --manifest NAME picks one)"))
    published = sorted(p.name for p in found.reported.glob("*") if p.suffix in (".yaml", ".yml", ".json"))
    detail = f"{found.reported} ({len(published)} file(s))"
    if default_reported_dir() != found.reported:
        detail += f"; report --with-reported reads {default_reported_dir()} instead (in the working directory)"
    rows.append(("published numbers", "ok" if published else "absent", detail))
    rows.append(("shipped assets", "ok" if found.assets.is_dir() else "absent",
                 str(found.assets) if found.assets.is_dir() else
                 f"{found.assets} is not in this installation (the toy world's trained weights)"))
    return rows


def doctor_rows() -> list[tuple[str, str, str]]:
    """(component, status, detail) rows; ``status`` is "ok", "absent" or "info". Never uses the network."""
    import importlib.metadata as md

    from motionbench import weights

    rows: list[tuple[str, str, str]] = installation_rows()

    def version(pkg: str) -> str | None:
        try:
            return md.version(pkg)
        except md.PackageNotFoundError:
            return None

    try:
        loc = weights.locate_clip("ViT-B-32-quickgelu", "openai")
        rows.append(("CLIP weights (ViT-B-32-quickgelu:openai)", "ok", f"{loc.path} ({loc.origin})"))
    except weights.WeightsMissing:
        rows.append(("CLIP weights (ViT-B-32-quickgelu:openai)", "absent",
                     "not in the MotionBench, Hugging Face or open_clip caches; get: motionbench download clip"))
    repo = ckpt = None
    try:
        repo = weights.locate_cotracker_repo()
        rows.append(("CoTracker code (facebookresearch/co-tracker)", "ok", f"{repo.path} ({repo.origin})"))
    except weights.WeightsError as exc:
        detail = (f"not in ${weights.COTRACKER_REPO_ENV} or {weights.torch_hub_dir()}; get: motionbench download cotracker"
                  if isinstance(exc, weights.WeightsMissing) else str(exc))
        rows.append(("CoTracker code (facebookresearch/co-tracker)", "absent", detail))
    try:
        ckpt = weights.locate_cotracker_checkpoint()
        rows.append(("CoTracker3 weights (scaled_offline.pth)", "ok", f"{ckpt.path} ({ckpt.origin})"))
    except weights.WeightsMissing:
        rows.append(("CoTracker3 weights (scaled_offline.pth)", "absent",
                     f"not in {weights.torch_hub_dir() / 'checkpoints'}; get: motionbench download cotracker"))
    rows.append(("--tracker auto uses", "info", "cotracker3" if repo and ckpt else "lk (CoTracker3 is absent)"))
    cv = version("opencv-python-headless") or version("opencv-python")
    rows.append(("OpenCV (lk tracker)", "ok" if cv else "absent", cv or "pip install opencv-python-headless"))
    oc = version("open_clip_torch")
    rows.append(("open_clip", "ok" if oc else "absent", oc or "pip install open_clip_torch"))
    dec, pyav = version("decord"), version("av")
    if dec or pyav:
        rows.append(("video decoding", "ok", f"decord {dec}" + (f" (PyAV {pyav} as fallback)" if pyav else "") if dec else f"PyAV {pyav} (decord not installed)"))
    else:
        rows.append(("video decoding", "absent", "pip install av (or decord)"))
    try:
        import torch

        if torch.cuda.is_available():
            dev = f"cuda: {torch.cuda.get_device_name(0)} (x{torch.cuda.device_count()})"
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            dev = "mps"
        else:
            dev = "cpu only (no CUDA device visible)"
        rows.append(("torch device", "ok", f"{dev}; torch {torch.__version__}"))
    except ImportError:
        rows.append(("torch device", "absent", "pip install torch"))
    try:
        wan = weights.locate_wan()
        rows.append((f"Wan weights ({weights.WAN_DEFAULT})", "ok", f"{wan.path} ({wan.origin})"))
    except weights.WeightsMissing:
        rows.append((f"Wan weights ({weights.WAN_DEFAULT})", "absent",
                     f"not in the Hugging Face cache; get: huggingface-cli download {weights.WAN_DEFAULT}"))
    allowed = weights.network_allowed()
    rows.append(("downloads at run time", "info", f"{'allowed' if allowed else 'off'} ({weights.ALLOW_ENV}="
                 f"{'1' if allowed else 'unset'}); motionbench download always may"))
    rows.append(("MotionBench cache", "info", str(weights.home())))
    return rows


@app.command()
def doctor() -> None:
    """Show this MotionBench's version and files, and which weights, trackers, decoders and devices are here."""
    rows = doctor_rows()
    table = Table(title="MotionBench environment", show_lines=False, min_width=100)
    table.add_column("component")
    table.add_column("status")
    table.add_column("where / how to get it", overflow="fold")
    style = {"ok": "green", "absent": "bold red", "info": "cyan"}
    for name, status, detail in rows:
        table.add_row(name, f"[{style[status]}]{status}[/]", detail)
    console.print(table)
    absent = [name for name, status, _ in rows if status == "absent"]
    if any(n.startswith("CLIP weights") for n in absent):
        console.print("CLIP weights are absent: clip_text and clip_temporal will be skipped. "
                      "Get them with: [bold]motionbench download clip[/]", highlight=False)
    if any(n.startswith("CoTracker") for n in absent):
        console.print("CoTracker3 is absent: motion fidelity will use the lk tracker with --tracker auto. "
                      "Get CoTracker3 with: [bold]motionbench download cotracker[/]", highlight=False)


@app.command()
def download(
    what: str = typer.Argument(..., help="clip, cotracker, or samples (the manifest's URL sources)"),
    clip: str = typer.Option("ViT-B-32-quickgelu:openai", help=CLIP_HELP),
    manifest: Optional[Path] = typer.Option(None, "--manifest", "-m", help="For samples: the manifest (default: data/manifest.yaml)."),
) -> None:
    """Download model weights into their caches, or a manifest's videos (checked by sha256 where published)."""
    from motionbench import weights

    if what == "samples":
        from motionbench.bench.download import download_samples
        from motionbench.bench.manifest import load_manifest

        results = download_samples(load_manifest(manifest))
        for r in results:
            console.print(f"{r.sample_id}: {r.status} {r.path}" + (f" ({r.error})" if r.error else ""), highlight=False)
        failed = [r for r in results if r.status == "failed"]
        console.print(f"{len(results)} URL sample(s): {len(results) - len(failed)} ready, {len(failed)} failed", highlight=False)
        if failed:
            raise typer.Exit(1)
    elif what == "clip":
        arch, tag = weights.parse_clip_spec(clip)
        if weights.is_weight_path(tag):
            raise ConfigError(f"--clip {clip} names a local file; there is nothing to download")
        loc = weights.fetch_clip(arch, tag, allow=True)
        console.print(f"CLIP {arch}:{tag}: {loc.path} ({loc.origin}), sha256 {loc.sha256}", highlight=False)
    elif what == "cotracker":
        repo, ckpt = weights.fetch_cotracker(allow=True)
        console.print(f"co-tracker code: {repo.path} ({repo.origin})", highlight=False)
        console.print(f"CoTracker3 weights: {ckpt.path} ({ckpt.origin}), sha256 {ckpt.sha256}", highlight=False)
    else:
        raise ConfigError(f"unknown download {what!r}; choose clip, cotracker or samples")
