"""Tuning cost of Follow-Your-Motion: seconds per step and peak memory of each stage.

Measures, at the same settings (rank, lr, resolution, frames):

* ``spatial``          FYM stage 2: LoRA on the spatial heads, one 1-frame latent per step;
* ``temporal-dense``   FYM stage 3 without sparse sampling: the whole clip per step;
* ``temporal-sparse``  FYM stage 3: ``--sparse-frames`` of the clip, adaptive RoPE, motion loss;
* ``2stage-spatial`` / ``2stage-temporal``  two-stage LoRA on all heads (FYM's "all components
  off"): single frames, then the whole clip with plain MSE;

and from those the total tuning time of FYM (``spatial + sparse temporal``) against two-stage
LoRA (``spatial + dense temporal``) for ``--spatial-steps``/``--temporal-steps`` steps per stage.

Heads: on random weights the classifier has nothing to find, so by default each block's first half
of heads is "spatial" and the rest "temporal" (reviewers report roughly half of each on the real
model); ``--split classify`` runs the real classifier instead. Peak memory is the CUDA allocator's
peak on a GPU; on the CPU it is the peak rise of the process's resident memory during the stage,
sampled every 2 ms.

    python benchmarks/fym_tuning.py                       # tiny model, CPU, seconds
    python benchmarks/fym_tuning.py --device cuda         # Wan2.1-1.3B architecture (random), 33 and 81
                                                          # frames at 480x832, bf16, grad checkpointing
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from motionbench.backbones import load_backbone, resize_frames  # noqa: E402
from motionbench.backbones.lora import remove_loras  # noqa: E402

from motionbench_fym.heads import classify_heads  # noqa: E402
from motionbench_fym.sparse import sparse_indices  # noqa: E402
from motionbench_fym.stages import StageSettings, TemporalOptions, spatial_stage, temporal_stage  # noqa: E402


@dataclass
class Row:
    frames: int
    config: str
    heads: int
    latent_frames: int
    seconds_per_step: float  # median over the timed steps
    peak_memory_mib: float
    memory_kind: str


class RssPeak:
    """Peak rise of resident memory (CPU) while the context is open, sampled by a thread."""

    def __enter__(self) -> "RssPeak":
        import psutil

        self._proc = psutil.Process(os.getpid())
        self.base = self.peak = self._proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._proc.memory_info().rss)
            time.sleep(0.002)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)

    @property
    def rise_bytes(self) -> int:
        return self.peak - self.base


def _release_free_heap() -> None:
    """Return freed heap pages to the OS so the next stage's RSS rise is its own (glibc only)."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass


def synthetic_clip(num_frames: int, height: int, width: int) -> np.ndarray:
    """A textured square sliding over a gradient (content does not affect timing)."""
    base = np.zeros((num_frames, 64, 64, 3), dtype=np.uint8)
    base[..., 2] = np.linspace(20, 120, 64, dtype=np.uint8)[None, None, :]
    for t in range(num_frames):
        x = int(4 + 40 * t / max(1, num_frames - 1))
        base[t, 20:40, x:x + 16] = (230, 180, 40)
    return resize_frames(base, height, width)


def measure(backbone, fn) -> tuple[object, float, str]:
    """Run ``fn`` and return (result, peak MiB, kind)."""
    if backbone.device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        result = fn()
        torch.cuda.synchronize()
        return result, torch.cuda.max_memory_allocated() / 2**20, "cuda peak allocated"
    _release_free_heap()
    with RssPeak() as peak:
        result = fn()
    return result, peak.rise_bytes / 2**20, "cpu peak RSS rise"


