"""``motionbench toy ...``: build the toy world's training set, train its models, export them.

Typical use (the recipe of the shipped weights; see their model cards)::

    motionbench toy data  --out .cache/toy/data            # fits the codec, renders + encodes the clips
    motionbench toy train --data .cache/toy/data --run .cache/toy/run   # resumable: rerun to continue
    motionbench toy export --run .cache/toy/run             # EMA weights -> motionbench/assets/toy/wan

``--task recapture`` builds and trains the recapture task's toy inpainting model instead
(:mod:`motionbench.toy.inpaint`; ``export`` then writes motionbench/assets/toy/vace).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Optional

import typer

from motionbench.cli.app import app, console

toy_app = typer.Typer(help="The toy world's models: build the training set, train, export.", no_args_is_help=True)
app.add_typer(toy_app, name="toy")

TASKS = ("motion_transfer", "recapture")
TASK_HELP = "motion_transfer (the toy text-to-video model) or recapture (the toy inpainting model of rendered rooms)."


def _task(task: str) -> str:
    if task not in TASKS:
        raise typer.BadParameter(f"{task!r} is not one of: {', '.join(TASKS)}", param_hint="--task")
    return task


@toy_app.command("data")
def data(
    out: Path = typer.Option(Path(".cache/toy/data"), help="Folder of the training set (and its codec in OUT/codec)."),
    count: int = typer.Option(24000, min=16, help="Number of training clips."),
    seed: int = typer.Option(0, min=0, help="Data seed: clip i is fixed by (seed, i)."),
    codec_clips: int = typer.Option(400, min=8, help="Clips (of a separate stream) the PCA codec is fitted on."),
    channels: int = typer.Option(48, min=1, max=192, help="Codec latent channels (principal components)."),
    workers: int = typer.Option(2, min=1, help="Render/encode processes."),
    task: str = typer.Option("motion_transfer", help=TASK_HELP),
) -> None:
    """Fit the toy codec and render + encode the training clips (resumes a killed build).

    With ``--task recapture``: rooms warped along random camera paths and their exact views (the codec
    is fitted on ``--codec-clips`` / 2 rooms, its channels are 64 of 8 x 8 blocks; ``--channels`` is ignored).
    """
    from rich.progress import Progress

    from motionbench.toy import data as t2v, inpaint

    recapture = _task(task) == "recapture"
    chunk = inpaint.CHUNK if recapture else t2v.CHUNK
    codec_dir = out / "codec"
    if not (codec_dir / "config.json").is_file():
        if recapture:
            console.print(f"fitting the codec on {codec_clips // 2} rooms ({inpaint.Z_DIM} channels)")
            inpaint.fit_inpaint_codec(seed, max(1, codec_clips // 2)).save_pretrained(str(codec_dir))
        else:
            console.print(f"fitting the codec on {codec_clips} clips ({channels} channels)")
            t2v.fit_codec(seed, codec_clips, channels).save_pretrained(str(codec_dir))
    build = inpaint.build_inpaint_dataset if recapture else t2v.build_dataset
    with Progress(console=console) as progress:
        bar = progress.add_task("rendering + encoding", total=count)
        done_path = out / "done.json"
        if done_path.exists():
            progress.update(bar, completed=sum(min(chunk, count - s) for s in json.loads(done_path.read_text())["done"]))
        build(out, count, seed, codec_dir, workers=workers, progress=lambda n: progress.advance(bar, n))
    console.print(f"training set: {out} ({count} {'warps' if recapture else 'clips'})")


@toy_app.command("train")
def train(
    data_dir: Path = typer.Option(Path(".cache/toy/data"), "--data", help="Training set from `motionbench toy data`."),
    run_dir: Path = typer.Option(Path(".cache/toy/run"), "--run", help="Run folder (checkpoints, losses); resumed if present."),
    steps: int = typer.Option(12000, min=1, help="Total optimiser steps of the run."),
    batch: int = typer.Option(8, min=1, help="Clips per step."),
    lr: float = typer.Option(8e-4, min=0.0, help="Peak learning rate (cosine decay to 10%)."),
    seed: int = typer.Option(0, min=0),
    device: str = typer.Option("cpu", help="cpu or cuda."),
    threads: int = typer.Option(2, min=1, help="CPU threads for torch."),
    compile: bool = typer.Option(False, "--compile/--no-compile", help="torch.compile the transformer (~20% faster on CPU after ~2 min)."),
    until: Optional[int] = typer.Option(None, help="Stop at this step (resume later with the same command)."),
    task: str = typer.Option("motion_transfer", help=TASK_HELP),
    init: Optional[Path] = typer.Option(None, help="Start from an exported model (e.g. motionbench/assets/toy/wan) "
                                                   "instead of random weights: a fine-tune on the same codec."),
    shift: float = typer.Option(1.0, min=0.01, help="Training noise-level shift (>1 trains more at high noise, "
                                                    "where layout and motion are decided)."),
    ema: float = typer.Option(0.999, min=0.0, max=1.0, help="Decay of the exported moving average of the weights."),
) -> None:
    """Train the toy text-to-video model, or the inpainting model (rectified flow, EMA; checkpoints every 250 steps)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from motionbench.toy.train import ToyTrainer, TrainSettings

    extra = {}
    if _task(task) == "recapture":
        from motionbench.toy.inpaint import inpaint_architecture

        extra = dict(architecture=inpaint_architecture().to_dict(), empty_caption=0.0)
    settings = TrainSettings(steps=steps, batch=batch, lr=lr, seed=seed, device=device, threads=threads, shift=shift, ema=ema,
                             compile=compile, init=str(init) if init else "", **extra)
    trainer = ToyTrainer(run_dir, data_dir, data_dir / "codec", settings)
    if compile:
        import torch

        trainer.forward = torch.compile(trainer.transformer)
    target = steps if until is None else min(until, steps)
    smooth = {"loss": math.nan}
    start = time.perf_counter()
    with Progress(TextColumn("[bold]toy train"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TextColumn("loss {task.fields[loss]}"), TextColumn("{task.fields[rate]}"), TimeRemainingColumn(),
                  console=console) as progress:
        task = progress.add_task("train", total=target, completed=trainer.step, loss="-", rate="")

        def on_step(step: int, loss: float, dt: float) -> None:
            smooth["loss"] = loss if math.isnan(smooth["loss"]) else 0.98 * smooth["loss"] + 0.02 * loss
            progress.update(task, completed=step, loss=f"{smooth['loss']:.4f}", rate=f"{dt:.2f} s/step")

        trainer.run(until=target, on_step=on_step)
    console.print(f"step {trainer.step} in {time.perf_counter() - start:.0f} s; checkpoint {trainer.checkpoint_path}")


@toy_app.command("export")
def export(
    run_dir: Path = typer.Option(Path(".cache/toy/run"), "--run", help="Run folder of `motionbench toy train`."),
    data_dir: Path = typer.Option(Path(".cache/toy/data"), "--data", help="Its training set (for the codec)."),
    out: Optional[Path] = typer.Option(None, help="Output folder (default: the package's assets/toy/wan, or "
                                                 "assets/toy/vace for an inpainting run)."),
) -> None:
    """Write the run's EMA weights in the diffusers layout (the shipped `model=toy` backbone)."""
    from motionbench.toy.train import ToyTrainer, TrainSettings

    settings = TrainSettings(**json.loads((run_dir / "settings.json").read_text()))
    trainer = ToyTrainer(run_dir, data_dir, data_dir / "codec", settings)
    if out is None:
        from motionbench.toy.assets import _asset

        out = _asset("vace" if "vace_layers" in settings.architecture["transformer"] else "wan")
    trainer.export(out)
    console.print(f"exported step {trainer.step} to {out}")


@toy_app.command("train-clip")
def train_clip(
    data_dir: Path = typer.Option(Path(".cache/toy/data"), "--data", help="Training set from `motionbench toy data`."),
    out: Optional[Path] = typer.Option(None, help="Output folder (default: the package's assets/toy/clip)."),
    steps: int = typer.Option(2500, min=1),
    batch: int = typer.Option(128, min=2),
    lr: float = typer.Option(1e-3, min=0.0),
    seed: int = typer.Option(0, min=0),
    threads: int = typer.Option(2, min=1),
) -> None:
    """Train the toy CLIP contrastively on the training set's frames (through the codec) and captions."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from motionbench.toy.clip import ClipSettings, train_clip as _train

    if out is None:
        from motionbench.toy.assets import _asset

        out = _asset("clip")
    with Progress(TextColumn("[bold]toy CLIP"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TextColumn("loss {task.fields[loss]}"), TimeRemainingColumn(), console=console) as progress:
        task = progress.add_task("clip", total=steps, loss="-")
        record = _train(data_dir, out, ClipSettings(steps=steps, batch=batch, lr=lr, seed=seed, threads=threads),
                        on_step=lambda s, loss, dt: progress.update(task, completed=s, loss=f"{loss:.3f}"))
    console.print(f"toy CLIP: {steps} steps in {record['seconds']:.0f} s -> {out}")
