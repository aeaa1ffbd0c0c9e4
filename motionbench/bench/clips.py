"""Turning a manifest :class:`Sample` into frames: render synthetic clips, read files, cache them.

``load_sample`` is what the runner and the metrics use. Synthetic samples are rendered in memory
(exact pixels, exact ground-truth tracks), 3-D scene samples of the recapture task too (through
:mod:`motionbench.recapture.sources`, which also gives their depth and truth); file and URL samples are decoded with the sample's frame
window, fps and size. ``materialize`` writes clips to a folder as mp4 + ``.tracks.npz`` for tools
outside MotionBench (``motionbench synth``), skipping files that are already up to date.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from motionbench.bench.manifest import SYNTHETIC_NUM_FRAMES, FileSource, Sample, SceneSource, SyntheticSource, UrlSource
from motionbench.errors import ManifestError, VideoError
from motionbench.metrics.api import GroundTruthTracks
from motionbench.video import Clip, read_video, write_video

DEFAULT_NUM_FRAMES = SYNTHETIC_NUM_FRAMES
DEFAULT_SIZE = (128, 128)
DEFAULT_FPS = 8.0


def cache_root() -> Path:
    """``$MOTIONBENCH_CACHE`` or ``~/.cache/motionbench``."""
    return Path(os.environ.get("MOTIONBENCH_CACHE", Path.home() / ".cache" / "motionbench")).expanduser()


@dataclass(frozen=True)
class LoadedSample:
    sample: Sample
    clip: Clip
    ground_truth: GroundTruthTracks | None  # only synthetic clips know their true motion


def render_synthetic(sample: Sample, appearance: int = 0) -> LoadedSample:
    """Render a synthetic sample; ``appearance`` > 0 gives the same motion with another look."""
    from motionbench.bench import synthetic

    src = sample.source
    if not isinstance(src, SyntheticSource):
        raise ManifestError(f"sample {sample.id!r} is not synthetic (source: {src.describe()})")
    problems = synthetic.check_params(src.generator, src.params)
    if problems:
        raise ManifestError(f"sample {sample.id!r}, field 'source.synthetic': " + "; ".join(problems))
    num_frames = sample.frames.count or DEFAULT_NUM_FRAMES
    out = synthetic.render(
        src.generator,
        seed=src.seed,
        params=src.params,
        num_frames=sample.frames.start + num_frames,
        size=sample.size or DEFAULT_SIZE,
        fps=sample.fps or DEFAULT_FPS,
        appearance=appearance,
    )
    s = slice(sample.frames.start, sample.frames.start + num_frames)
    clip = Clip(np.ascontiguousarray(out.frames[s]), float(out.fps))
    gt = GroundTruthTracks(np.ascontiguousarray(out.tracks[:, s]), np.ascontiguousarray(out.visibility[:, s]))
    return LoadedSample(sample, clip, gt)


def load_sample(sample: Sample) -> LoadedSample:
    """Frames of a sample's reference clip (and ground truth when known).

    Raises:
        VideoError: the file is missing or cannot be decoded (the message names it).
        ManifestError: a URL source has not been downloaded yet, or a synthetic source is invalid.
    """
    src = sample.source
    if isinstance(src, SyntheticSource):
        return render_synthetic(sample)
    if isinstance(src, SceneSource):  # a recapture source: its truth is the scene (motionbench.recapture.sources)
        from motionbench.recapture.sources import render_scene_sample

        scene = render_scene_sample(sample)
        return LoadedSample(sample, Clip(np.ascontiguousarray(scene.source.frames), float(scene.fps)), None)
    if isinstance(src, UrlSource) and not src.path.exists():
        raise ManifestError(f"sample {sample.id!r}: {src.url} is not downloaded yet; run `motionbench download samples`")
    path = src.path if isinstance(src, (FileSource, UrlSource)) else None
    assert path is not None
    clip = read_video(path, start=sample.frames.start, count=sample.frames.count, fps=sample.fps,
                      size=sample.size, min_frames=2)
    return LoadedSample(sample, clip, None)


def _stamp(sample: Sample, appearance: int) -> str:
    src = sample.source
    assert isinstance(src, SyntheticSource)
    key = json.dumps([src.generator, src.seed, dict(src.params), sample.frames.start, sample.frames.count,
                      sample.size, sample.fps, appearance], sort_keys=True, default=str)
    return hashlib.sha256(key.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Materialized:
    sample_id: str
    video: Path
    tracks: Path
    written: bool  # False when the files were already up to date


def materialize(sample: Sample, out_dir: Path, appearance: int = 0) -> Materialized:
    """Write a synthetic sample as ``<id>[-a<k>].mp4`` and ``.tracks.npz`` (tracks, visibility, fps).

    Idempotent: a stamp file records what the files were rendered from; an up-to-date pair is left
    alone, a stale or half-written one is rewritten.
    """
    name = sample.id if appearance == 0 else f"{sample.id}-a{appearance}"
    video, tracks, stamp_file = out_dir / f"{name}.mp4", out_dir / f"{name}.tracks.npz", out_dir / f"{name}.stamp"
    stamp = _stamp(sample, appearance)
    if video.exists() and tracks.exists() and stamp_file.exists() and stamp_file.read_text() == stamp:
        return Materialized(sample.id, video, tracks, False)
    loaded = render_synthetic(sample, appearance)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp_file.unlink(missing_ok=True)  # the stamp is written last: its presence means "complete"
    write_video(video, loaded.clip.frames, loaded.clip.fps)
    assert loaded.ground_truth is not None
    tmp = tracks.with_name(f".{tracks.name}.partial.npz")
    np.savez_compressed(tmp, tracks=loaded.ground_truth.tracks, visibility=loaded.ground_truth.visibility,
                        fps=np.float32(loaded.clip.fps))
    os.replace(tmp, tracks)
    stamp_file.write_text(stamp)
    return Materialized(sample.id, video, tracks, True)


def check_media(sample: Sample) -> list[str]:
    """Problems with a sample's media: missing or unreadable file, too few frames, bad generator."""
    src = sample.source
    if isinstance(src, SyntheticSource):
        from motionbench.bench import synthetic

        return synthetic.check_params(src.generator, src.params)
    if isinstance(src, SceneSource):
        return []  # the seed and the moving object were checked with the schema; nothing to probe
    if isinstance(src, UrlSource) and not src.path.exists():
        return [f"not downloaded yet ({src.url}); run `motionbench download samples`"]
    path = src.path  # type: ignore[union-attr]
    try:
        from motionbench.video import probe

        info = probe(path)
    except VideoError as exc:
        return [str(exc)]
    start, count = sample.frames.start, sample.frames.count
    available = info.num_frames - start
    if available < 2 or (count is not None and count > available):
        need = count if count is not None else 2
        return [f"{path}: has {info.num_frames} frames; the window start={start} count={need} needs "
                f"{start + need} (lower frames.count or frames.start)"]
    return []


def sample_caption(sample: Sample) -> str | None:
    """What the sample's reference shows in words: its manifest ``caption``, else the caption of a toy-world
    clip's look (:mod:`motionbench.bench.toy`), else None."""
    if sample.caption:
        return sample.caption
    src = sample.source
    if isinstance(src, SyntheticSource) and src.generator.startswith("toy_"):
        from motionbench.bench.synthetic.params import resolve
        from motionbench.bench.toy import PARAMS, look_from_params

        if src.generator in PARAMS:
            return look_from_params(src.generator, resolve(src.generator, PARAMS[src.generator], src.params)).caption()
    return None