def run(args: argparse.Namespace) -> list[Row]:
    device = torch.device(args.device)
    model = args.model or ("wan2.1-1.3b-random" if device.type == "cuda" else "tiny")
    backbone = load_backbone(model, device=device, dtype=args.dtype, gradient_checkpointing=args.gradient_checkpointing)
    print(f"model {model} on {device} ({backbone.dtype}), {backbone.num_blocks} blocks x {backbone.num_heads} heads, "
          f"{args.height}x{args.width}, rank {args.rank}, {args.steps} timed steps (+1 warm-up)", flush=True)
    embeds = backbone.encode_prompts(["a video"])
    every = [list(range(backbone.num_heads))] * backbone.num_blocks
    rows: list[Row] = []
    for num_frames in args.frames:
        clip = synthetic_clip(num_frames, args.height, args.width)
        with torch.no_grad():
            clip_latents = backbone.encode_video(clip)
            frame_latents = backbone.encode_frames(clip[: min(num_frames, 4)])
        if args.split == "classify":
            scores = classify_heads(backbone, clip_latents, embeds, alpha=args.alpha)
            spatial_heads, temporal_heads = scores.spatial_heads(), scores.temporal_heads()
        else:
            half = backbone.num_heads // 2
            spatial_heads = [list(range(half))] * backbone.num_blocks
            temporal_heads = [list(range(half, backbone.num_heads))] * backbone.num_blocks
        settings = StageSettings(steps=args.steps + 1, lr=1e-4, weight_decay=0.1, rank=args.rank, alpha=float(args.rank))
        # Encode the sparse subset up front (as for the dense clip) so no stage's memory includes the VAE.
        sparse_cache = {tuple(sparse_indices(num_frames, args.sparse_frames)):
                        backbone.encode_video(clip[sparse_indices(num_frames, args.sparse_frames)])}
        fym_options = TemporalOptions(sparse=True, sparse_frames=args.sparse_frames, adaptive_rope=True,
                                      motion_loss=True)
        dense_options = TemporalOptions(sparse=False, adaptive_rope=True, motion_loss=True)
        plain_options = TemporalOptions(sparse=False, adaptive_rope=False, motion_loss=False)
        configs = [
            ("spatial", lambda: spatial_stage(backbone, frame_latents, embeds, spatial_heads, settings)),
            ("temporal-dense", lambda: temporal_stage(backbone, clip, clip_latents, embeds, temporal_heads, settings,
                                                      dense_options)),
            ("temporal-sparse", lambda: temporal_stage(backbone, clip, clip_latents, embeds, temporal_heads, settings,
                                                       fym_options, encoded=sparse_cache)),
            ("2stage-spatial", lambda: spatial_stage(backbone, frame_latents, embeds, every, settings)),
            ("2stage-temporal", lambda: temporal_stage(backbone, clip, clip_latents, embeds, every, settings,
                                                       plain_options)),
        ]
        # Rounds interleave the configurations so drifting machine load hits them alike.
        times: dict[str, list[float]] = {name: [] for name, _ in configs}
        peaks: dict[str, float] = {name: 0.0 for name, _ in configs}
        last: dict[str, object] = {}
        for _ in range(args.rounds):
            for name, fn in configs:
                remove_loras(backbone.transformer)
                result, mib, kind = measure(backbone, fn)
                times[name] += result.stats.step_seconds
                peaks[name] = max(peaks[name], mib)
                last[name] = result
        for name, _ in configs:
            rows.append(Row(frames=num_frames, config=name, heads=last[name].heads,
                            latent_frames=last[name].latent_frames_per_step[-1], peak_memory_mib=peaks[name],
                            memory_kind=kind, seconds_per_step=float(np.median(times[name]))))
            print(f"  {num_frames:3d} frames  {name:16s} {rows[-1].seconds_per_step:8.3f} s/step  "
                  f"{peaks[name]:9.1f} MiB", flush=True)
        remove_loras(backbone.transformer)
    return rows


def summarise(rows: list[Row], args: argparse.Namespace) -> str:
    lines = ["| frames | config | LoRA heads | latent frames/step | s/step | peak MiB |",
             "|---:|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r.frames} | {r.config} | {r.heads} | {r.latent_frames} | {r.seconds_per_step:.4f} | "
                     f"{r.peak_memory_mib:.1f} |")
    lines += ["", f"Totals for {args.spatial_steps} spatial + {args.temporal_steps} temporal steps "
                  f"(memory: {rows[0].memory_kind if rows else '-'}):",
              "| frames | sparse/dense speed-up | FYM total s | two-stage total s | FYM / two-stage |",
              "|---:|---:|---:|---:|---:|"]
    for frames in args.frames:
        by = {r.config: r for r in rows if r.frames == frames}
        speedup = by["temporal-dense"].seconds_per_step / by["temporal-sparse"].seconds_per_step
        fym = args.spatial_steps * by["spatial"].seconds_per_step + args.temporal_steps * by["temporal-sparse"].seconds_per_step
        two = (args.spatial_steps * by["2stage-spatial"].seconds_per_step
               + args.temporal_steps * by["2stage-temporal"].seconds_per_step)
        lines.append(f"| {frames} | {speedup:.2f}x | {fym:.1f} | {two:.1f} | {fym / two:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cpu")
    p.add_argument("--model", default=None, help="default: tiny on cpu, wan2.1-1.3b-random on cuda")
    p.add_argument("--dtype", default="auto")
    p.add_argument("--frames", type=int, nargs="+", default=None, help="default: 33 on cpu; 33 81 on cuda")
    p.add_argument("--height", type=int, default=None, help="default: 128 on cpu, 480 on cuda")
    p.add_argument("--width", type=int, default=None, help="default: 128 on cpu, 832 on cuda")
    p.add_argument("--sparse-frames", type=int, default=None, help="default: 9 on cpu, 17 on cuda")
    p.add_argument("--rank", type=int, default=16)
    p.add_argument("--steps", type=int, default=None, help="timed steps per configuration (default 10 cpu, 4 cuda)")
    p.add_argument("--rounds", type=int, default=None, help="interleaved repetitions (default 3 cpu, 1 cuda)")
    p.add_argument("--spatial-steps", type=int, default=1500)
    p.add_argument("--temporal-steps", type=int, default=1500)
    p.add_argument("--split", choices=("half", "classify"), default="half")
    p.add_argument("--alpha", type=float, default=1.25)
    p.add_argument("--gradient-checkpointing", type=lambda s: s.lower() in ("1", "true", "on", "yes"), default=None)
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = p.parse_args(argv)
    cuda = args.device.startswith("cuda")
    if cuda and not torch.cuda.is_available():
        p.error("--device cuda given but torch sees no CUDA device")
    args.frames = args.frames or ([33, 81] if cuda else [33])
    args.height = args.height or (480 if cuda else 128)
    args.width = args.width or (832 if cuda else 128)
    args.sparse_frames = args.sparse_frames or (17 if cuda else 9)
    args.steps = args.steps or (4 if cuda else 10)
    args.rounds = args.rounds or (1 if cuda else 3)
    if args.threads:
        torch.set_num_threads(args.threads)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    rows = run(args)
    table = summarise(rows, args)
    print()
    print(table)
    if args.json:
        args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                         "rows": [asdict(r) for r in rows]}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
