"""Turning a manifest sample into the decoded reference a method and the metrics see."""

from __future__ import annotations


from motionbench.bench.clips import load_sample, sample_caption
from motionbench.bench.manifest import Sample
from motionbench.methods.base import Reference
from motionbench.metrics.api import GroundTruthTracks
from motionbench.video import Clip


def load_reference_clip(sample: Sample) -> tuple[Clip, GroundTruthTracks | None]:
    """The sample's clip (frame window, fps and size applied) and its ground-truth tracks if known.

    Raises:
        VideoError: the sample's video is missing or cannot be decoded.
        ManifestError: a URL source is not downloaded, or a synthetic source is invalid.
    """
    loaded = load_sample(sample)
    return loaded.clip, loaded.ground_truth


def make_reference(sample: Sample, clip: Clip) -> Reference:
    caption = sample_caption(sample)
    return Reference(sample_id=sample.id, category=sample.category, clip=clip, prompts=sample.prompts,
                     box=sample.box, key=Reference.content_key(clip, caption), caption=caption)
