"""How well the LK tracker reads the toy world: each reference of ``data/toy.yaml`` against its own truth.

    python benchmarks/toy_tracking.py [--grid 55] [--window 21] [--levels 3] [--chroma 0.5] [--sample ID ...]

The reference video is the ideal transfer of its own motion, so scoring it as a generated video is
the ceiling of every method in the toy world under the issue's setting: the reference side is the
ground truth (``--tracker gt``), the generated side LK on the rendered frames (no video codec in
between). It prints ``matched`` motion fidelity per reference, the mean per category and overall.
``--chroma 0`` tracks luma alone, which is what the grey-level LK of earlier versions saw.

Measured on 2026-12-02 (2-core CPU, 85 s), defaults: camera 0.861, single object 0.492, multiple
objects 0.290, human 0.272, all 0.479; with ``--chroma 0`` (luma alone): 0.412, as the grey-level LK
before it (0.413). Issue 14 asks for FYM at 0.5 or more, so this ceiling has to rise well above that
first.
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import numpy as np

from motionbench.bench.clips import render_synthetic
from motionbench.bench.manifest import load_manifest
from motionbench.metrics.motion_fidelity import motion_fidelity
from motionbench.metrics.trackers import LKTracker
from motionbench.metrics.tracks import Tracks


def reference_scores(tracker: LKTracker, manifest: str = "toy", samples: tuple[str, ...] = ()) -> dict[str, tuple[str, float]]:
    """``{sample id: (category, matched score)}`` of each reference tracked by ``tracker`` against its truth."""
    out = {}
    for sample in load_manifest(manifest).samples:
        if samples and sample.id not in samples:
            continue
        loaded = render_synthetic(sample)
        frames, truth = loaded.clip.frames, loaded.ground_truth
        reference = Tracks(truth.tracks, truth.visibility, loaded.clip.size)
        out[sample.id] = (sample.category, motion_fidelity(tracker.track(frames), reference, "matched"))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    defaults = LKTracker()
    parser.add_argument("--manifest", default="toy", help="a manifest of synthetic samples (default: the toy world)")
    parser.add_argument("--grid", type=int, default=defaults.grid)
    parser.add_argument("--window", type=int, default=defaults.window)
    parser.add_argument("--levels", type=int, default=defaults.levels)
    parser.add_argument("--chroma", type=float, default=defaults.chroma)
    parser.add_argument("--sample", action="append", default=[], help="only these sample ids (repeatable)")
    args = parser.parse_args(argv)
    tracker = LKTracker(grid=args.grid, window=args.window, levels=args.levels, chroma=args.chroma)
    scores = reference_scores(tracker, args.manifest, tuple(args.sample))
    by_category: dict[str, list[float]] = defaultdict(list)
    print(f"tracker {tracker.backend}")
    for sample_id, (category, value) in scores.items():
        by_category[category].append(value)
        print(f"  {sample_id:24s} {category:14s} {value:6.3f}")
    for category, values in by_category.items():
        print(f"{category:14s} {np.mean(values):6.3f}  ({len(values)} references)")
    print(f"{'all':14s} {np.mean([v for _, v in scores.values()]):6.3f}  (mean of references)")


if __name__ == "__main__":
    main()
