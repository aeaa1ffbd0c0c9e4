"""Everything the CPU cannot measure, in one command that fits one short GPU lease.

A GPU comes only now and then, for minutes, with no network. This script is ready before one
appears, runs as one command, stops by itself within ``--budget`` seconds (default 540: nine
minutes) and brings every figure back in one JSON plus a short Markdown summary. Sections, in
order of value, each with its own time budget:

1. ``fym_stages``      FYM on ``wan2.1-1.3b-random`` (the real Wan2.1-1.3B architecture, random
   weights) in bf16 with gradient checkpointing at 81 frames, 480x832: head classification (time,
   peak memory), the spatial step, the temporal step dense (all 81 frames) and sparse (17 of 81),
   the two-stage LoRA steps at the same size; seconds per step as medians after warm-up, peak
   memory per stage, and the projected total tuning time of FYM and of two-stage LoRA at the
   presets' step counts, with their ratio (goals: FYM at most 0.25x two-stage LoRA; sparse at
   least 3x faster per temporal step).
2. ``fym_run``         one ``motionbench run --method fym`` at real size with a few steps per stage
   and few sampling steps: it must complete and write a video, a record and scores.
3. ``motiondirector``, ``ditflow``  a few training / guidance steps of each at real size through
   ``motionbench run``: time and peak memory (and DiTFlow's cost per guided denoising step);
   ``fyc``: ``motionbench run --task recapture --method fyc`` on ``wan2.1-vace-1.3b-random`` at the
   1.3B preset's size (512x512, 81 frames, rank 128) with a few steps in each of its three angle
   stages (the later two re-render their own outputs), then one packed re-rendering along an orbit
   scored against the scene's exact view: seconds per step of each stage, fit and generation time,
   peak memory.
4. ``cotracker``       CoTracker3 offline (real architecture; random weights unless a checkpoint is
   on the machine) on an 81-frame 480x832 clip at grid 55; ``clip``: CLIP ViT-B/32 and ViT-L/14
   image passes in frames/s (random weights: the arithmetic of the real models).
5. ``toy``             the toy world's model trained on the GPU for the minutes left (a hook that
   calls ``motionbench toy train``; skipped, saying why, where that command does not exist yet).

``machine`` runs first: the device, driver, package versions, the git commit and one bf16 matrix
product as a ceiling.

How it stays inside the lease: each section runs in its own process group with a deadline; a
section that fails or runs out of time is recorded as such (with the figures it had already
written, and the end of its output) and the next one starts, so a hung CUDA call cannot stall the
rest. Results are rewritten after every section, so whatever happened so far is on disk. On the
GPU each section is a fresh interpreter (nothing CUDA-related is shared); ``--smoke`` forks them
from one process that imported torch once (CPU only), so the whole smoke run costs about 30
CPU-seconds. The ``motionbench run`` sections call the CLI's own command in the section's process.

    python benchmarks/device_check.py --smoke                # every section on the CPU, tiny sizes
    python benchmarks/device_check.py --copy-to "$OUT"        # on the GPU machine (see prepare_device.py)
    python benchmarks/device_check.py --only fym_stages --budget 240

Results: ``benchmarks/results/<date>-<device>.json`` and ``.md`` (``--out``; ``--smoke`` writes to
``results/device-check-smoke/`` unless told otherwise), copied to ``--copy-to`` with the full log.
``benchmarks/prepare_device.py`` gathers the wheels the GPU machine lacks and prints the one-line
command that installs them there and runs this script.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import datetime as dt
import json
import math
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import IO, Any, Callable, Iterator

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

FORMAT = "motionbench-device-check/1"
TOTAL_BUDGET_S = 540.0  # nine minutes: the lease's ten-minute command limit, less the wheel install
RESERVE_S = 20.0  # kept back at the end: killing a section (2 x KILL_GRACE_S), its output, the results
KILL_GRACE_S = 5.0  # between SIGTERM (or SIGINT) and SIGKILL
GIB = 2**30
GOAL_RATIO = 0.25  # FYM total tuning time / two-stage LoRA's, at most
GOAL_SPEEDUP = 3.0  # dense / sparse seconds per temporal step, at least


# --------------------------------------------------------------------------------------------------
# What each mode measures
# --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Profile:
    """Sizes and budgets of one mode: ``gpu`` (real sizes) or ``smoke`` (CPU, tiny)."""

    name: str
    device: str
    model: str  # backbone of section 1 and of the CLI runs
    dtype: str
    frames: int
    height: int
    width: int
    sparse_frames: int
    rank: int | None  # None: the FYM ``paper`` preset's rank
    warmup: int  # steps not timed (train() already drops its first one)
    timed_light: int  # timed steps of the cheap stages (spatial, sparse)
    timed_heavy: int  # timed steps of the dense stages
    run_opts: dict[str, tuple[str, ...]]  # method -> --method-opt values of its CLI run
    run_clip: str  # --clip of the end-to-end run ("" = the default, skipped without weights)
    tracker_frames: int
    tracker_height: int
    tracker_width: int
    grid: int
    tracker_warmup: bool
    clip_archs: tuple[str, ...]
    clip_frames: int
    clip_repeats: int
    matmul_size: int
    budgets: dict[str, float]
    total_budget: float
    min_section_s: float


GPU = Profile(
    name="gpu", device="cuda", model="wan2.1-1.3b-random", dtype="bf16", frames=81, height=480, width=832,
    sparse_frames=17, rank=None, warmup=2, timed_light=5, timed_heavy=3,
    run_opts={
        "fym": ("model=wan2.1-1.3b-random", "spatial_steps=3", "temporal_steps=3",
                "sample_steps=4"),
        "motiondirector": ("model=wan2.1-1.3b-random", "steps=2", "sample_steps=2"),
        "ditflow": ("model=wan2.1-1.3b-random", "guidance_steps=2", "optimization_steps=2", "sample_steps=3"),
        # The 1.3B preset's size (512x512, 81 frames, rank 128) and its three angle stages: two self-iterative
        # rounds, each re-rendering once, so every part of the fit runs.
        "fyc": ("preset=1.3b", "model=wan2.1-vace-1.3b-random", "steps=2", "round_steps=1",
                "outputs_per_round=1", "sample_steps=2"),
    },
    run_clip="ViT-B-32-quickgelu:random",
    tracker_frames=81, tracker_height=480, tracker_width=832, grid=55, tracker_warmup=True,
    clip_archs=("ViT-B-32-quickgelu", "ViT-L-14-quickgelu"), clip_frames=81, clip_repeats=10,
    matmul_size=8192,
    budgets={"machine": 45, "fym_stages": 150, "fym_run": 90, "motiondirector": 60, "ditflow": 55,
             "fyc": 75, "cotracker": 30, "clip": 30, "toy": math.inf},
    total_budget=TOTAL_BUDGET_S, min_section_s=20.0,
)

SMOKE = Profile(
    name="smoke", device="cpu", model="tiny", dtype="fp32", frames=17, height=32, width=32, sparse_frames=9,
    rank=4, warmup=1, timed_light=2, timed_heavy=2,
    run_opts={
        "fym": ("preset=tiny", "spatial_steps=1", "temporal_steps=1", "sample_steps=1"),
        "motiondirector": ("preset=tiny", "steps=1", "sample_steps=1"),
        "ditflow": ("preset=tiny", "guidance_steps=1", "optimization_steps=1", "sample_steps=2"),
        "fyc": ("preset=tiny", "steps=1", "round_steps=1", "sample_steps=1"),
    },
    run_clip="",
    tracker_frames=9, tracker_height=64, tracker_width=96, grid=5, tracker_warmup=False,
    clip_archs=("mb-smoke-clip",), clip_frames=4, clip_repeats=2,
    matmul_size=256,
    budgets={"machine": 60, "fym_stages": 90, "fym_run": 90, "motiondirector": 60, "ditflow": 60,
             "fyc": 60, "cotracker": 90, "clip": 60, "toy": 90},
    total_budget=600.0, min_section_s=3.0,
)


@dataclass
class Section:
    name: str
    title: str
    run: Callable[["Context"], None]
    needs_gpu_machine: bool = True  # skipped on a cuda run whose machine check found no GPU


class Skip(Exception):
    """Raised by a section that cannot run here; the message says why and how to make it run."""


# --------------------------------------------------------------------------------------------------
# Inside a section's process
# --------------------------------------------------------------------------------------------------

@dataclass
class Context:
    """What a section's process gets: the mode, where to work, when to stop, where figures go."""

    profile: Profile
    workdir: Path
    result_path: Path
    deadline: float  # time.time() by which the parent kills this process
    options: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def device(self) -> str:
        return self.profile.device

    def remaining(self) -> float:
        return self.deadline - time.time()

    def record(self, key: str, value: Any) -> None:
        """Keep a figure and rewrite the result file at once (a later kill loses nothing)."""
        self.figures[key] = value
        self._write("running")
        print(f"  {key}: {_short(value)}", flush=True)

    def _write(self, status: str, **extra: Any) -> None:
        _write_json(self.result_path, {"status": status, "figures": self.figures, **extra})


