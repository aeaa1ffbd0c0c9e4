"""CPU speed of the metrics and trackers, and what reference caching saves.

Usage::

    PYTHONPATH=. python benchmarks/metrics.py [--frames 17] [--size 128] [--threads 2] [--methods 4]

CLIP speed is measured on the real architectures (ViT-B-32-quickgelu, ViT-L-14-quickgelu) with
**random weights** (``ARCH:random``): the arithmetic, and therefore the speed, is that of the real
model, but the scores are meaningless, so no score is printed. CoTracker3 is timed the same way
when ``$MOTIONBENCH_COTRACKER_REPO`` points to a co-tracker checkout. Clips are textured frames
panned along a known path. Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Callable

import numpy as np


def textured_pan(num_frames: int, size: int, seed: int = 0, amp: float = 10.0) -> np.ndarray:
    """A smooth random texture panned along a zigzag (uint8 [T, size, size, 3])."""
    import cv2

    pad = int(2 * amp) + 4
    rng = np.random.default_rng(seed)
    canvas = cv2.GaussianBlur(rng.random((size + 2 * pad, size + 2 * pad, 3)).astype(np.float32), (0, 0), 1.5)
    canvas = ((canvas - canvas.min()) / np.ptp(canvas) * 255).astype(np.uint8)
    u = np.linspace(0, 1, num_frames)
    dx, dy = amp * u, 0.6 * amp * np.abs((4 * u) % 2 - 1)
    out = [cv2.warpAffine(canvas, np.float32([[1, 0, x - pad], [0, 1, y - pad]]), (size, size), flags=cv2.INTER_LINEAR)
           for x, y in zip(dx, dy)]
    return np.stack(out)


def best_of(fn: Callable[[], object], repeat: int = 3, warmup: bool = True,
            clock: Callable[[], float] = time.perf_counter) -> float:
    """Fastest time of ``repeat`` calls (after one warm-up call unless ``warmup`` is False)."""
    if warmup:
        fn()
    times = []
    for _ in range(repeat):
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=17)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--methods", type=int, default=4, help="generated videos scored against one reference")
    ap.add_argument("--grid", type=int, default=55)
    ap.add_argument("--clip-archs", default="ViT-B-32-quickgelu",
                    help="comma-separated open_clip architectures to time (e.g. ViT-B-32-quickgelu,ViT-L-14-quickgelu)")
    ap.add_argument("--cotracker-grid", type=int, default=None, help="grid for CoTracker3 (default: --grid)")
    ap.add_argument("--sections", default="clip,trackers,caching,cotracker",
                    help="comma-separated subset of clip, trackers, caching, cotracker")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from motionbench.metrics.api import ScoringItem
    from motionbench.metrics.clip import ClipEncoder, clip_temporal_score, clip_text_score
    from motionbench.metrics.motion_fidelity import motion_fidelity
    from motionbench.metrics.scorer import FeatureOptions, build_scorer
    from motionbench.metrics.trackers import CoTracker3Tracker, LKTracker
    from motionbench.video import Clip

    t, s = args.frames, args.size
    frames = textured_pan(t, s)
    print(f"# MotionBench metrics on CPU: {t} frames of {s}x{s}, torch threads {args.threads}, "
          f"torch {torch.__version__}, {os.cpu_count()} CPUs visible")
    print(f"{'component':58s} {'seconds':>9s} {'frames/s':>9s}")

    def row(name: str, seconds: float, n_frames: int) -> None:
        print(f"{name:58s} {seconds:9.3f} {n_frames / seconds:9.1f}")

    sections = set(args.sections.split(","))
    # CLIP: one image-embedding pass serves clip_text and clip_temporal.
    for arch in args.clip_archs.split(",") if "clip" in sections else []:
        enc = ClipEncoder(f"{arch}:random")
        sec = best_of(lambda: enc.encode_frames(frames), repeat=2)
        row(f"CLIP {arch} image pass (random weights)", sec, t)
        emb = enc.encode_frames(frames)
        txt = enc.encode_text("a red car driving along a coastal road")
        sec_metrics = best_of(lambda: (clip_text_score(emb, txt), clip_temporal_score(emb)), repeat=5)
        row("  clip_text + clip_temporal arithmetic on the embeddings", sec_metrics, t)
        row("  clip_text + clip_temporal per video, image pass included", sec + sec_metrics, t)
        prompts = iter(f"a red car driving along a coastal road, take {i}" for i in range(100))
        sec_txt = best_of(lambda: enc.encode_text(next(prompts)), repeat=3)  # a new prompt each call
        print(f"  text embedding, once per prompt: {sec_txt * 1000:.1f} ms")

    # Trackers and the motion fidelity formula.
    if "trackers" in sections:
        lk = LKTracker(grid=args.grid)
        sec = best_of(lambda: lk.track(frames))
        row(f"tracker lk, grid {args.grid} ({args.grid ** 2} points)", sec, t)
        ref_tracks = lk.track(frames)
        gen_tracks = lk.track(textured_pan(t, s, seed=1))
        for variant in ("dmt", "symmetric"):
            sec_mf = best_of(lambda: motion_fidelity(gen_tracks, ref_tracks, variant))
            row(f"motion_fidelity {variant} formula, {ref_tracks.num_points} x {gen_tracks.num_points} tracks", sec_mf, t)

    # Reference caching: K generated videos scored against one reference. Timed in CPU seconds of
    # this process, which a busy machine disturbs less than wall time.
    if "caching" in sections:
        print()
        k = args.methods
        ref = Clip(frames, 8.0)
        items = [ScoringItem(f"m{i}", Clip(textured_pan(t, s, seed=10 + i), 8.0), "p") for i in range(k)]
        lk_grid = args.grid
        lk_options = FeatureOptions(tracker="lk", grid=lk_grid)

        def shared() -> None:
            build_scorer(("motion_fidelity",), lk_options).score_sample(ref, items)

        def one_by_one() -> None:  # what a scorer without reference caching would do
            for it in items:
                build_scorer(("motion_fidelity",), lk_options).score_sample(ref, [it])

        import tempfile

        with tempfile.TemporaryDirectory() as cache:
            build_scorer(("motion_fidelity",), lk_options).score_sample(ref, items, cache_dir=cache)

            def warm_disk() -> None:  # a resumed run: the reference's tracks come from cache_dir
                build_scorer(("motion_fidelity",), lk_options).score_sample(ref, items, cache_dir=cache)

            t_shared, t_each, t_disk = (best_of(f, repeat=2, warmup=False, clock=time.process_time)
                                        for f in (shared, one_by_one, warm_disk))
        print(f"# reference caching, motion_fidelity (lk, grid {lk_grid}), {k} methods on one sample, CPU seconds")
        print(f"reference tracked once per method : {t_each:.3f} s  ({k + k} tracker runs)")
        print(f"reference tracked once per sample : {t_shared:.3f} s  ({1 + k} tracker runs), "
              f"saves {100 * (1 - t_shared / t_each):.0f}%")
        print(f"reference tracks from cache_dir   : {t_disk:.3f} s  ({k} tracker runs), "
              f"saves {100 * (1 - t_disk / t_each):.0f}%")

    repo = os.environ.get("MOTIONBENCH_COTRACKER_REPO")
    cot_grid = args.cotracker_grid or args.grid
    if "cotracker" in sections and repo:
        print()
        torch.manual_seed(0)
        cot = CoTracker3Tracker(repo, None, grid=cot_grid)
        sec = best_of(lambda: cot.track(frames), repeat=1, warmup=False)  # minutes on a CPU
        row(f"tracker cotracker3_offline, grid {cot_grid} (random weights)", sec, t)
    elif "cotracker" in sections:
        print("\ntracker cotracker3_offline: not timed (set MOTIONBENCH_COTRACKER_REPO to a co-tracker checkout)")


if __name__ == "__main__":
    main()
