"""Metrics: the contract and registry, the features they are computed from, their providers, the scorer.

Modules, one job each:

``base``           the :class:`Metric` contract and the registry (entry-point group ``motionbench.metrics``)
``catalog``        the built-in metrics as plug-in specs (what ``motionbench metrics`` lists)
``features``       the features a metric can need, by name, and the provider contract
``providers``      the built-in providers: decoded inputs, CLIP embeddings, tracks (reference side cached)
``scorer``         providers plus one loop over the requested metrics; ``build_scorer``
``api``            what the runner sees: ``Scorer`` protocol, ``ScoringItem``, ``ScoreValue``
``clip``, ``motion_fidelity``, ``motion_matched``   the built-in metrics (pure functions and classes)
``trackers``, ``track_cache``, ``tracks``           point trackers, their cache, the track record

Importing this package loads only the contract and the registry (what a plug-in metric and a
listing need); ``from motionbench.metrics.scorer import FeatureOptions, build_scorer`` builds a
scorer, and models load only when a provider is built.
"""

from __future__ import annotations

from motionbench.metrics.base import METRICS, Metric, MetricInputError

__all__ = ["METRICS", "Metric", "MetricInputError"]