def _short(value: Any, limit: int = 300) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= limit else text[:limit] + "..."


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str, allow_nan=True))
    tmp.replace(path)


def _worker_main(section_name: str, context_file: Path) -> int:
    spec = json.loads(context_file.read_text())
    profile = Profile(**spec["profile"])
    ctx = Context(profile=profile, workdir=Path(spec["workdir"]), result_path=Path(spec["result"]),
                  deadline=float(spec["deadline"]), options=spec["options"])
    section = SECTIONS_BY_NAME[section_name]
    try:
        section.run(ctx)
    except Skip as exc:
        ctx._write("skipped", reason=str(exc))
        print(f"  skipped: {exc}", flush=True)
        return 0
    except BaseException as exc:  # noqa: BLE001 - everything a section raises is its result
        ctx._write("failed", error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc()[-4000:])
        traceback.print_exc()
        return 1
    ctx._write("ok")
    return 0


def _measure(device: str):
    from motionbench.run.measure import measure_phase

    return measure_phase(device)


def _memory(m: Any) -> dict[str, Any]:
    mb = m.peak_memory_mb
    return {"peak_memory_gib": None if mb is None else round(mb / 1024, 3), "memory_kind": m.memory_kind}


def _clip_frames(frames: int, width: int, height: int, seed: int = 1):
    """A reference-like clip: the harness's seeded single-object scene (content does not change timing)."""
    from motionbench.bench.synthetic import render

    return render("single_object", seed=seed, num_frames=frames, size=(width, height)).frames


# --------------------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------------------

def section_machine(ctx: Context) -> None:
    """Device, driver, versions, commit; one bf16 (CPU: fp32) matrix product as a ceiling."""
    from motionbench.run.env import TRACKED_PACKAGES, device_info, git_state, package_versions

    from dataclasses import asdict

    ctx.record("device", asdict(device_info(ctx.device)))
    ctx.record("versions", {"python": sys.version.split()[0],
                            **package_versions(TRACKED_PACKAGES + ("ftfy", "ruamel.yaml", "timm", "safetensors"))})
    git = asdict(git_state())
    if git.get("commit") is None and os.environ.get("MOTIONBENCH_GIT_COMMIT"):
        git = {"commit": os.environ["MOTIONBENCH_GIT_COMMIT"], "dirty": os.environ.get("MOTIONBENCH_GIT_DIRTY"),
               "from": "MOTIONBENCH_GIT_COMMIT (set by prepare_device.py's command)"}
    ctx.record("git", git)
    from motionbench.methods.registry import METHODS

    ctx.record("methods", METHODS.names())
    if shutil.which("nvidia-smi"):  # read-only queries; the card's settings are left as they are
        query = "name,driver_version,memory.total,memory.used,temperature.gpu,power.draw,clocks.sm,clocks.max.sm"
        try:
            out = subprocess.run(["nvidia-smi", f"--query-gpu={query}", "--format=csv,noheader"],
                                 capture_output=True, text=True, timeout=20)
            smi: Any = dict(zip(query.split(","), (v.strip() for v in out.stdout.split(","))))
        except (OSError, subprocess.SubprocessError) as exc:
            smi = f"nvidia-smi failed: {exc}"
        ctx.record("nvidia_smi", smi)
    import torch

    if ctx.device.startswith("cuda"):
        ctx.record("cuda_available", torch.cuda.is_available())  # False: the later sections are skipped
    if ctx.device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError("torch sees no CUDA device (torch.cuda.is_available() is False); "
                           "run with --smoke on a machine without a GPU")
    n = ctx.profile.matmul_size
    dtype = torch.bfloat16 if ctx.device.startswith("cuda") else torch.float32
    gen = torch.Generator(device=ctx.device).manual_seed(0)
    a = torch.randn(n, n, device=ctx.device, dtype=dtype, generator=gen)
    b = torch.randn(n, n, device=ctx.device, dtype=dtype, generator=gen)
    times = []
    for _ in range(8):
        _sync(ctx.device)
        t0 = time.perf_counter()
        (a @ b).sum().item()
        times.append(time.perf_counter() - t0)
    best = statistics.median(times[2:])
    ctx.record("matmul", {"n": n, "dtype": str(dtype).replace("torch.", ""), "median_s": best,
                          "tflops": 2 * n**3 / best / 1e12})


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def _preset(method: str, name: str) -> dict[str, Any]:
    """Every option of ``method``'s preset ``name``: the config's defaults with the preset's values."""
    import dataclasses

    from motionbench.methods.config import preset_values
    from motionbench.methods.registry import load_method_class

    cls = load_method_class(method)
    presets = getattr(cls, "presets", {}) or {}
    if name not in presets:
        raise KeyError(f"method {method!r} has no preset {name!r} (has: {', '.join(presets) or 'none'})")
    return {**dataclasses.asdict(cls.Config()), **preset_values(cls, name)}


