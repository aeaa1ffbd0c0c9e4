"""The concrete :class:`~motionbench.metrics.api.Scorer`: every metric of one sample in one call.

Work shared across the generated videos of a sample is done once:

- the reference's tracks are computed once per (reference content, tracker backend, box) and kept
  in memory and, when ``cache_dir`` is given, on disk as ``cache_dir/tracks/<key>.npz``, where the
  key hashes the decoded reference frames, the tracker's backend id and the box;
- each prompt's text embedding is computed once per scorer;
- ``clip_text`` and ``clip_temporal`` share one image-embedding pass per generated video.

Nothing here is imported by ``motionbench.metrics`` at package import; torch loads on first use.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Sequence

import numpy as np

from motionbench.errors import ConfigError
from motionbench.metrics.api import GroundTruthTracks, ScoreValue, ScoringItem
from motionbench.metrics.base import check_metric_name, get_metric
from motionbench.metrics.clip import DEFAULT_CLIP
from motionbench.metrics.motion_fidelity import VARIANTS, motion_fidelity
from motionbench.metrics.trackers import TrackerChoice, build_tracker, scale_box
from motionbench.metrics.tracks import Tracks, TracksError, load_tracks, save_tracks
from motionbench.video import Clip

CLIP_METRICS = ("clip_text", "clip_temporal")
DEFAULT_METRICS = ("clip_text", "clip_temporal", "motion_fidelity")


def content_hash(frames: np.ndarray) -> str:
    """sha256 of decoded frames (shape and bytes), so a re-encoded copy of the same pixels hits."""
    h = hashlib.sha256(repr((frames.shape, str(frames.dtype))).encode())
    h.update(np.ascontiguousarray(frames).tobytes())
    return h.hexdigest()


class MotionBenchScorer:
    """Scores generated videos against their reference; see :func:`build_scorer`."""

    def __init__(self, metrics: Sequence[str] = DEFAULT_METRICS, *, clip: str = DEFAULT_CLIP, tracker: str = "auto",
                 variants: Sequence[str] = ("dmt", "symmetric", "matched"), grid: int | None = None, device: str = "cpu",
                 tracker_repo: str | None = None, tracker_checkpoint: str | None = None) -> None:
        self.metrics = tuple(check_metric_name(m) for m in metrics)
        if not self.metrics:
            raise ConfigError("no metrics requested; choose from clip_text, clip_temporal, motion_fidelity")
        bad = [v for v in variants if v not in VARIANTS]
        if bad or not variants:
            raise ConfigError(f"unknown motion fidelity variant(s) {bad or list(variants)}; choose from {', '.join(VARIANTS)}")
        self.variants = tuple(variants)
        self.device = device
        self.clip_spec = clip
        self.encoder = None
        self.clip_unavailable: str | None = None
        if any(m in CLIP_METRICS for m in self.metrics):
            from motionbench.metrics.clip import ClipEncoder
            from motionbench.weights import WeightsMissing

            try:
                self.encoder = ClipEncoder(clip, device=device)
            except WeightsMissing as exc:
                self.clip_unavailable = str(exc)
        self.tracker_name = tracker
        self.choice: TrackerChoice | None = None
        if "motion_fidelity" in self.metrics:
            self.choice = build_tracker(tracker, grid=grid, device=device, repo=tracker_repo, checkpoint=tracker_checkpoint)
        self._reference_tracks: dict[str, Tracks] = {}
        self.tracker_calls = 0  # counted for tests and the caching benchmark

    # -- backends -----------------------------------------------------------------------------------
    def _motion_backend(self) -> str:
        assert self.choice is not None
        if self.choice.tracker is None:
            return f"{self.choice.requested}:unavailable"
        if self.tracker_name == "gt":
            return f"reference=gt;generated={self.choice.tracker.backend}"
        return self.choice.tracker.backend

    def backends(self) -> dict[str, str]:
        """Metric name -> backend id (CLIP architecture + weight checksum; tracker + checkpoint + grid)."""
        out: dict[str, str] = {}
        for m in self.metrics:
            if m in CLIP_METRICS:
                out[m] = self.encoder.backend if self.encoder is not None else f"open_clip:{self.clip_spec}:unavailable"
            else:
                out[m] = self._motion_backend()
        return out

    def outputs(self) -> list[tuple[str, str, str]]:
        """(metric, variant, backend) of every value a scored video gets."""
        return [(m, v, b) for m, b in self.backends().items()
                for v in (self.variants if m == "motion_fidelity" else ("",))]

    # -- scoring ------------------------------------------------------------------------------------
    def score_sample(self, reference: Clip, items: Sequence[ScoringItem], *,
                     box: tuple[float, float, float, float] | None = None,
                     reference_tracks: GroundTruthTracks | None = None,
                     cache_dir: Path | None = None) -> dict[str, list[ScoreValue]]:
        """Scores keyed by ``item.job``; a metric that cannot run is "skipped" (or "error") with a reason."""
        jobs = [it.job for it in items]
        if len(set(jobs)) != len(jobs):
            raise ConfigError("score_sample got the same job id twice; job ids must be unique within a sample")
        out: dict[str, list[ScoreValue]] = {it.job: [] for it in items}
        ref_tracks: Tracks | None = None
        ref_problem: tuple[str, str] | None = None  # (status, reason) when the reference cannot be tracked
        if "motion_fidelity" in self.metrics:
            try:
                ref_tracks = self._reference_side(reference, box, reference_tracks, cache_dir)
            except _Skip as exc:
                ref_problem = ("skipped", str(exc))
            except (ConfigError, TracksError) as exc:
                ref_problem = ("error", f"reference: {exc}")
        for it in items:
            embeddings = None
            for m in self.metrics:
                if m in CLIP_METRICS:
                    if self.encoder is None:
                        out[it.job].append(self._value(m, "", "skipped", None, self.clip_unavailable))
                        continue
                    if embeddings is None:
                        embeddings = self.encoder.encode_frames(it.clip.frames)
                    out[it.job].append(self._clip_value(m, embeddings, it.prompt))
                else:
                    out[it.job].extend(self._motion_values(it, reference, ref_tracks, ref_problem, box))
        return out

    def _value(self, metric: str, variant: str, status: str, value: float | None, reason: str | None) -> ScoreValue:
        cls = get_metric(metric)
        backend = self.backends()[metric]
        return ScoreValue(metric=metric, variant=variant, status=status, value=value, version=cls.version,
                          backend=backend, convention=cls.convention, higher_is_better=cls.higher_is_better,
                          reason=reason)

    def _clip_value(self, metric: str, embeddings: np.ndarray, prompt: str) -> ScoreValue:
        from motionbench.metrics.clip import clip_temporal_score, clip_text_score

        if metric == "clip_text":
            value = clip_text_score(embeddings, self.encoder.encode_text(prompt))
        elif len(embeddings) < 2:
            return self._value(metric, "", "error", None, "the video has 1 frame; temporal consistency needs at least 2")
        else:
            value = clip_temporal_score(embeddings)
        return self._value(metric, "", "ok", value, None)

    def _motion_values(self, item: ScoringItem, reference: Clip, ref_tracks: Tracks | None,
                       ref_problem: tuple[str, str] | None, box) -> list[ScoreValue]:
        if ref_tracks is None:
            status, reason = ref_problem or ("skipped", "no reference tracks")
            return [self._value("motion_fidelity", v, status, None, reason) for v in self.variants]
        try:
            if item.clip.num_frames < 2:
                raise ConfigError("the generated video has 1 frame; motion fidelity needs at least 2")
            gen_box = scale_box(box, reference.size, item.clip.size) if box is not None else None
            self.tracker_calls += 1
            gen_tracks = self.choice.tracker.track(item.clip.frames, gen_box)
        except (ConfigError, TracksError) as exc:
            return [self._value("motion_fidelity", v, "error", None, f"generated: {exc}") for v in self.variants]
        values = []
        for v in self.variants:
            score = motion_fidelity(gen_tracks, ref_tracks, v)
            if not np.isfinite(score):  # never let NaN through silently
                reason = ("the tracker marked every reference point invisible at every step, so there is no "
                          "reliable reference motion to compare with" if v == "matched" and not
                          (ref_tracks.visibility[:, :-1] & ref_tracks.visibility[:, 1:]).any()
                          else "score is not finite")
                values.append(self._value("motion_fidelity", v, "error", None, reason))
            else:
                values.append(self._value("motion_fidelity", v, "ok", score, None))
        return values

    def _reference_side(self, reference: Clip, box, gt: GroundTruthTracks | None, cache_dir: Path | None) -> Tracks:
        assert self.choice is not None
        if self.choice.tracker is None:
            raise _Skip(self.choice.unavailable or "tracker unavailable")
        if self.tracker_name == "gt":
            if gt is None:
                raise _Skip("this sample has no ground-truth tracks (only synthetic clips do); use --tracker lk or cotracker3")
            tracks = Tracks(np.asarray(gt.tracks, np.float64), np.asarray(gt.visibility, bool), reference.size)
            return tracks.inside(box) if box is not None else tracks
        if reference.num_frames < 2:
            raise ConfigError("the reference has 1 frame; motion fidelity needs at least 2")
        key_src = json.dumps([content_hash(reference.frames), self.choice.tracker.backend, box])
        key = hashlib.sha256(key_src.encode()).hexdigest()[:32]
        if key in self._reference_tracks:
            return self._reference_tracks[key]
        path = Path(cache_dir) / "tracks" / f"{key}.npz" if cache_dir is not None else None
        if path is not None and path.is_file():
            try:
                tracks = load_tracks(path)
            except TracksError:
                tracks = None  # a damaged cache entry is recomputed and overwritten
            if tracks is not None:
                self._reference_tracks[key] = tracks
                return tracks
        self.tracker_calls += 1
        tracks = self.choice.tracker.track(reference.frames, box)
        if path is not None:
            save_tracks(path, tracks)
        self._reference_tracks[key] = tracks
        return tracks


class _Skip(Exception):
    """Internal: the reference side cannot be computed for a reason the user can fix."""


def build_scorer(metrics: Sequence[str] = DEFAULT_METRICS, *, clip: str = DEFAULT_CLIP, tracker: str = "auto",
                 variants: Sequence[str] = ("dmt", "symmetric", "matched"), grid: int | None = None, device: str = "cpu",
                 tracker_repo: str | None = None, tracker_checkpoint: str | None = None) -> MotionBenchScorer:
    """Build the scorer the runner uses. Never touches the network.

    Args:
        metrics: metric names (see ``motionbench.metrics.metric_names()``).
        clip: ``ARCH:WEIGHTS`` for the CLIP metrics (tag, file path, or ``random`` for tests).
        tracker: ``auto`` (CoTracker3 when its code and weights are here, else ``lk``),
            ``cotracker3``, ``lk`` or ``gt`` (ground-truth reference tracks; LK on generated videos).
        variants: motion fidelity variants: ``dmt``, ``symmetric``, ``matched``.
        grid: points per side of the tracking grid (default 55).
        device: torch device for CLIP and CoTracker.
        tracker_repo: a local co-tracker checkout (else ``$MOTIONBENCH_COTRACKER_REPO`` or the torch hub cache).
        tracker_checkpoint: the CoTracker3 checkpoint file (else the torch hub cache).

    Missing weights do not raise: their metrics come back "skipped" with the command that fixes it.

    Raises:
        ConfigError: unknown metric, variant or tracker, or a bad grid.
        WeightsError: a malformed ``clip`` spec or an explicit weights path that does not exist.
    """
    return MotionBenchScorer(metrics, clip=clip, tracker=tracker, variants=variants, grid=grid, device=device,
                             tracker_repo=tracker_repo, tracker_checkpoint=tracker_checkpoint)
