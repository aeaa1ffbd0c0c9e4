"""A manifest sample of the recapture task as what methods and metrics see: its source clip and truth.

:func:`load_recapture_sample` turns a :class:`~motionbench.bench.manifest.Sample` of the task into a
:class:`RecaptureSample`:

* a **scene** source (``source: {scene: {seed, moving}}``) is rendered by
  :func:`motionbench.bench.scenes.render_clip` at the sample's size, frame count and rate (scene
  defaults: 64x64, 17 frames, 8 fps): the source clip with its *exact* depth, and the
  :class:`~motionbench.bench.scenes.SceneClip` that draws the exact re-rendering along any path
  (the metrics' truth). Rendering is deterministic, so the runner and the scorer render the same
  clip; each process keeps the last few renderings (rendering costs about a second per clip).
* a **real clip** (``path`` / ``url``, e.g. added with ``motionbench add --task recapture``) is
  decoded like a motion-transfer reference; its camera is assumed to be a centred pinhole with a
  60 degree horizontal field of view (:data:`motionbench.recapture.cameras.DEFAULT_FOV_DEG`) and
  it has no depth until :func:`with_estimated_depth` gives it the depth of an off-the-shelf model
  (:class:`~motionbench.recapture.depth.HubDepth`, offline first: missing weights raise
  :class:`~motionbench.weights.WeightsMissing` with the command that fetches them). It has no truth.
"""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from motionbench.bench.manifest import SceneSource, Sample
from motionbench.errors import ManifestError
from motionbench.recapture.task import SourceClip

#: Renderings kept per process (the runner's groups and the scorer's samples reuse them).
_SCENE_CACHE = 8


@dataclass(frozen=True)
class RecaptureSample:
    """A recapture sample ready to run and score.

    Attributes:
        sample: the manifest's sample (its ``paths`` are the targets).
        source: the source clip (exact depth for scenes; ``depth`` None for real clips).
        scene: the scene that draws the exact re-renderings, or None (real clips have no truth).
    """

    sample: Sample
    source: SourceClip
    scene: object | None  # motionbench.bench.scenes.SceneClip (not imported here: torch-free typing)


@functools.lru_cache(maxsize=_SCENE_CACHE)
def _render(seed: int, moving: str, num_frames: int, size: tuple[int, int], fps: float):
    from motionbench.bench.scenes import render_clip

    return render_clip(seed, num_frames=num_frames, size=size, fps=fps, moving=moving)


def render_scene_sample(sample: Sample):
    """The :class:`~motionbench.bench.scenes.SceneClip` of a scene sample (rendered once per process).

    Raises:
        ManifestError: the sample's source is not a scene.
    """
    from motionbench.bench.scenes.clip import DEFAULT_FPS, DEFAULT_NUM_FRAMES, DEFAULT_SIZE

    src = sample.source
    if not isinstance(src, SceneSource):
        raise ManifestError(f"sample {sample.id!r} is not a scene (source: {src.describe()})")
    size = tuple(sample.size) if sample.size else DEFAULT_SIZE
    return _render(int(src.seed), src.moving, int(sample.frames.count or DEFAULT_NUM_FRAMES), size,
                   float(sample.fps or DEFAULT_FPS))


def load_recapture_sample(sample: Sample) -> RecaptureSample:
    """The sample's source clip and, for scenes, the scene (see the module docstring).

    Raises:
        VideoError: a real clip is missing or cannot be decoded.
        ManifestError: a URL source is not downloaded yet.
        ConfigError: a scene camera leaves the room (the render names it).
    """
    if isinstance(sample.source, SceneSource):
        scene = render_scene_sample(sample)
        source = SourceClip(sample.id, scene.source.frames, scene.fps, scene.intrinsics, scene.source.depth, "exact",
                            sample.prompts)
        return RecaptureSample(sample, source, scene)
    from motionbench.bench.clips import load_sample
    from motionbench.recapture.cameras import intrinsics

    clip = load_sample(sample).clip
    w, h = clip.size
    source = SourceClip(sample.id, np.ascontiguousarray(clip.frames), float(clip.fps), intrinsics(w, h),
                        prompts=sample.prompts)
    return RecaptureSample(sample, source, None)


def with_estimated_depth(source: SourceClip, model: str, *, device: str = "cpu",
                         cache_dir: Path | None = None) -> SourceClip:
    """``source`` with the depth of the depth model ``model`` (a hub id or a local folder).

    The estimate is cached as ``<cache_dir>/depth/<frames key>-<model key>.npy`` (written to a
    temporary name and renamed), so every method of a run lifts the clip with the same depth and
    the model runs once per clip.

    Raises:
        WeightsMissing: the model is not on this machine (the message says how to fetch it).
        WeightsError: a local folder that is not a depth checkpoint.
    """
    from motionbench.recapture.depth import HubDepth, check_depth

    estimator = HubDepth(model, device=device)
    frames_key = hashlib.sha256(np.ascontiguousarray(source.frames).tobytes()
                                + repr(source.frames.shape).encode()).hexdigest()[:16]
    model_key = hashlib.sha256(estimator.backend.encode()).hexdigest()[:8]
    cached = cache_dir / "depth" / f"{frames_key}-{model_key}.npy" if cache_dir is not None else None
    if cached is not None and cached.is_file():
        return source.with_depth(check_depth(np.load(cached), source.frames, str(cached)), estimator.backend)
    depth = estimator.estimate(source.frames)
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_name(f".{cached.stem}.{os.getpid()}.partial.npy")
        np.save(tmp, depth)
        os.replace(tmp, cached)
    return source.with_depth(depth, estimator.backend)


@dataclass(frozen=True)
class PathTruth:
    """What a re-rendering along one path is scored against (3-D scene samples).

    Attributes:
        frames: uint8 ``[T, H, W, 3]``, the exact re-rendering.
        holes: bool ``[T, H, W]``, True where the source never saw the target's surface.
        camera: the target's cameras, frame-0 depth and static mask (camera accuracy).
    """

    frames: np.ndarray
    holes: np.ndarray
    camera: object  # motionbench.metrics.camera_accuracy.TargetCamera


def path_truth(scene, path) -> PathTruth:
    """The exact re-rendering of ``scene`` (a SceneClip) along ``path``, its holes and its cameras.

    The pivot of ``pivot: auto`` is the one every method uses: the default pivot of the source's
    (exact) depth of frame 0.
    """
    from motionbench.metrics.camera_accuracy import TargetCamera
    from motionbench.recapture.depth import default_pivot

    view = scene.target(path)
    holes = ~scene.seen_from_source(path, view)
    pivot = path.resolve_pivot(default_pivot(scene.source.depth[0]))
    camera = TargetCamera(extrinsics=view.extrinsics, intrinsics=view.intrinsics, depth0=view.depth[0],
                          static0=view.labels[0] == 0, scale=pivot)
    return PathTruth(frames=view.frames, holes=holes, camera=camera)