def section_fym_stages(ctx: Context) -> None:
    """FYM's three stages and two-stage LoRA's two, timed per step at the same size."""
    import torch

    from motionbench.backbones import load_backbone
    from motionbench.backbones.lora import remove_loras

    from motionbench_fym.heads import classify_heads
    from motionbench_fym.sparse import sparse_indices
    from motionbench_fym.stages import StageSettings, TemporalOptions, spatial_stage, temporal_stage

    from diffusers import AutoencoderKLWan, WanTransformer3DModel  # noqa: F401 - imported before the load is timed

    p, dev = ctx.profile, ctx.device
    paper = _preset("fym", "paper")
    rank = p.rank or int(paper["rank"])
    alpha = float(rank) if p.rank else float(paper.get("lora_alpha", rank))
    ctx.record("settings", {"model": p.model, "dtype": p.dtype, "frames": p.frames, "height": p.height,
                            "width": p.width, "sparse_frames": p.sparse_frames, "rank": rank, "lora_alpha": alpha,
                            "gradient_checkpointing": True, "warmup_steps": p.warmup,
                            "head_split": "half of each block's heads spatial, half temporal (random weights "
                                          "have no head specialisation; the classifier's counts are recorded)"})
    with _measure(dev) as m:
        backbone = load_backbone(p.model, device=dev, dtype=p.dtype, gradient_checkpointing=True)
    resident = torch.cuda.memory_allocated() / GIB if dev.startswith("cuda") else None
    ctx.record("load", {"seconds": m.seconds, "resident_gib": resident, **_memory(m)})
    clip = _clip_frames(p.frames, p.width, p.height)
    embeds = backbone.encode_prompts(["a video"])
    with _measure(dev) as m:
        clip_latents = backbone.encode_video(clip)
    ctx.record("vae_encode", {"frames": p.frames, "latent_shape": list(clip_latents.shape), "seconds": m.seconds,
                              **_memory(m)})
    frame_latents = backbone.encode_frames(clip[:4])
    idx = sparse_indices(p.frames, p.sparse_frames)
    sparse_cache = {tuple(idx): backbone.encode_video(clip[idx])}

    with _measure(dev) as m:
        scores = classify_heads(backbone, clip_latents, embeds, alpha=float(paper.get("alpha_threshold", 1.25)))
    n_spatial, n_temporal = scores.counts()
    ctx.record("heads", {"seconds": m.seconds, **_memory(m), "spatial": n_spatial, "temporal": n_temporal,
                         "tokens": int(clip_latents.shape[2] * scores.tokens_per_frame)})

    tokens_per_frame = scores.tokens_per_frame
    half = backbone.num_heads // 2
    spatial_heads = [list(range(half))] * backbone.num_blocks
    temporal_heads = [list(range(half, backbone.num_heads))] * backbone.num_blocks
    every = [list(range(backbone.num_heads))] * backbone.num_blocks
    sparse = TemporalOptions(sparse=True, sparse_frames=p.sparse_frames, adaptive_rope=True, motion_loss=True)
    dense = TemporalOptions(sparse=False, adaptive_rope=True, motion_loss=True)
    plain = TemporalOptions(sparse=False, adaptive_rope=False, motion_loss=False)
    # Sparse against dense first: the pair the headline speed-up needs.
    stages: list[tuple[str, int, Callable[[StageSettings], Any]]] = [
        ("temporal_sparse", p.timed_light, lambda s: temporal_stage(backbone, clip, clip_latents, embeds, temporal_heads,
                                                                    s, sparse, encoded=sparse_cache)),
        ("temporal_dense", p.timed_heavy, lambda s: temporal_stage(backbone, clip, clip_latents, embeds, temporal_heads,
                                                                   s, dense)),
        ("spatial", p.timed_light, lambda s: spatial_stage(backbone, frame_latents, embeds, spatial_heads, s)),
        ("two_stage_spatial", p.timed_light, lambda s: spatial_stage(backbone, frame_latents, embeds, every, s)),
        ("two_stage_temporal", p.timed_heavy, lambda s: temporal_stage(backbone, clip, clip_latents, embeds, every, s,
                                                                       plain)),
    ]
    per_step: dict[str, float] = {}
    for name, timed, run_stage in stages:
        remove_loras(backbone.transformer)
        settings = StageSettings(steps=p.warmup + timed, lr=1e-4, weight_decay=0.1, rank=rank, alpha=alpha)
        with _measure(dev) as m:
            result = run_stage(settings)
        steps = list(result.stats.step_seconds)[max(0, p.warmup - 1):]  # step 0 is already left out
        per_step[name] = statistics.median(steps)
        latent_frames = result.latent_frames_per_step[-1]
        ctx.record(name, {"seconds_per_step": per_step[name], "step_seconds": steps, "latent_frames": latent_frames,
                          "tokens": latent_frames * tokens_per_frame, "lora_heads": result.heads,
                          "stage_seconds": m.seconds, **_memory(m)})
    remove_loras(backbone.transformer)
    classify_s = ctx.figures["heads"]["seconds"]
    presets = {name: (_preset("fym", name), _preset("two-stage-lora", name)) for name in ("paper", "code")}
    # Step times were measured at one rank (the paper preset's on the GPU); the code preset's rank 16
    # would be a little cheaper per step for both methods alike.
    ctx.record("projection", {**projection(per_step, classify_s, presets), "measured_at_rank": rank})


def projection(per_step: dict[str, float], classify_s: float,
               presets: dict[str, tuple[dict[str, Any], dict[str, Any]]]) -> dict[str, Any]:
    """Total tuning seconds of FYM and two-stage LoRA at each preset's step counts, and the goals.

    FYM = head classification + spatial steps x spatial s/step + temporal steps x sparse s/step;
    two-stage LoRA = its spatial steps x all-head spatial s/step + its temporal steps x all-head
    dense s/step. Reference encoding (the same for both) is left out.
    """
    speedup = per_step["temporal_dense"] / per_step["temporal_sparse"]
    out: dict[str, Any] = {"sparse_speedup": speedup, "sparse_speedup_goal": f">= {GOAL_SPEEDUP:g}",
                           "sparse_speedup_met": speedup >= GOAL_SPEEDUP, "presets": {}}
    for name, (fym, two) in presets.items():
        fym_total = (classify_s + fym["spatial_steps"] * per_step["spatial"]
                     + fym["temporal_steps"] * per_step["temporal_sparse"])
        two_total = (two["spatial_steps"] * per_step["two_stage_spatial"]
                     + two["temporal_steps"] * per_step["two_stage_temporal"])
        ratio = fym_total / two_total
        out["presets"][name] = {"fym_steps": [fym["spatial_steps"], fym["temporal_steps"]],
                                "two_stage_steps": [two["spatial_steps"], two["temporal_steps"]],
                                "fym_total_s": fym_total, "two_stage_total_s": two_total, "ratio": ratio,
                                "ratio_goal": f"<= {GOAL_RATIO:g}", "ratio_met": ratio <= GOAL_RATIO}
    return out


def _write_manifest(path: Path, frames: int, width: int, height: int) -> Path:
    """A one-sample manifest: a seeded single-object clip of the size under test."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "schema_version: 1\nname: device-check\nversion: \"1\"\n"
        "categories:\n  single_object: {description: one object on a path}\n"
        "samples:\n  - id: dc-object\n    category: single_object\n"
        "    source: {synthetic: {generator: single_object, seed: 1}}\n"
        f"    frames: {{count: {frames}}}\n    size: [{width}, {height}]\n"
        "    prompts: [\"a red ball rolling across a wooden table\"]\n")
    return path


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _cli_env() -> dict[str, str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.setdefault("HF_HUB_OFFLINE", "1")
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])
    return env


def run_cli(args: list[str]) -> int:
    """``motionbench ARGS`` in this process (the section's process: its deadline covers it); the exit code.

    Raises:
        RuntimeError: a usage error (unknown option or command), with the CLI's message.
    """
    from motionbench.cli import app

    print("  $ motionbench " + " ".join(args), flush=True)
    try:
        code = app(args=args, standalone_mode=False)
    except SystemExit as exc:
        code = exc.code
    except Exception as exc:  # click's usage errors carry their exit code and message
        if hasattr(exc, "exit_code") and hasattr(exc, "format_message"):
            raise RuntimeError(f"motionbench {' '.join(args[:2])}: {exc.format_message()} "
                               f"(exit {exc.exit_code})") from None
        raise
    return int(code or 0)


def _write_recapture_manifest(path: Path, frames: int, size: int) -> Path:
    """A one-sample recapture manifest: a seeded 3-D room (square: FYC tunes at 512x512) and one orbit."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "schema_version: 1\nname: device-check-recapture\nversion: \"1\"\ndefaults: {task: recapture}\n"
        "categories:\n  static_scene: {description: only the camera moves}\n"
        "samples:\n  - id: dc-room\n    category: static_scene\n"
        "    source: {scene: {seed: 11, moving: none}}\n    paths: [\"orbit:phi=20\"]\n"
        f"    frames: {{count: {frames}}}\n    size: [{size}, {size}]\n")
    return path


