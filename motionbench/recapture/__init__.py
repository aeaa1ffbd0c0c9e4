"""The recapture task: re-render a video along a new camera path (MotionBench's second task).

Given a monocular source clip and a target camera path, a method produces the same dynamic scene
seen along the path (Follow-Your-Creation and its relatives). On the embedded synthetic scenes
(:mod:`motionbench.bench.scenes`) the exact re-rendering and the exact holes (what the source
never saw) are known, so re-renderings are scored against the truth.

Rooms (one job each):

* :mod:`.cameras`     pinhole conventions (OpenCV axes, pixel centres, world-to-camera extrinsics).
* :mod:`.trajectory`  the camera-path format (:class:`CameraPath`: orbit/arc/dolly/zoom/pan/turn,
  bullet time, frozen camera; keys interpolated per frame), parsing with errors naming the field.
* :mod:`.depth`       depth estimators (exact; a Hugging Face depth model, offline first), the
  default orbit pivot, hole filling of a re-rendering's depth.
* :mod:`.splat`       unprojection and z-buffered bilinear forward splatting (torch, batched); double
  reprojection.
* :mod:`.warp`        a source clip rendered along a path: frames with holes and the visibility mask.
* :mod:`.masks`       visibility conventions, FYC's composite training masks, hole dilation.
* :mod:`.inpaint`     filling a warp's holes with the VACE backbone (FYC and the untuned baseline).
* :mod:`.task`        the task's records (:class:`SourceClip`, :class:`RecaptureRequest`,
  :class:`Recapture`) and the :class:`RecaptureMethod` interface.

Metrics live with the others: :mod:`motionbench.metrics.novel_view` (PSNR and SSIM overall and in
the holes) and :mod:`motionbench.metrics.camera_accuracy` (rotation and translation error of the
camera estimated from background tracks). Methods: ``fyc`` (package :mod:`fyc`), ``warp-only`` and
``warp-inpaint-untuned`` (:mod:`motionbench_baselines.recapture`).

Phase 2: how the task plugs into the runner, store, report and registry
-------------------------------------------------------------------------
(Not built yet: it waits for the scorer, run-record and store refactors. This is the plan the
pieces above were cut for.)

* **Samples.** A manifest sample of the task is ``task: recapture``, a source (``scene: {seed,
  moving, num_frames, size}`` for an embedded scene, or ``video: PATH`` added with
  ``motionbench add``) and ``paths:`` (short or long forms, validated by :meth:`CameraPath.parse`
  with ``where="<manifest>: samples[i].paths[j]"``), prompts optional. Loading gives a
  :class:`SourceClip` (exact depth for scenes; for real clips a :class:`~.depth.DepthEstimator`,
  the sample skipped with the fixing command when its weights are absent, never scored as 0) and,
  for scenes, the truth per path: ``SceneClip.target(path)`` and ``seen_from_source`` (computed
  once per (sample, path), cached by the path's ``key``).
* **Jobs.** ``(method, sample, path index, seed)``. ``fit`` runs once per (method, source):
  cached under ``cache/`` by ``(method.state_key(), source.key)``; ``generate`` per job. A method's
  ``Recapture.context`` (FYC's packed frames) makes path *i* depend on path *i - 1* of the same
  (method, source, seed): the runner hands a worker all paths of one (method, sample, seed) in
  manifest order, and on resume regenerates (or reads from ``cache/``, keyed by state, source,
  path key and seed) the previous path's context, so results never depend on scheduling, worker
  count or shards.
* **Store.** ``videos/<method>/<sample>/<path-index>-<path-key>-s<seed>.mp4``; generation records
  gain ``task``, the path's long form and key, and the method's ``info`` (packed frames, hole
  fraction); the method's visibility mask is kept beside the video (``.mask.npz``) for inspection.
* **Metrics.** Registered like the others and declaring their needs: ``novel_view`` (psnr, ssim,
  psnr_holes, ssim_holes; needs the truth) and ``camera_accuracy`` (needs tracks of the generated
  video from the configured tracker, the truth's frame-0 depth and cameras; backend = tracker id),
  plus the existing CLIP text and temporal metrics. Real clips get no truth: CLIP metrics, and
  camera accuracy with the source's estimated depth for paths that start at the source camera.
* **Registry and CLI.** Recapture methods are found through the same ``motionbench.methods``
  entry-point group; each method class declares ``task = "recapture"`` and the registry filters by
  task, answering a method of the other task with a clear error. ``motionbench run --task
  recapture --method warp-only --method fyc --method-opt fyc.preset=tiny`` plans only recapture
  samples; ``--task`` defaults to motion transfer, so existing commands are unchanged.
* **Report.** A section per task. The recapture leaderboard shows PSNR/SSIM overall and in the
  holes, RotErr/TransErr and CLIP columns, with the anchors ``reference`` (the source clip
  unchanged: every re-rendering must beat it) and ``warp-only`` (holes left black) unranked, and
  ``warp-inpaint-untuned`` as the baseline FYC's tuning is measured against.
"""

from __future__ import annotations

import importlib
from typing import Any

# Names are imported lazily: validating a manifest's camera paths needs numpy only, not torch.
_EXPORTS = {
    "intrinsics": "cameras", "invert_rigid": "cameras", "look_at": "cameras",
    "DepthEstimator": "depth", "ExactDepth": "depth", "HubDepth": "depth", "default_pivot": "depth",
    "Splat": "splat", "double_reprojection": "splat", "forward_splat": "splat",
    "Recapture": "task", "RecaptureMethod": "task", "RecaptureRequest": "task", "SourceClip": "task",
    "resize_source": "task",
    "CameraKey": "trajectory", "CameraPath": "trajectory",
    "Warped": "warp", "warp_along_path": "warp",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'motionbench.recapture' has no attribute {name!r}")
    return getattr(importlib.import_module(f"motionbench.recapture.{_EXPORTS[name]}"), name)
