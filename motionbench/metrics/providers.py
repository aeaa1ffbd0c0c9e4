"""The providers of the built-in features (see :mod:`motionbench.metrics.features`).

- :class:`DecodedInputs`: the decoded videos, the prompt, the box and the ground-truth tracks (no model);
- :class:`ClipFeatures`: CLIP image embeddings of a video's frames and text embeddings of its prompt
  (one :class:`~motionbench.metrics.clip.ClipEncoder`, which memoises each prompt);
- :class:`TrackFeatures`: point tracks of the generated video and of the reference, the reference
  side through a :class:`~motionbench.metrics.track_cache.CachedTracker` (once per content, tracker
  backend and box; on disk under ``<cache_dir>/tracks/``);
- :class:`SceneTruth`: the recapture task's truth of a 3-D scene sample along a video's path (the
  exact re-rendering, its holes, its cameras), rendered once per path.

:func:`build_providers` builds those a set of metrics needs from :class:`FeatureOptions` (the
``--clip``, ``--tracker``, ``--grid`` and ``--device`` options). Missing weights never raise:
the provider says why it is unavailable and its metrics are skipped with the fixing command.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np

from motionbench.errors import MotionBenchError
from motionbench.metrics.api import ScoringItem
from motionbench.metrics.clip import DEFAULT_CLIP, ClipEncoder
from motionbench.metrics.features import FeatureError, FeatureProvider, FeatureUnavailable, SampleInputs
from motionbench.metrics.track_cache import CachedTracker
from motionbench.metrics.trackers import TrackerChoice, build_tracker, scale_box
from motionbench.metrics.tracks import Tracks
from motionbench.weights import WeightsMissing


@dataclass(frozen=True)
class FeatureOptions:
    """How the built-in features are computed.

    Attributes:
        clip: ``ARCH:WEIGHTS`` for CLIP (an open_clip tag, a file path, or ``random`` for tests).
        tracker: ``auto`` (CoTracker3 when its code and weights are here, else ``lk``), ``cotracker3``,
            ``lk`` or ``gt`` (ground-truth reference tracks; LK on the generated videos).
        grid: points per side of the tracking grid (None: 55, as the DMT evaluation).
        device: torch device for CLIP and CoTracker.
        tracker_repo: a local co-tracker checkout (else ``$MOTIONBENCH_COTRACKER_REPO`` or the torch hub cache).
        tracker_checkpoint: the CoTracker3 checkpoint file (else the torch hub cache).
    """

    clip: str = DEFAULT_CLIP
    tracker: str = "auto"
    grid: int | None = None
    device: str = "cpu"
    tracker_repo: str | None = None
    tracker_checkpoint: str | None = None


def ground_truth_tracks(sample: SampleInputs) -> Tracks:
    """The sample's ground-truth tracks inside its box.

    Raises:
        FeatureUnavailable: the sample has none (only synthetic clips do).
        TracksError: no track starts inside the box.
    """
    gt = sample.ground_truth
    if gt is None:
        raise FeatureUnavailable("this sample has no ground-truth tracks (only synthetic clips do)")
    tracks = Tracks(np.asarray(gt.tracks, np.float64), np.asarray(gt.visibility, bool), sample.reference.size)
    return tracks.inside(sample.box) if sample.box is not None else tracks


class DecodedInputs(FeatureProvider):
    """The inputs themselves: no model behind them."""

    features = ("generated_frames", "prompt", "reference_frames", "box", "ground_truth_tracks")

    @classmethod
    def from_options(cls, options: FeatureOptions) -> "DecodedInputs":
        return cls()

    def compute(self, feature: str, sample: SampleInputs, item: ScoringItem | None) -> Any:
        if feature == "generated_frames":
            return item.clip.frames  # type: ignore[union-attr]
        if feature == "prompt":
            return item.prompt  # type: ignore[union-attr]
        if feature == "reference_frames":
            return sample.reference.frames
        if feature == "box":
            return sample.box
        return ground_truth_tracks(sample)


class ClipFeatures(FeatureProvider):
    """CLIP embeddings; unavailable (its metrics skipped) when the weights are not on this machine."""

    features = ("frame_embeddings", "text_embedding")

    def __init__(self, spec: str = DEFAULT_CLIP, *, device: str = "cpu") -> None:
        self.encoder: ClipEncoder | None = None
        try:
            self.encoder = ClipEncoder(spec, device=device)
            self.backend = self.encoder.backend
        except WeightsMissing as exc:
            self.unavailable = str(exc)
            self.backend = f"open_clip:{spec}:unavailable"

    @classmethod
    def from_options(cls, options: FeatureOptions) -> "ClipFeatures":
        return cls(options.clip, device=options.device)

    def compute(self, feature: str, sample: SampleInputs, item: ScoringItem | None) -> Any:
        assert self.encoder is not None and item is not None
        if feature == "frame_embeddings":
            return self.encoder.encode_frames(item.clip.frames)
        if not item.prompt.strip():  # a recapture sample without a caption: there is no text to align with
            raise FeatureUnavailable("this video has no prompt (a recapture sample without a caption); CLIP text "
                                     "alignment needs one: add prompts: [\"...\"] to the sample")
        return self.encoder.encode_text(item.prompt)


class TrackFeatures(FeatureProvider):
    """Tracks of both videos; with ``reference_from_ground_truth`` the reference side is the ground truth.

    Attributes:
        backend: the tracker's id (``reference=gt;generated=<tracker>`` with ground truth).
        tracker_runs: how many times a tracker actually ran (for tests and the caching benchmark).
    """

    features = ("generated_tracks", "reference_tracks")

    def __init__(self, choice: TrackerChoice, *, reference_from_ground_truth: bool = False) -> None:
        self.choice = choice
        self.reference_from_ground_truth = reference_from_ground_truth
        self.cache = CachedTracker(choice.tracker) if choice.tracker is not None else None
        self._generated_runs = 0
        if choice.tracker is None:
            self.backend = f"{choice.requested}:unavailable"
            self.unavailable = choice.unavailable or f"the {choice.requested} tracker is not available"
        elif reference_from_ground_truth:
            self.backend = f"reference=gt;generated={choice.tracker.backend}"
        else:
            self.backend = choice.tracker.backend

    @classmethod
    def from_options(cls, options: FeatureOptions) -> "TrackFeatures":
        choice = build_tracker(options.tracker, grid=options.grid, device=options.device,
                               repo=options.tracker_repo, checkpoint=options.tracker_checkpoint)
        return cls(choice, reference_from_ground_truth=options.tracker == "gt")

    @property
    def tracker_runs(self) -> int:
        return self._generated_runs + (self.cache.runs if self.cache is not None else 0)

    def compute(self, feature: str, sample: SampleInputs, item: ScoringItem | None) -> Any:
        if feature == "reference_tracks":
            return self._reference(sample)
        assert item is not None and self.choice.tracker is not None
        frames = item.clip.frames
        if len(frames) < 2:
            raise FeatureError(f"generated: the video has {len(frames)} frame; tracking needs at least 2")
        box = scale_box(sample.box, sample.reference.size, item.clip.size) if sample.box is not None else None
        self._generated_runs += 1
        try:
            return self.choice.tracker.track(frames, box)
        except MotionBenchError as exc:
            raise FeatureError(f"generated: {exc}") from None

    def _reference(self, sample: SampleInputs) -> Tracks:
        frames = sample.reference.frames
        try:
            if self.reference_from_ground_truth:
                return ground_truth_tracks(sample)
            assert self.cache is not None
            if len(frames) < 2:
                raise FeatureError(f"the clip has {len(frames)} frame; tracking needs at least 2")
            folder = sample.cache_dir / "tracks" if sample.cache_dir is not None else None
            return self.cache.track(frames, sample.box, folder=folder)
        except FeatureUnavailable as exc:
            raise FeatureUnavailable(f"{exc}; use --tracker lk or cotracker3") from None
        except MotionBenchError as exc:
            raise FeatureError(f"reference: {exc}") from None


#: Backend id of the scene truth: bump it when the renderer changes what it draws (scores stay comparable only within one).
TRUTH_BACKEND = "scene-render:1"


class SceneTruth(FeatureProvider):
    """The recapture truth along each video's path (see :func:`motionbench.recapture.sources.path_truth`).

    The three features share one rendering per path (kept for the path being scored); real clips
    have no scene, so their metrics are skipped with the reason.
    """

    features = ("target_frames", "hole_mask", "target_camera")
    backend = TRUTH_BACKEND

    def __init__(self) -> None:
        self._last: tuple[Any, str, Any] | None = None  # (scene, path key, PathTruth)

    @classmethod
    def from_options(cls, options: FeatureOptions) -> "SceneTruth":
        return cls()

    def compute(self, feature: str, sample: SampleInputs, item: ScoringItem | None) -> Any:
        if sample.scene is None:
            raise FeatureUnavailable("this sample has no exact re-rendering: only 3-D scene samples (source: scene) "
                                     "have a truth; real clips are scored by the CLIP metrics only")
        if item is None or item.path is None:
            raise FeatureError("this video has no camera path: it is not a recapture video")
        if self._last is None or self._last[0] is not sample.scene or self._last[1] != item.path.key:
            from motionbench.recapture.sources import path_truth

            self._last = (sample.scene, item.path.key, path_truth(sample.scene, item.path))
        truth = self._last[2]
        return {"target_frames": truth.frames, "hole_mask": truth.holes, "target_camera": truth.camera}[feature]


PROVIDERS = (DecodedInputs, ClipFeatures, TrackFeatures, SceneTruth)


def build_providers(needed: Iterable[str], options: FeatureOptions) -> list[FeatureProvider]:
    """The built-in providers of the ``needed`` features (and no others: CLIP loads only if asked for).

    Raises:
        ConfigError: unknown tracker or bad grid; WeightsError: a malformed ``clip`` spec or an
            explicit weights path that does not exist.
    """
    needed = set(needed)
    return [cls.from_options(options) for cls in PROVIDERS if needed & set(cls.features)]