def run_method(ctx: Context, method: str, out: Path, *, extra_opts: tuple[str, ...] = (),
               score: bool = False, task: str = "motion_transfer") -> dict[str, Any]:
    """``motionbench run --method METHOD`` at the profile's size; returns its generation record.

    Raises:
        RuntimeError: the command failed or wrote no successful record (with the record's error).
    """
    p = ctx.profile
    if task == "recapture":
        size = min(p.width, p.height)
        manifest = _write_recapture_manifest(ctx.workdir / "recapture.yaml", p.frames, size)
        args = ["run", "--task", task]  # frames and size come from the manifest
    else:
        manifest = _write_manifest(ctx.workdir / "manifest.yaml", p.frames, p.width, p.height)
        args = ["run", "--num-frames", str(p.frames), "--size", f"{p.width}x{p.height}"]
    args += ["--manifest", str(manifest), "--method", method, "--device", ctx.device, "--out", str(out), "--seeds", "0"]
    for opt in (*p.run_opts[method], *extra_opts):
        args += ["--method-opt", f"{method}.{opt}"]
    if score and p.run_clip:
        args += ["--clip", p.run_clip]
    if not score:
        args.append("--no-score")
    t0 = time.time()
    rc = run_cli(args)
    wall = time.time() - t0
    records = [r for r in _read_jsonl(out / "generations.jsonl") if r.get("method") == method]
    if rc != 0 or not records or records[-1].get("status") != "ok":
        error = records[-1].get("error") if records else "no generation record"
        raise RuntimeError(f"motionbench run --method {method} exited {rc}: {error}")
    record = records[-1]
    record["wall_seconds"] = wall
    return record


def _record_figures(record: dict[str, Any]) -> dict[str, Any]:
    keys = ("status", "video", "num_frames", "size", "fit_seconds", "fit_cached", "generate_seconds",
            "fit_peak_memory_mb", "generate_peak_memory_mb", "memory_kind", "wall_seconds")
    out = {k: record.get(k) for k in keys}
    for k in ("fit_peak_memory_mb", "generate_peak_memory_mb"):
        if out[k] is not None:
            out[k.replace("_mb", "_gib")] = round(out.pop(k) / 1024, 3)
    return out


#: The file in which each method's fitted state describes its fit (stage seconds per step, memory).
FIT_INFO_FILES = {"fym": "state.json", "motiondirector": "state.json", "ditflow": "amf.json", "fyc": "fyc_state.json"}


def _fit_info(run_dir: Path, method: str) -> Any:
    """What the method recorded about its own fit, when it saved it where :data:`FIT_INFO_FILES` says."""
    found = sorted((run_dir / "cache" / "states" / method).glob(f"*/{FIT_INFO_FILES[method]}"))
    if not found:
        return None
    try:
        data = json.loads(found[-1].read_text())
    except (OSError, ValueError) as exc:
        return f"unreadable {found[-1].name}: {exc}"
    return data.get("info", data) if isinstance(data, dict) else data


def section_fym_run(ctx: Context) -> None:
    """One end-to-end run: fit, generate, write the video and its record, score it."""
    from motionbench.video import probe

    out = ctx.workdir / "run-fym"
    record = run_method(ctx, "fym", out, score=True)
    figures = _record_figures(record)
    info = probe(out / record["video"])
    figures["video_probe"] = {"frames": info.num_frames, "width": info.width, "height": info.height,
                              "bytes": (out / record["video"]).stat().st_size}
    ctx.record("generation", figures)
    ctx.record("fit_info", _fit_info(out, "fym"))
    scores = [s for s in _read_jsonl(out / "scores.jsonl") if s.get("job") == record["job"]]
    table = {(s["metric"] + (f"/{s['variant']}" if s.get("variant") else "")):
             {"status": s["status"], "value": s.get("value"), "backend": s.get("backend"),
              "reason": s.get("reason") or s.get("error")} for s in scores}
    ctx.record("scores", table)
    if not any(k.startswith("motion_fidelity") and v["status"] == "ok" for k, v in table.items()):
        raise RuntimeError(f"the run wrote no motion-fidelity score (scores: {sorted(table) or 'none'})")


def section_motiondirector(ctx: Context) -> None:
    """A few MotionDirector joint steps (spatial + temporal path) at real size, and one sample."""
    out = ctx.workdir / "run-motiondirector"
    record = run_method(ctx, "motiondirector", out)
    ctx.record("generation", _record_figures(record))
    ctx.record("fit_info", _fit_info(out, "motiondirector"))


def section_ditflow(ctx: Context) -> None:
    """DiTFlow's AMF extraction and guided sampling at real size; then the same unguided, if time allows."""
    out = ctx.workdir / "run-ditflow"
    guided = run_method(ctx, "ditflow", out)
    ctx.record("guided", _record_figures(guided))
    ctx.record("fit_info", _fit_info(out, "ditflow"))
    # The same sampling without guidance: the difference in generate seconds is the guidance's cost.
    if ctx.remaining() < 1.5 * guided["wall_seconds"] + 10:
        ctx.record("unguided", f"not run: {ctx.remaining():.0f} s left")
        return
    unguided = run_method(ctx, "ditflow", ctx.workdir / "run-ditflow-unguided", extra_opts=("guidance_steps=0",))
    ctx.record("unguided", _record_figures(unguided))
    steps = next(int(o.split("=")[1]) for o in ctx.profile.run_opts["ditflow"] if o.startswith("guidance_steps="))
    ctx.record("seconds_per_guided_step", (guided["generate_seconds"] - unguided["generate_seconds"]) / steps)


def section_fyc(ctx: Context) -> None:
    """FYC on the VACE architecture: LoRA tuning with its self-iterative rounds, then one packed
    re-rendering along an orbit, scored against the scene's exact novel view."""
    out = ctx.workdir / "run-fyc"
    record = run_method(ctx, "fyc", out, score=True, task="recapture")
    ctx.record("generation", _record_figures(record))
    info = _fit_info(out, "fyc")
    if isinstance(info, dict):  # per stage: its widest angle, steps, seconds and the loss it started and ended at
        ctx.record("lora", {"rank": info.get("rank"), "alpha": info.get("alpha")})
        ctx.record("stages", [{"max_angle": s["max_angle"], "steps": s["steps"], "seconds": s["seconds"],
                               "own_outputs": s["own_outputs"], "seconds_per_step": s["seconds"] / max(1, s["steps"]),
                               "losses": [s["losses"][0], s["losses"][-1]] if s["losses"] else []}
                              for s in info.get("stages") or []])
    else:
        ctx.record("fit_info", info)
    scores = [s for s in _read_jsonl(out / "scores.jsonl") if s.get("job") == record["job"]]
    ctx.record("scores", {s["metric"] + (f"/{s['variant']}" if s.get("variant") else ""):
                          {"status": s["status"], "value": s.get("value")} for s in scores})


