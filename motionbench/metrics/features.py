"""What a metric can be computed from: the features, by name, and the contract of their providers.

A metric declares the features it needs (``needs = ("frame_embeddings", "text_embedding")``); a
:class:`FeatureProvider` computes some of them; the scorer asks each provider for each needed
feature once per generated video (scope ``video``), once per camera path of a recapture sample
(scope ``path``: the truth every seed and method of that path is scored against) or once per
sample (scope ``sample``: the reference side), and hands the values to the metrics as keyword
arguments.

:data:`FEATURES` lists them, each with its scope and what its value is. ``ground_truth_tracks``
exists only for synthetic clips (other samples skip its metrics); ``reference_tracks`` are the
tracker's, or the ground truth with ``--tracker gt``, and are cached on disk per content and backend.
The recapture task's truth (``target_frames``, ``hole_mask``, ``target_camera``) exists only for 3-D
scene samples: real clips skip the metrics that need it and keep the CLIP ones.
The providers of the built-in features are in :mod:`motionbench.metrics.providers`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from motionbench.errors import MotionBenchError
from motionbench.metrics.api import GroundTruthTracks, ScoringItem
from motionbench.video import Clip

Scope = Literal["video", "path", "sample"]


@dataclass(frozen=True)
class Feature:
    name: str
    scope: Scope
    description: str


FEATURES: dict[str, Feature] = {f.name: f for f in (
    Feature("generated_frames", "video", "uint8 [T, H, W, 3] frames of the generated video"),
    Feature("prompt", "video", "the prompt the video was generated from"),
    Feature("reference_frames", "sample", "uint8 [T, H, W, 3] frames of the reference clip"),
    Feature("box", "sample", "the sample's foreground box (x0, y0, x1, y1) in reference pixels, or None"),
    Feature("ground_truth_tracks", "sample", "Tracks known by construction (synthetic clips), inside the box"),
    Feature("frame_embeddings", "video", "float32 [T, D] L2-normalised CLIP image embeddings of the generated frames"),
    Feature("text_embedding", "video", "float32 [D] L2-normalised CLIP text embedding of the prompt"),
    Feature("generated_tracks", "video", "Tracks of the generated video (grid on frame 0, box scaled to it)"),
    Feature("reference_tracks", "sample", "Tracks of the reference (the tracker's, or the truth with --tracker gt)"),
    Feature("target_frames", "path", "uint8 [T, H, W, 3]: the exact re-rendering of the scene along the video's "
                                     "camera path (recapture, 3-D scenes only)"),
    Feature("hole_mask", "path", "bool [T, H, W]: True where the source never saw the target's surface, what a "
                                 "re-rendering must invent (recapture, 3-D scenes only)"),
    Feature("target_camera", "path", "TargetCamera: the path's world-to-camera extrinsics and intrinsics per frame, "
                                     "frame 0's exact depth and static-background mask, the pivot distance "
                                     "(recapture, 3-D scenes only)"),
)}


class FeatureUnavailable(MotionBenchError):
    """This input has no such feature, for a reason the user can fix: its metrics are *skipped*."""


class FeatureError(MotionBenchError):
    """A feature cannot be computed from this input: its metrics are *errors*, with this reason."""


@dataclass(frozen=True)
class SampleInputs:
    """The reference side of one sample, as the providers see it."""

    reference: Clip
    box: tuple[float, float, float, float] | None = None
    ground_truth: GroundTruthTracks | None = None
    cache_dir: Path | None = None  # where providers may persist reference-side work
    scene: Any = None  # recapture: the motionbench.bench.scenes.SceneClip behind a scene sample (its truth)


class FeatureProvider:
    """Computes some features.

    Attributes:
        features: the feature names it computes.
        backend: the id of the model or tracker behind them (architecture, weights checksum, grid...),
            recorded with every score computed from them; ``None`` for decoded inputs.
        unavailable: set when it cannot run on this machine (weights missing): the reason and the
            command that fixes it. Metrics that need it are then *skipped*, never scored as zero.
    """

    features: ClassVar[tuple[str, ...]]
    backend: str | None = None
    unavailable: str | None = None

    def compute(self, feature: str, sample: SampleInputs, item: ScoringItem | None) -> Any:
        """The value of ``feature``; ``item`` is None for sample-scope features (path-scope ones get the
        first video of the path, whose ``path`` they read).

        Raises:
            FeatureUnavailable: the input has no such feature (its metrics are skipped).
            FeatureError, or any MotionBenchError: the input cannot be processed (its metrics are
                errors, with the message as the reason).
        """
        raise NotImplementedError
