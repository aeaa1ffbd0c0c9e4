"""What the runner asks of the metrics: one scorer, one call per sample.

A :class:`Scorer` scores every generated video of one sample in one call, so the reference side
(tracks, image embeddings) is computed once per sample and each text embedding once per prompt, and
the CLIP metrics share one image-embedding pass per video. ``cache_dir`` persists reference-side work
across runs, keyed by content and backend.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from motionbench.video import Clip


@dataclass(frozen=True)
class GroundTruthTracks:
    """Point tracks known by construction (synthetic clips): ``tracks [N, T, 2]`` (x, y) pixels."""

    tracks: np.ndarray
    visibility: np.ndarray  # bool [N, T]


@dataclass(frozen=True)
class ScoringItem:
    """One generated video to score against the sample's reference."""

    job: str
    clip: Clip
    prompt: str


@dataclass(frozen=True)
class ScoreValue:
    metric: str
    variant: str
    status: str  # "ok" | "skipped" | "error"
    value: float | None
    version: str
    backend: str
    convention: str
    higher_is_better: bool
    reason: str | None = None


class Scorer(Protocol):
    def backends(self) -> dict[str, str]:
        """Metric name -> backend id, recorded in run.json (CLIP arch + weight checksum, tracker...)."""

    def outputs(self) -> list[tuple[str, str, str]]:
        """(metric, variant, backend) of every value each scored video gets; variant "" for one-form metrics.

        The runner uses it to see which videos still lack a value, e.g. after a new variant is added.
        """

    def score_sample(
        self,
        reference: Clip,
        items: Sequence[ScoringItem],
        *,
        box: tuple[float, float, float, float] | None = None,
        reference_tracks: GroundTruthTracks | None = None,
        cache_dir: Path | None = None,
    ) -> dict[str, list[ScoreValue]]:
        """Scores keyed by ``item.job``; a metric that cannot run gives status "skipped" with a reason."""