def _cotracker_repo(ctx: Context) -> Path:
    given = ctx.options.get("cotracker_repo")
    if given:
        if not (Path(given) / "hubconf.py").is_file():
            raise Skip(f"--cotracker-repo {given} holds no hubconf.py (not a co-tracker checkout)")
        return Path(given)
    for c in (os.environ.get("MOTIONBENCH_COTRACKER_REPO"), str(REPO / ".cotracker")):
        if c and (Path(c) / "hubconf.py").is_file():
            return Path(c)
    from motionbench import weights

    try:
        return weights.locate_cotracker_repo().path
    except weights.WeightsMissing:
        raise Skip("no co-tracker checkout here (looked at --cotracker-repo, $MOTIONBENCH_COTRACKER_REPO, "
                   f"{REPO / '.cotracker'} and torch hub's cache); copy one with "
                   "`python benchmarks/prepare_device.py --cotracker DIR`") from None


def section_cotracker(ctx: Context) -> None:
    """CoTracker3 offline on a clip of the generated videos' size, at the benchmark's grid."""
    from motionbench import weights
    from motionbench.metrics.trackers import CoTracker3Tracker

    p = ctx.profile
    repo = _cotracker_repo(ctx)
    try:
        checkpoint = weights.locate_cotracker_checkpoint().path
    except weights.WeightsMissing:
        checkpoint = None  # random weights: the real architecture's arithmetic
    tracker = CoTracker3Tracker(repo, checkpoint, grid=p.grid, device=ctx.device)
    frames = _clip_frames(p.tracker_frames, p.tracker_width, p.tracker_height)
    ctx.record("tracker", {"repo": str(repo), "backend": tracker.backend})
    if p.tracker_warmup:  # the first call builds the model and warms the kernels up
        with _measure(ctx.device) as m:
            tracker.track(frames[:9])
        ctx.record("first_call_9_frames", {"seconds": m.seconds, **_memory(m)})
    with _measure(ctx.device) as m:
        tracks = tracker.track(frames)
    ctx.record("track", {"frames": p.tracker_frames, "size": [p.tracker_width, p.tracker_height], "grid": p.grid,
                         "tracks": int(tracks.tracks.shape[0]), "seconds": m.seconds,
                         "frames_per_s": p.tracker_frames / m.seconds, **_memory(m)})


