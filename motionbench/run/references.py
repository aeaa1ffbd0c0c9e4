"""Turning a manifest sample into the decoded reference a method and the metrics see."""

from __future__ import annotations

from pathlib import Path

from motionbench.bench.manifest import Sample
from motionbench.methods.base import Reference
from motionbench.metrics.api import GroundTruthTracks
from motionbench.video import Clip


def load_reference_clip(sample: Sample, cache_dir: Path | None = None) -> tuple[Clip, GroundTruthTracks | None]:
    """The sample's clip (its frame window, fps and size applied) and ground-truth tracks if known.

    Raises:
        VideoError: the sample's video is missing or cannot be decoded.
    """
    try:
        from motionbench.bench.clips import load_sample
    except ImportError:  # bench.clips not merged yet: file sources only
        return _load_file_sample(sample), None
    loaded = load_sample(sample, cache_dir=cache_dir)
    return loaded.clip, loaded.ground_truth


def _load_file_sample(sample: Sample) -> Clip:
    from motionbench.bench.manifest import FileSource, UrlSource
    from motionbench.errors import VideoError
    from motionbench.video import read_video

    if not isinstance(sample.source, (FileSource, UrlSource)):
        raise VideoError(f"sample {sample.id!r}: {sample.source.describe()} needs motionbench.bench.clips to render")
    return read_video(sample.source.path, start=sample.frames.start, count=sample.frames.count,
                      fps=sample.fps, size=sample.size, min_frames=2)


def make_reference(sample: Sample, clip: Clip) -> Reference:
    return Reference(sample_id=sample.id, category=sample.category, clip=clip, prompts=sample.prompts,
                     box=sample.box, key=Reference.content_key(clip))
