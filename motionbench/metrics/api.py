"""The records the runner and the scorer exchange.

The runner hands :class:`motionbench.metrics.scorer.Scorer` one sample at a time: the reference
clip, its :class:`GroundTruthTracks` when known, and a :class:`ScoringItem` per generated video; it
gets back one :class:`ScoreValue` per (video, metric instance), which it stores as a score record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from motionbench.video import Clip

if TYPE_CHECKING:
    from motionbench.recapture.trajectory import CameraPath

ScoreStatus = Literal["ok", "skipped", "error"]


@dataclass(frozen=True)
class GroundTruthTracks:
    """Point tracks known by construction (synthetic clips): ``tracks [N, T, 2]`` (x, y) pixels."""

    tracks: np.ndarray
    visibility: np.ndarray  # bool [N, T]


@dataclass(frozen=True)
class ScoringItem:
    """One generated video to score against the sample's reference (for recapture: along ``path``)."""

    job: str
    clip: Clip
    prompt: str
    path: "CameraPath | None" = None  # the recapture task's target camera path; None for motion transfer


@dataclass(frozen=True)
class ScoreValue:
    """One metric's outcome for one video; built by :meth:`motionbench.metrics.base.Metric.outcome`."""

    metric: str
    variant: str  # "" for a metric with one form
    status: ScoreStatus
    value: float | None
    version: str
    backend: str
    convention: str
    higher_is_better: bool
    reason: str | None = None  # why skipped / what failed, with the command that fixes it
