"""The recapture pipeline on the embedded 3-D scenes: how exact the warp is, and what each piece costs.

Usage::

    PYTHONPATH=. python benchmarks/recapture.py [--seeds 0,1,2] [--size 64] [--frames 9] [--threads 1] [--fyc]

For each camera-path kind, over the given scene seeds, against the exact re-rendering:

* warp PSNR where the warp and the truth both see the scene (dB; the splat's resampling error),
* the true hole fraction (what the source never saw) and the warp's,
* hole IoU between the two (``-`` where the true holes are under 1% of the pixels: no disocclusion
  to speak of, so the IoU would measure a handful of silhouette pixels),
* camera accuracy (RotErr degrees, TransErr in pivot distances) from LK tracks of the *exact*
  re-rendering: the metric's own floor with a real tracker;

then seconds to render a clip, to warp it, and (``--fyc``) to fit and generate the tiny FYC.
``dolly:r=-0.3`` is there on purpose: moving 30% of the way to the back wall brings the camera
within a few tenths of a unit of the nearest object, which is magnified far beyond the 2x a
bilinear splat covers, so its surfaces crack into false holes (see :mod:`motionbench.recapture.splat`).
Nothing is downloaded; everything runs on the CPU.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

PATHS = ("turn:yaw=10", "turn:yaw=-8,pitch=6", "orbit:phi=15", "orbit:phi=25", "arc:theta=10", "pan:x=0.2",
         "dolly:r=0.3", "dolly:r=-0.1", "dolly:r=-0.3", "zoom:zoom=1.5", "bullet:phi=20")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--frames", type=int, default=9)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--fyc", action="store_true", help="also time the tiny FYC fit and generation")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    from motionbench.bench.scenes import render_clip
    from motionbench.metrics.camera_accuracy import camera_accuracy
    from motionbench.metrics.trackers import LKTracker
    from motionbench.recapture.depth import default_pivot
    from motionbench.recapture.warp import warp_along_path

    seeds = [int(s) for s in args.seeds.split(",")]
    size = (args.size, args.size)
    start = time.perf_counter()
    clips = [render_clip(s, num_frames=args.frames, size=size) for s in seeds]
    render_s = (time.perf_counter() - start) / len(clips)
    print(f"{len(seeds)} scenes, {args.frames} frames at {args.size}x{args.size}; render {render_s:.2f} s per clip")
    print(f"{'path':22s} {'PSNR seen':>9s} {'holes':>6s} {'warp':>6s} {'hole IoU':>8s} {'RotErr':>7s} {'TransErr':>8s} "
          f"{'warp s':>7s}")
    tracker = LKTracker(grid=20)
    for spec in PATHS:
        psnrs, ious, fracs, warp_fracs, rots, trans, secs = [], [], [], [], [], [], []
        for clip in clips:
            truth = clip.target(spec)
            seen = clip.seen_from_source(spec, truth)
            t0 = time.perf_counter()
            w = warp_along_path(clip.source.frames, clip.source.depth, clip.intrinsics, spec)
            secs.append(time.perf_counter() - t0)
            both = w.visible & seen
            err = (w.frames.astype(np.float64) - truth.frames.astype(np.float64))[both]
            psnrs.append(10 * np.log10(255 ** 2 / max(float((err ** 2).mean()), 1e-10)))
            union = (~w.visible | ~seen).sum()
            ious.append(float((~w.visible & ~seen).sum() / union) if union else 1.0)
            fracs.append(float((~seen).mean()))
            warp_fracs.append(float((~w.visible).mean()))
            acc = camera_accuracy(tracker.track(truth.frames), truth.depth[0], truth.intrinsics, truth.extrinsics,
                                  scale=default_pivot(clip.source.depth[0]), static0=truth.labels[0] == 0)
            rots.append(acc.rotation_error_deg)
            trans.append(acc.translation_error)
        iou = f"{np.mean(ious):8.3f}" if np.mean(fracs) >= 0.01 else f"{'-':>8s}"
        print(f"{spec:22s} {np.mean(psnrs):9.2f} {np.mean(fracs):6.3f} {np.mean(warp_fracs):6.3f} {iou} "
              f"{np.mean(rots):7.3f} {np.mean(trans):8.4f} {np.mean(secs):7.3f}")
    if args.fyc:
        from motionbench_fyc.method import FollowYourCreation
        from motionbench.methods.config import build_config
        from motionbench.recapture.task import RecaptureRequest, SourceClip
        from motionbench.recapture.trajectory import CameraPath

        clip = render_clip(seeds[0], num_frames=9, size=(32, 32))
        source = SourceClip("scene", clip.source.frames, clip.fps, clip.intrinsics, clip.source.depth, "exact")
        method = FollowYourCreation(build_config(FollowYourCreation, ["preset=tiny"]))
        method.session.backbone()
        t0 = time.perf_counter()
        state = method.fit(source)
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        method.generate(state, source, RecaptureRequest(CameraPath.parse("orbit:phi=15")))
        gen_s = time.perf_counter() - t0
        stages = ", ".join(f"{s.steps} steps to {s.max_angle:g} deg" for s in state.stages)
        print(f"fyc tiny (9 frames, 32x32): fit {fit_s:.1f} s ({stages}), generate {gen_s:.1f} s")


if __name__ == "__main__":
    main()