def _register_smoke_clip(workdir: Path) -> None:
    """A tiny open_clip architecture for the smoke run (the real ones take tens of seconds to build on a CPU)."""
    import open_clip

    cfg = {"embed_dim": 32, "quick_gelu": True,
           "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "head_width": 32, "patch_size": 8},
           "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2}}
    path = workdir / "mb-smoke-clip.json"
    path.write_text(json.dumps(cfg))
    open_clip.add_model_config(path)


def section_clip(ctx: Context) -> None:
    """CLIP image embedding throughput: through the metric's encoder (with preprocessing) and the model alone."""
    import torch
    from PIL import Image

    from motionbench.metrics.clip import ClipEncoder

    p, dev = ctx.profile, ctx.device
    if "mb-smoke-clip" in p.clip_archs:
        _register_smoke_clip(ctx.workdir)
    frames = _clip_frames(p.clip_frames, p.width, p.height)
    for arch in p.clip_archs:
        with _measure(dev) as m:
            enc = ClipEncoder(f"{arch}:random", device=dev)
        build = {"seconds": m.seconds, **_memory(m)}
        enc.encode_frames(frames[:2])  # warm-up
        with _measure(dev) as m:
            enc.encode_frames(frames)
        pipeline = {"frames": len(frames), "seconds": m.seconds, "frames_per_s": len(frames) / m.seconds,
                    "batch": enc.batch_size, **_memory(m)}
        batch = torch.stack([enc.preprocess(Image.fromarray(f)) for f in frames[:enc.batch_size]]).to(dev)
        with torch.no_grad():
            enc.model.encode_image(batch)
            _sync(dev)
            t0 = time.perf_counter()
            for _ in range(p.clip_repeats):
                enc.model.encode_image(batch)
            _sync(dev)
            seconds = time.perf_counter() - t0
        model_only = {"batch": int(batch.shape[0]), "repeats": p.clip_repeats, "seconds": seconds,
                      "frames_per_s": batch.shape[0] * p.clip_repeats / seconds, "dtype": "float32"}
        ctx.record(arch, {"backend": enc.backend, "build": build, "metric_pipeline": pipeline, "model_only": model_only})
        del enc, batch
        if dev.startswith("cuda"):
            torch.cuda.empty_cache()


# ---------------------------------------------------------------------------------------------------
# The toy world (issue 14) on the GPU: the training set is built first with every CPU core
# (`motionbench toy data`), then `motionbench toy train` runs a larger-batch run until the section's
# deadline, is stopped with SIGINT (its checkpoints make that safe), and the section reports what
# `losses.jsonl` says and exports the EMA weights (`motionbench toy export`) next to the results.
TOY_TRAIN_ARGS = ("toy", "train")
TOY_BATCH, TOY_LR, TOY_STEPS = 64, 1e-3, 20000


def toy_data_args(data_dir: Path, smoke: bool) -> list[str]:
    return ["toy", "data", "--out", str(data_dir), "--count", "16" if smoke else "24000",
            "--codec-clips", "8" if smoke else "400", "--workers", str(max(1, (os.cpu_count() or 2) - 1))]


def toy_train_argv(run_dir: Path, device: str, data_dir: Path | None = None, smoke: bool = False) -> list[str]:
    """On the GPU: train until the section's deadline. Smoke: 3 small steps, so the section stays cheap."""
    data = ["--data", str(data_dir)] if data_dir is not None else []
    size = ["--batch", "2", "--until", "3"] if smoke else ["--batch", str(TOY_BATCH)]
    return [sys.executable, "-m", "motionbench", *TOY_TRAIN_ARGS, *data, "--run", str(run_dir), "--device", device,
            *size, "--lr", str(TOY_LR), "--steps", str(TOY_STEPS), "--threads", "4"]
# ---------------------------------------------------------------------------------------------------


def section_toy(ctx: Context) -> None:
    """Train the toy world's model for the time left; report steps, loss and speed."""
    try:
        run_cli([*TOY_TRAIN_ARGS, "--help"])
    except RuntimeError as exc:
        raise Skip(f"{exc}: the toy world (issue 14) is not in this checkout yet") from None
    run_dir, data_dir = ctx.workdir / "toy-run", ctx.workdir / "toy-data"
    run_cli(toy_data_args(data_dir, ctx.device == "cpu"))
    argv = toy_train_argv(run_dir, ctx.device, data_dir, smoke=ctx.device == "cpu")
    print("  $ " + " ".join(argv[1:]), flush=True)
    t0 = time.time()
    # Its own interpreter, stopped with SIGINT at the deadline (the run checkpoints and resumes).
    child = spawn_child(argv, _cli_env(), new_session=False)
    rc, tail = supervise(child, timeout=max(1.0, ctx.remaining() - 2 * KILL_GRACE_S), prefix="  | ", group=False,
                         first_signal=signal.SIGINT)
    seconds = time.time() - t0
    losses = _read_jsonl(run_dir / "losses.jsonl")
    figures: dict[str, Any] = {"argv": argv[1:], "seconds": seconds, "exit": rc, "stopped_at_deadline": rc is None}
    if losses:
        every = max(1, len(losses) // 200)
        figures.update(steps=losses[-1].get("step"), first_loss=losses[0].get("loss"), last_loss=losses[-1].get("loss"),
                       steps_per_s=len(losses) / seconds, curve=[[r.get("step"), r.get("loss")] for r in losses[::every]])
    ctx.record("training", figures)
    if rc not in (None, 0):
        raise RuntimeError(f"{' '.join(argv[1:])} exited {rc}; last output:\n" + "\n".join(tail[-15:]))
    if (run_dir / "checkpoint.pt").exists() and ctx.device != "cpu":  # the GPU run's weights come back; smoke: none
        export = ctx.workdir / "toy-export"
        run_cli(["toy", "export", "--run", str(run_dir), "--data", str(data_dir), "--out", str(export)])
        # One archive, so the weights come back from the device machine (few files, two folders deep at most).
        import tarfile

        archive = ctx.workdir / "toy-weights.tar"
        with tarfile.open(archive, "w") as tar:
            tar.add(export, arcname="wan")
        if os.environ.get("OUT"):
            shutil.copyfile(archive, Path(os.environ["OUT"]) / archive.name)
        ctx.record("export", {"archive": str(archive), "bytes": archive.stat().st_size,
                              "files": sorted(str(p.relative_to(export)) for p in export.rglob("*") if p.is_file())})


SECTIONS = [
    Section("machine", "machine, versions, matmul ceiling", section_machine, needs_gpu_machine=False),
    Section("fym_stages", "1. FYM stages vs two-stage LoRA (time per step, memory, projected totals)",
            section_fym_stages),
    Section("fym_run", "2. end-to-end motionbench run --method fym", section_fym_run),
    Section("motiondirector", "3a. MotionDirector: a few joint steps at real size", section_motiondirector),
    Section("ditflow", "3b. DiTFlow: AMF and guided sampling at real size", section_ditflow),
    Section("fyc", "3c. Follow-Your-Creation: VACE LoRA tuning and inpainting at real size", section_fyc),
    Section("cotracker", "4a. CoTracker3 offline at grid 55", section_cotracker),
    Section("clip", "4b. CLIP image throughput", section_clip),
    Section("toy", "5. toy world trained on this device", section_toy),
]
SECTIONS_BY_NAME = {s.name: s for s in SECTIONS}


# --------------------------------------------------------------------------------------------------
# Child processes with a deadline
# --------------------------------------------------------------------------------------------------

@dataclass
class Child:
    """A running child process and the read end of its (merged) output."""

    pid: int
    output: IO[str]
    popen: subprocess.Popen | None = None


def spawn_child(argv: list[str], env: dict[str, str] | None = None, *, new_session: bool = True) -> Child:
    """Start ``argv`` as a fresh interpreter (its own process group with ``new_session``)."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env=env, text=True, errors="replace", bufsize=1, start_new_session=new_session)
    assert proc.stdout is not None
    return Child(proc.pid, proc.stdout, proc)


def fork_child(fn: Callable[[], int]) -> Child:
    """Run ``fn`` in a forked copy of this process, in its own process group, output to a pipe.

    Only for CPU runs: the copy shares every module already imported (so a smoke run pays for
    torch's import once), which is unsafe once CUDA has been touched.
    """
    read_end, write_end = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child never returns from here
        code = 1
        try:
            os.setsid()
            signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the parent's handler
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.close(read_end)
            os.dup2(write_end, 1)
            os.dup2(write_end, 2)
            os.close(write_end)
            sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115 - lives as long as the child
            sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
            code = fn()
        except BaseException:  # noqa: BLE001 - report and leave; never run the parent's code
            traceback.print_exc()
        finally:
            with contextlib.suppress(BaseException):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)
    os.close(write_end)
    return Child(pid, open(read_end, "r", errors="replace"))  # noqa: SIM115 - closed by supervise()


def supervise(child: Child, *, timeout: float, prefix: str = "", group: bool = True,
              first_signal: int = signal.SIGTERM, sink: Callable[[str], None] | None = None) -> tuple[int | None, list[str]]:
    """Echo ``child``'s output line by line and stop it at ``timeout`` seconds.

    On timeout the child (its whole process group with ``group``) gets ``first_signal``, then
    SIGKILL after :data:`KILL_GRACE_S`: a process stuck in a driver call cannot hold up the caller.

    Returns:
        ``(exit code, last output lines)``; the exit code is ``None`` when it was stopped.
    """
    tail: collections.deque[str] = collections.deque(maxlen=60)

    def pump() -> None:
        with contextlib.suppress(OSError, ValueError):
            for line in child.output:
                line = line.rstrip("\n")
                tail.append(line)
                print(prefix + line, flush=True)
                if sink is not None:
                    sink(prefix + line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        rc = _wait(child, time.time() + max(0.1, timeout))
    except BaseException:  # the caller itself is being stopped: take the child down with it
        _signal(child, group, signal.SIGKILL)
        raise
    if rc is None:
        _signal(child, group, first_signal)
        rc_after = _wait(child, time.time() + KILL_GRACE_S)
        _signal(child, group, signal.SIGKILL)  # the group too: a grandchild may outlive the child
        if rc_after is None:
            _wait(child, time.time() + KILL_GRACE_S)
    reader.join(timeout=KILL_GRACE_S)
    if not reader.is_alive():
        child.output.close()
    return rc, list(tail)


def _wait(child: Child, deadline: float) -> int | None:
    """The child's exit code once it has exited, or ``None`` if it still runs at ``deadline``."""
    while True:
        try:
            pid, status = os.waitpid(child.pid, os.WNOHANG)
        except ChildProcessError:  # already reaped
            return child.popen.returncode if child.popen is not None and child.popen.returncode is not None else -1
        if pid:
            code = os.waitstatus_to_exitcode(status)
            if child.popen is not None:
                child.popen.returncode = code
            return code
        if time.time() >= deadline:
            return None
        time.sleep(0.05)


def _signal(child: Child, group: bool, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if group:
            os.killpg(child.pid, sig)
        else:
            os.kill(child.pid, sig)


def preload() -> None:
    """Import what the sections use, once, before forking them (CPU runs only)."""
    modules = ("torch", "numpy", "cv2", "av", "PIL.Image", "diffusers", "transformers", "peft", "open_clip",
               "motionbench.cli", "motionbench.backbones", "motionbench.metrics.clip", "motionbench.metrics.scorer",
               "motionbench.run.runner", "motionbench_fym.stages", "motionbench_fym.heads", "motionbench_fym.adapter", "motionbench_baselines.two_stage_lora",
               "motionbench_baselines.motiondirector", "motionbench_baselines.ditflow",
               "motionbench_fyc.method", "motionbench.run.execute_recapture")
    import importlib

    for name in modules:
        with contextlib.suppress(Exception):  # a missing module is the section's to report
            importlib.import_module(name)
    with contextlib.suppress(Exception):
        import diffusers

        for attr in ("WanTransformer3DModel", "WanVACETransformer3DModel", "AutoencoderKLWan", "FlowMatchEulerDiscreteScheduler",
                     "UniPCMultistepScheduler"):
            getattr(diffusers, attr)  # diffusers imports its models on first access


# --------------------------------------------------------------------------------------------------
# The parent: sections in order, deadlines, the report
# --------------------------------------------------------------------------------------------------

@dataclass
class SectionResult:
    name: str
    title: str
    status: str  # ok | failed | timeout | skipped | crashed | interrupted
    budget_s: float
    seconds: float = 0.0
    reason: str | None = None
    error: str | None = None
    figures: dict[str, Any] = field(default_factory=dict)
    log_tail: list[str] = field(default_factory=list)


@dataclass
class Report:
    mode: str
    device: str
    budget_s: float
    started_at: str
    argv: list[str]
    sections: list[SectionResult] = field(default_factory=list)
    finished_at: str | None = None
    wall_s: float | None = None

    def figures(self, section: str) -> dict[str, Any]:
        for s in self.sections:
            if s.name == section:
                return s.figures
        return {}

    def to_json(self) -> dict[str, Any]:
        machine = self.figures("machine")
        return {"format": FORMAT, "mode": self.mode, "device": self.device, "budget_s": self.budget_s,
                "started_at": self.started_at, "finished_at": self.finished_at, "wall_s": self.wall_s,
                "argv": self.argv, "machine": machine.get("device"), "nvidia_smi": machine.get("nvidia_smi"),
                "versions": machine.get("versions"), "git": machine.get("git"), "goals": goals(self),
                "sections": [asdict(s) for s in self.sections]}


def goals(report: Report) -> dict[str, Any]:
    """The issue's two goals with what was measured (``value`` None: not measured in this run)."""
    proj = report.figures("fym_stages").get("projection") or {}
    paper = (proj.get("presets") or {}).get("paper") or {}
    return {"fym_over_two_stage_lora_paper_preset": {"goal": f"<= {GOAL_RATIO:g}", "value": paper.get("ratio"),
                                                     "met": paper.get("ratio_met")},
            "sparse_over_dense_speedup": {"goal": f">= {GOAL_SPEEDUP:g}", "value": proj.get("sparse_speedup"),
                                          "met": proj.get("sparse_speedup_met")}}


def device_slug(report: Report) -> str:
    machine = report.figures("machine").get("device") or {}
    name = machine.get("gpu") if report.device.startswith("cuda") else None
    slug = re.sub(r"[^a-z0-9]+", "-", (name or report.device.split(":")[0]).lower()).strip("-") or "device"
    return f"{slug}-smoke" if report.mode == "smoke" else slug


def result_stem(report: Report, out_dir: Path) -> str:
    """``<date>-<device>``, with ``-2``, ``-3``... when an earlier run of the day holds the name."""
    base = f"{report.started_at[:10]}-{device_slug(report)}"
    stem, n = base, 1
    while (out_dir / f"{stem}.json").exists():
        n += 1
        stem = f"{base}-{n}"
    return stem


def _fmt(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list) and len(value) > 8:
        return f"[{', '.join(_fmt(v) for v in value[:8])}, ... ({len(value)} items)]"
    if isinstance(value, list):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return str(value).replace("|", "\\|").replace("\n", " ")


def _flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _flatten(v, f"{prefix}.{k}" if prefix else str(k))
    else:
        yield prefix, value


def render_markdown(report: Report) -> str:
    data = report.to_json()
    machine, versions, git = data["machine"] or {}, data["versions"] or {}, data["git"] or {}
    lines = [f"# Device check {report.started_at[:10]}: {machine.get('gpu') or report.device} ({report.mode})", ""]
    lines.append(f"Machine: {machine.get('gpu') or machine.get('cpu', '?')}"
                 + (f", {machine.get('gpu_memory_mb')} MiB, CUDA {machine.get('cuda')}" if machine.get("gpu") else "")
                 + (f", driver {data['nvidia_smi'].get('driver_version')}" if data.get("nvidia_smi") else "")
                 + f"; {machine.get('cpu_count', '?')} CPUs; {machine.get('platform', '?')}.")
    lines.append("Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items() if v) + ".")
    lines.append(f"Commit: {git.get('commit') or 'unknown'}{' (dirty)' if git.get('dirty') else ''}. "
                 f"Started {report.started_at}, {report.wall_s or 0:.0f} s of a {report.budget_s:.0f} s budget.")
    lines += ["", "| goal | target | measured | met |", "|---|---|---:|---|"]
    for name, g in data["goals"].items():
        lines.append(f"| {name} | {g['goal']} | {_fmt(g['value']) if g['value'] is not None else 'not measured'} | "
                     f"{_fmt(g['met'])} |")
    lines += ["", "| section | status | seconds | budget |", "|---|---|---:|---:|"]
    for s in report.sections:
        lines.append(f"| {s.name} | {s.status} | {s.seconds:.1f} | {_fmt(s.budget_s)} |")
    for s in report.sections:
        lines += ["", f"## {s.title}", "", f"Status: **{s.status}** in {s.seconds:.1f} s."]
        if s.reason:
            lines.append(f"Reason: {_fmt(s.reason)}")
        if s.error:
            lines.append(f"Error: {_fmt(s.error)[:1500]}")
        rows = [(k, v) for k, v in _flatten(s.figures) if s.name != "machine" or not k.startswith("versions")]
        if rows:
            lines += ["", "| figure | value |", "|---|---|"]
            lines += [f"| {k} | {_fmt(v)} |" for k, v in rows]
    return "\n".join(lines) + "\n"


class Runner:
    """Runs the sections in order within the overall deadline and keeps the report on disk."""

    def __init__(self, profile: Profile, args: argparse.Namespace, sections: list[Section]) -> None:
        self.profile, self.args, self.sections = profile, args, sections
        self.start = time.time()
        self.deadline = self.start + profile.total_budget
        now = dt.datetime.now(dt.timezone.utc)
        self.report = Report(mode=profile.name, device=profile.device, budget_s=profile.total_budget,
                             started_at=now.strftime("%Y-%m-%dT%H:%M:%SZ"), argv=sys.argv[1:])
        self.out_dir: Path = args.out
        self.stem: str | None = None
        self.workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="motionbench-device-check-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log_lines: list[str] = []
        self._log_lock = threading.Lock()
        self._preloaded = False

    def log(self, text: str) -> None:
        with self._log_lock:
            self.log_lines.append(text)

    def say(self, text: str) -> None:
        print(text, flush=True)
        self.log(text)

    def run(self) -> Report:
        gpu_missing: str | None = None
        for i, section in enumerate(self.sections, 1):
            if (self.args.start == "fork" and not self._preloaded and not gpu_missing
                    and self.deadline - time.time() - RESERVE_S >= self.profile.min_section_s):
                self.say("== importing torch and the methods once, for the forked sections")
                preload()  # once, before the first fork; its time counts against the overall budget
                self._preloaded = True
            remaining = self.deadline - time.time() - RESERVE_S
            wanted = self.args.section_budget.get(section.name, self.profile.budgets.get(section.name, 60.0))
            budget = min(float(wanted), remaining)
            if gpu_missing and section.needs_gpu_machine:
                result = SectionResult(section.name, section.title, "skipped", budget, reason=gpu_missing)
            elif remaining < self.profile.min_section_s:
                result = SectionResult(section.name, section.title, "skipped", max(0.0, budget),
                                       reason=f"only {max(0.0, remaining):.0f} s of the {self.profile.total_budget:.0f} s "
                                              "budget left")
            else:
                self.say(f"== [{i}/{len(self.sections)}] {section.name}: {section.title} (budget {budget:.0f} s)")
                result = self.run_section(section, budget)
            self.report.sections.append(result)
            self.say(f"== {section.name}: {result.status} in {result.seconds:.1f} s"
                     + (f" ({result.reason or result.error})" if result.status != "ok" else ""))
            if section.name == "machine" and result.figures.get("cuda_available") is False:
                gpu_missing = f"the machine check found no GPU: {result.error}"
            self.write()
        return self.report

    def run_section(self, section: Section, budget: float) -> SectionResult:
        result_file = self.workdir / f"{section.name}.result.json"
        context_file = self.workdir / f"{section.name}.context.json"
        started = time.time()
        deadline = started + budget
        section_dir = self.workdir / section.name
        section_dir.mkdir(exist_ok=True)
        _write_json(context_file, {"profile": asdict(self.profile), "workdir": str(section_dir),
                                   "result": str(result_file), "deadline": deadline,
                                   "options": {"cotracker_repo": self.args.cotracker_repo}})
        if self.args.start == "fork":
            child = fork_child(lambda: _worker_main(section.name, context_file))
        else:
            argv = [sys.executable, str(Path(__file__).resolve()), "--worker", section.name, "--context",
                    str(context_file)]
            child = spawn_child(argv, _cli_env())
        rc, tail = supervise(child, timeout=budget, sink=self.log)
        seconds = time.time() - started
        data: dict[str, Any] = {}
        with contextlib.suppress(OSError, ValueError):
            data = json.loads(result_file.read_text())
        figures = data.get("figures", {})
        if rc is None:
            return SectionResult(section.name, section.title, "timeout", budget, seconds,
                                 reason=f"stopped at its {budget:.3g} s budget", figures=figures, log_tail=tail[-20:])
        status = data.get("status")
        if status in ("ok", "skipped", "failed"):
            return SectionResult(section.name, section.title, status, budget, seconds, reason=data.get("reason"),
                                 error=data.get("error"), figures=figures,
                                 log_tail=tail[-20:] if status == "failed" else [])
        return SectionResult(section.name, section.title, "crashed", budget, seconds,
                             error=f"the section's process exited {rc} without a result", figures=figures,
                             log_tail=tail[-20:])

    def write(self) -> list[Path]:
        self.report.finished_at = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.report.wall_s = time.time() - self.start
        self.out_dir.mkdir(parents=True, exist_ok=True)
        if self.stem is None:
            self.stem = result_stem(self.report, self.out_dir)
        paths = [self.out_dir / f"{self.stem}.json", self.out_dir / f"{self.stem}.md"]
        _write_json(paths[0], self.report.to_json())
        paths[1].write_text(render_markdown(self.report))
        if self.args.copy_to:
            copy_dir = Path(self.args.copy_to)
            copy_dir.mkdir(parents=True, exist_ok=True)
            for path in paths:
                shutil.copyfile(path, copy_dir / path.name)
            with self._log_lock:
                (copy_dir / f"{self.stem}.log").write_text("\n".join(self.log_lines) + "\n")
        return paths


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--smoke", action="store_true", help="every section on the CPU at tiny sizes (seconds each)")
    p.add_argument("--only", default="", help="comma-separated sections to run (machine always runs first)")
    p.add_argument("--skip", default="", help="comma-separated sections to leave out")
    p.add_argument("--budget", type=float, default=None,
                   help=f"overall seconds (default {TOTAL_BUDGET_S:.0f} on the GPU, {SMOKE.total_budget:.0f} smoke)")
    p.add_argument("--section-budget", action="append", default=[], metavar="NAME=SECONDS",
                   help="override one section's budget (repeatable)")
    p.add_argument("--out", type=Path, default=None,
                   help="results folder (default benchmarks/results; smoke: results/device-check-smoke)")
    p.add_argument("--copy-to", default=None, help="also copy the JSON, Markdown and full log here (e.g. $OUT)")
    p.add_argument("--workdir", default=None, help="scratch folder (default: a new temporary one, removed after)")
    p.add_argument("--keep-workdir", action="store_true")
    p.add_argument("--cotracker-repo", default=None, help="a co-tracker checkout (default: .cotracker/ when present)")
    p.add_argument("--start", choices=("spawn", "fork"), default=None,
                   help="how section processes start: a fresh interpreter each (default on the GPU) or a fork of "
                        "this one after importing torch once (default with --smoke; CPU only)")
    p.add_argument("--list", action="store_true", help="print the sections and their budgets, run nothing")
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    p.add_argument("--context", type=Path, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    budgets = {}
    for item in args.section_budget:
        name, _, value = item.partition("=")
        if name not in SECTIONS_BY_NAME:
            p.error(f"--section-budget {item!r}: unknown section {name!r}; sections: {', '.join(SECTIONS_BY_NAME)}")
        try:
            budgets[name] = float(value)
        except ValueError:
            p.error(f"--section-budget {item!r}: {value!r} is not a number of seconds")
    args.section_budget = budgets
    for option in ("only", "skip"):
        names = [n for n in getattr(args, option).split(",") if n]
        unknown = [n for n in names if n not in SECTIONS_BY_NAME]
        if unknown:
            p.error(f"--{option}: unknown section(s) {', '.join(unknown)}; sections: {', '.join(SECTIONS_BY_NAME)}")
        setattr(args, option, names)
    if args.out is None:
        args.out = REPO / ("results/device-check-smoke" if args.smoke else "benchmarks/results")
    if args.start is None:
        args.start = "fork" if args.smoke else "spawn"
    if args.start == "fork" and not args.smoke:
        p.error("--start fork is for --smoke (CPU) runs: a forked process must not inherit a CUDA context")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        return _worker_main(args.worker, args.context)
    profile = SMOKE if args.smoke else GPU
    if args.budget is not None:
        profile = replace(profile, total_budget=args.budget)
    sections = [s for s in SECTIONS if (not args.only or s.name in args.only or s.name == "machine")
                and s.name not in args.skip]
    if args.list:
        for s in sections:
            print(f"{s.name:15s} {profile.budgets.get(s.name, 60.0):>6} s  {s.title}")
        print(f"overall budget {profile.total_budget:.0f} s")
        return 0
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing here may download
    os.environ["PYTHONUNBUFFERED"] = "1"
    if args.start == "fork":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # the CPU smoke run: no process here touches a GPU
    runner = Runner(profile, args, sections)  # the budget's clock starts here

    def interrupted(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, interrupted)
    try:
        runner.run()
    except KeyboardInterrupt as exc:
        runner.report.sections.append(SectionResult("interrupted", "interrupted", "interrupted", 0.0,
                                                    reason=f"the check itself was stopped ({exc or 'SIGINT'})"))
        paths = runner.write()
        print(f"interrupted; results so far: {', '.join(map(str, paths))}", flush=True)
        return 130
    finally:
        if not args.keep_workdir and not args.workdir:
            shutil.rmtree(runner.workdir, ignore_errors=True)
    paths = runner.write()
    runner.say("")
    runner.say(render_summary(runner.report))
    runner.say(f"results: {', '.join(map(str, paths))}" + (f" (copied to {args.copy_to})" if args.copy_to else ""))
    runner.write()  # the log copy includes the summary
    return 0 if all(s.status in ("ok", "skipped") for s in runner.report.sections) else 1


def render_summary(report: Report) -> str:
    """The closing lines: each section's status and the goals."""
    lines = [f"{s.name:15s} {s.status:9s} {s.seconds:7.1f} s" + (f"  {s.reason or s.error}"[:160] if s.status != "ok"
                                                                  else "") for s in report.sections]
    for name, g in goals(report).items():
        value = "not measured" if g["value"] is None else f"{g['value']:.3f}"
        lines.append(f"goal {name}: {value} (goal {g['goal']}; met: {g['met']})")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
