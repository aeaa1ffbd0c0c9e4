"""Metrics: CLIP text alignment, CLIP temporal consistency, motion fidelity; trackers; the scorer.

Importing this package is cheap (no torch): :func:`build_scorer` and the metric classes import their
heavy dependencies on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from motionbench.metrics.base import Metric, check_metric_name, get_metric, metric_names

if TYPE_CHECKING:
    from motionbench.metrics.api import Scorer

__all__ = ["Metric", "build_scorer", "check_metric_name", "get_metric", "metric_names"]


def build_scorer(metrics: Sequence[str] = ("clip_text", "clip_temporal", "motion_fidelity"), *,
                 clip: str = "ViT-B-32-quickgelu:openai", tracker: str = "auto",
                 variants: Sequence[str] = ("dmt", "symmetric", "matched"), grid: int | None = None, device: str = "cpu",
                 tracker_repo: str | None = None, tracker_checkpoint: str | None = None) -> "Scorer":
    """Build the scorer the runner uses; see :func:`motionbench.metrics.scorer.build_scorer`."""
    from motionbench.metrics.scorer import build_scorer as _build

    return _build(metrics, clip=clip, tracker=tracker, variants=variants, grid=grid, device=device,
                  tracker_repo=tracker_repo, tracker_checkpoint=tracker_checkpoint)
