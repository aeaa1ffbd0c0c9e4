"""``motionbench metric ...`` (score single videos), ``motionbench doctor`` and ``motionbench download``.

Heavy libraries load inside the commands, so registering them costs nothing at start-up.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from motionbench.cli.app import app, console, err_console
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


def _emit(record: dict, as_json: bool) -> None:
    """Print a score record; a skipped or failed score exits with status 3 after printing why."""
    if as_json:
        sys.stdout.write(json.dumps(record, sort_keys=True, allow_nan=False) + "\n")
    elif record["status"] == "ok":
        variant = f" ({record['variant']})" if record.get("variant") else ""
        console.print(f"{record['metric']}{variant}: [bold]{record['value']:.4f}[/]", highlight=False)
        console.print(f"  backend: {record['backend']}", highlight=False, soft_wrap=True)
        console.print(f"  convention: {record['convention']}", highlight=False, soft_wrap=True)
    else:
        err_console.print(f"[yellow]{record['metric']} {record['status']}:[/] {record['reason']}", highlight=False)
    if record["status"] != "ok":
        raise typer.Exit(EXIT_SKIPPED)


def _record(metric: str, variant: str, status: str, value: float | None, backend: str, reason: str | None, **extra) -> dict:
    from motionbench.metrics.base import get_metric

    cls = get_metric(metric)
    return dict(metric=metric, variant=variant, status=status, value=value, backend=backend, version=cls.version,
                convention=cls.convention, higher_is_better=cls.higher_is_better, reason=reason, **extra)


def _load_side(path: Path, other: Path):
    """One side of a comparison: (Tracks read from an .npz, its backend) or (a decoded video, None).

    A track file without a ``size`` entry is taken to be in the pixels of the other side when that
    is a video (the usual case: tracks of a clip compared with a generated video of the same size).
    """
    import numpy as np

    from motionbench.metrics.tracks import load_tracks
    from motionbench.video import probe, read_video

    if path.suffix == ".npz":
        size = None
        if other.suffix != ".npz":
            with np.load(path) as data:
                if "size" not in data.files:
                    info = probe(other)
                    size = (info.width, info.height)
        return load_tracks(path, size=size), f"file:{path.name}"
    return read_video(path, min_frames=2), None


@metric_app.command("motion-fidelity")
def motion_fidelity_cmd(
    reference: Path = typer.Option(..., "--reference", "-r", help="Reference video, or .npz tracks (tracks [N,T,2], optional visibility [N,T], size)."),
    generated: Path = typer.Option(..., "--generated", "-g", help="Generated video, or .npz tracks."),
    tracker: str = typer.Option("auto", help="auto (CoTracker3 when its weights are here, else lk), cotracker3 or lk."),
    variant: str = typer.Option("dmt", help="dmt: public DMT code, mean over generated of max over reference of (S - I); "
                                             "symmetric: the paper's two-sided form, halved."),
    grid: Optional[int] = typer.Option(None, help="Points per side of the tracking grid (default 55)."),
    box: Optional[str] = typer.Option(None, help="Foreground box x0,y0,x1,y1 in reference pixels: seed tracks only inside it."),
    tracker_repo: Optional[Path] = typer.Option(None, help="Local co-tracker checkout (default: $MOTIONBENCH_COTRACKER_REPO or the torch hub cache)."),
    tracker_checkpoint: Optional[Path] = typer.Option(None, help="CoTracker3 checkpoint (default: $TORCH_HOME/hub/checkpoints/scaled_offline.pth)."),
    device: str = typer.Option("cpu", help="torch device for CoTracker."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Motion fidelity of GENERATED against REFERENCE, in [-1, 1] (higher is better).

    Unit per-step displacements of grid tracks; corr = mean over steps of dot products. Videos of
    different lengths are resampled in time to the shorter; different sizes are compared in the
    reference's pixels. A displacement under 1e-3 px has a zero unit vector, so static points give
    0, not NaN.
    """
    from motionbench.metrics.motion_fidelity import VARIANTS, motion_fidelity
    from motionbench.metrics.trackers import build_tracker, scale_box
    from motionbench.metrics.tracks import Tracks

    if variant not in VARIANTS:
        raise ConfigError(f"unknown --variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    if tracker == "gt":
        raise ConfigError("--tracker gt needs ground-truth tracks: pass them as --reference tracks.npz with --tracker lk")
    the_box = _parse_box(box)
    needs_tracker = reference.suffix != ".npz" or generated.suffix != ".npz"
    choice = build_tracker(tracker, grid=grid, device=device, repo=tracker_repo, checkpoint=tracker_checkpoint) if needs_tracker else None
    backend_of_tracker = choice.tracker.backend if choice is not None and choice.tracker is not None else None
    if choice is not None and choice.tracker is None:
        _emit(_record("motion_fidelity", variant, "skipped", None, f"{tracker}:unavailable", choice.unavailable,
                      reference=str(reference), generated=str(generated)), as_json)
        return
    ref, ref_backend = _load_side(reference, generated)
    gen, gen_backend = _load_side(generated, reference)
    ref_size = ref.size
    if not isinstance(ref, Tracks):
        ref = choice.tracker.track(ref.frames, the_box)
        ref_backend = backend_of_tracker
    elif the_box is not None:
        ref = ref.inside(the_box)
    if not isinstance(gen, Tracks):
        gen_box = scale_box(the_box, ref_size, gen.size) if the_box is not None else None
        gen = choice.tracker.track(gen.frames, gen_box)
        gen_backend = backend_of_tracker
    elif the_box is not None:
        gen = gen.inside(scale_box(the_box, ref_size, gen.size))
    backend = ref_backend if ref_backend == gen_backend else f"reference={ref_backend};generated={gen_backend}"
    value = motion_fidelity(gen, ref, variant)
    _emit(_record("motion_fidelity", variant, "ok", value, backend, None,
                  reference=str(reference), generated=str(generated)), as_json)


def _clip_metric(metric: str, video: Path, prompt: Optional[str], clip: str, device: str, as_json: bool) -> None:
    from motionbench.metrics.clip import ClipEncoder, clip_temporal_score, clip_text_score
    from motionbench.video import read_video
    from motionbench.weights import WeightsMissing

    extra = {"video": str(video)} | ({"prompt": prompt} if prompt is not None else {})
    frames = read_video(video, min_frames=1 if metric == "clip_text" else 2).frames
    try:
        enc = ClipEncoder(clip, device=device)
    except WeightsMissing as exc:
        _emit(_record(metric, "", "skipped", None, f"open_clip:{clip}:unavailable", str(exc), **extra), as_json)
        return
    emb = enc.encode_frames(frames)
    value = clip_text_score(emb, enc.encode_text(prompt)) if metric == "clip_text" else clip_temporal_score(emb)
    _emit(_record(metric, "", "ok", value, enc.backend, None, **extra), as_json)


@metric_app.command("clip-text")
def clip_text_cmd(
    video: Path = typer.Argument(..., help="The video to score."),
    prompt: str = typer.Option(..., "--prompt", "-p", help="The text prompt."),
    clip: str = typer.Option("ViT-B-32-quickgelu:openai", help=CLIP_HELP),
    device: str = typer.Option("cpu", help="torch device."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """CLIP text alignment: mean over all frames of cos(image, text).

    Convention: raw cosine of L2-normalised embeddings, no scaling (not 100x, not 2.5x) and no
    clamp; range [-1, 1]; FYM-style numbers are about 0.2-0.4.
    """
    _clip_metric("clip_text", video, prompt, clip, device, as_json)


@metric_app.command("clip-temporal")
def clip_temporal_cmd(
    video: Path = typer.Argument(..., help="The video to score."),
    clip: str = typer.Option("ViT-B-32-quickgelu:openai", help=CLIP_HELP),
    device: str = typer.Option("cpu", help="torch device."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """CLIP temporal consistency: mean cos(image_t, image_t+1) over consecutive frames.

    Convention: raw cosine of L2-normalised embeddings, all T-1 consecutive pairs, no clamp; a
    static video scores 1.
    """
    _clip_metric("clip_temporal", video, None, clip, device, as_json)


# ------------------------------------------------------------------------------------------------
# doctor


def doctor_rows() -> list[tuple[str, str, str]]:
    """(component, status, detail) rows; ``status`` is "ok", "absent" or "info". Never uses the network."""
    import importlib.metadata as md

    from motionbench import weights

    rows: list[tuple[str, str, str]] = []

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
    """Show which weights, trackers, decoders and devices are available here, and from where."""
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
    what: str = typer.Argument(..., help="clip or cotracker"),
    clip: str = typer.Option("ViT-B-32-quickgelu:openai", help=CLIP_HELP),
) -> None:
    """Download model weights into their caches (checked by sha256 where published)."""
    from motionbench import weights

    if what == "clip":
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
        raise ConfigError(f"unknown download {what!r}; choose clip or cotracker")
