"""The scorer: feature providers plus one loop over the requested metrics.

For each sample the scorer computes every feature a requested metric needs, once: reference-side
features (scope ``sample``) once per sample, a recapture path's truth (scope ``path``) once per
camera path, the others once per generated video, so the CLIP
metrics share one image-embedding pass per video and motion fidelity's variants share one pair of
track sets. Then each metric instance scores each video from its features.

Outcomes, per (video, metric instance): ``ok`` with a finite value; ``skipped`` when a provider is
unavailable on this machine (missing weights) or the input lacks the feature (no ground truth), with
the reason; ``error`` when a feature or the metric cannot handle the input (or the value is not
finite), with the reason. A metric's backend joins the backends of the providers it draws on.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

from motionbench.errors import ConfigError, MotionBenchError
from motionbench.metrics.api import GroundTruthTracks, ScoreValue, ScoringItem
from motionbench.metrics.base import METRICS, Metric
from motionbench.metrics.features import FEATURES, FeatureProvider, FeatureUnavailable, SampleInputs
from motionbench.metrics.providers import FeatureOptions, build_providers
from motionbench.tasks import MOTION_TRANSFER, RECAPTURE
from motionbench.video import Clip

__all__ = ["DEFAULT_METRICS", "TASK_DEFAULT_METRICS", "FeatureOptions", "Scorer", "build_scorer", "resolve_metrics"]

#: What ``motionbench run`` scores when no ``--metric`` is given (plug-in metrics are asked for by name).
DEFAULT_METRICS = ("clip_text", "clip_temporal", "motion_fidelity")
#: The same for each task (:mod:`motionbench.tasks`).
TASK_DEFAULT_METRICS = {MOTION_TRANSFER: DEFAULT_METRICS,
                        RECAPTURE: ("novel_view", "camera_accuracy", "clip_text", "clip_temporal")}


class _Failed:
    """A feature that could not be computed, remembered so every metric that needs it says why."""

    def __init__(self, status: str, reason: str) -> None:
        self.status, self.reason = status, reason


def _describe(exc: Exception) -> str:
    return str(exc) if isinstance(exc, MotionBenchError) else f"{type(exc).__name__}: {exc}"


class Scorer:
    """Scores generated videos against their reference with ``metrics``, from the features of ``providers``.

    Raises:
        ConfigError: no metric, two metrics with one id, a feature no provider computes, or two
            providers of one feature.
    """

    def __init__(self, metrics: Sequence[Metric], providers: Sequence[FeatureProvider]) -> None:
        self.metrics = tuple(metrics)
        if not self.metrics:
            raise ConfigError(f"no metrics requested; registered metrics: {', '.join(METRICS.names())}")
        ids = [m.id for m in self.metrics]
        if len(set(ids)) != len(ids):
            raise ConfigError(f"a metric is requested twice: {sorted({i for i in ids if ids.count(i) > 1})}")
        self._providers: dict[str, FeatureProvider] = {}
        for p in providers:
            for feature in p.features:
                if feature in self._providers:
                    raise ConfigError(f"two providers compute the feature {feature!r}: "
                                      f"{type(self._providers[feature]).__name__} and {type(p).__name__}")
                self._providers[feature] = p
        for m in self.metrics:
            missing = [n for n in m.needs if n not in self._providers]
            if missing:
                raise ConfigError(f"metric {m.id!r} needs {', '.join(missing)}, which no provider here computes; "
                                  f"features: {', '.join(FEATURES)}")

    def provider(self, feature: str) -> FeatureProvider:
        """The provider of ``feature`` (its counters and encoder are useful in tests and benchmarks)."""
        return self._providers[feature]

    # -- backends -----------------------------------------------------------------------------------
    def backend_of(self, metric: Metric) -> str:
        """The backends of the providers ``metric`` draws on, joined; ``pixels`` when none is a model."""
        parts = dict.fromkeys(b for b in (self._providers[n].backend for n in metric.needs) if b)
        return ";".join(parts) or "pixels"

    def backends(self) -> dict[str, str]:
        """Metric name -> backend id (CLIP architecture + weight checksum; tracker + checkpoint + grid)."""
        return {m.name: self.backend_of(m) for m in self.metrics}

    def outputs(self) -> list[tuple[str, str, str]]:
        """(metric, variant, backend) of every value a scored video gets."""
        return [(m.name, m.variant, self.backend_of(m)) for m in self.metrics]

    # -- scoring ------------------------------------------------------------------------------------
    def score_sample(self, reference: Clip, items: Sequence[ScoringItem], *,
                     box: tuple[float, float, float, float] | None = None,
                     ground_truth: GroundTruthTracks | None = None,
                     cache_dir: Path | None = None, scene: Any = None) -> dict[str, list[ScoreValue]]:
        """Scores keyed by ``item.job``, one value per requested metric instance, in request order.

        ``scene``: a recapture scene sample's :class:`~motionbench.bench.scenes.SceneClip` (its truth).
        """
        jobs = [it.job for it in items]
        if len(set(jobs)) != len(jobs):
            raise ConfigError("score_sample got the same job id twice; job ids must be unique within a sample")
        sample = SampleInputs(reference, box, ground_truth, Path(cache_dir) if cache_dir is not None else None, scene)
        sample_features: dict[str, Any] = {}
        path_features: dict[str | None, dict[str, Any]] = {}
        out: dict[str, list[ScoreValue]] = {}
        for item in items:
            memos = {"sample": sample_features, "video": {},
                     "path": path_features.setdefault(item.path.key if item.path is not None else None, {})}
            out[item.job] = [self._score(m, sample, item, memos) for m in self.metrics]
        return out

    def _feature(self, name: str, sample: SampleInputs, item: ScoringItem, memos: dict[str, dict[str, Any]]) -> Any:
        scope = FEATURES[name].scope
        memo = memos[scope]
        if name not in memo:
            provider = self._providers[name]
            if provider.unavailable is not None:
                memo[name] = _Failed("skipped", provider.unavailable)
            else:
                try:
                    memo[name] = provider.compute(name, sample, item if scope != "sample" else None)
                except FeatureUnavailable as exc:
                    memo[name] = _Failed("skipped", str(exc))
                except Exception as exc:  # noqa: BLE001 - one input's failure is that score's error, not the run's
                    memo[name] = _Failed("error", _describe(exc))
        return memo[name]

    def _score(self, metric: Metric, sample: SampleInputs, item: ScoringItem,
               memos: dict[str, dict[str, Any]]) -> ScoreValue:
        backend = self.backend_of(metric)
        inputs = {n: self._feature(n, sample, item, memos) for n in metric.needs}
        failed = [v for v in inputs.values() if isinstance(v, _Failed)]
        if failed:
            return metric.outcome(failed[0].status, backend, reason=failed[0].reason)  # type: ignore[arg-type]
        try:
            value = float(metric(**inputs))
        except FeatureUnavailable as exc:  # the metric does not apply to this input (e.g. a toy metric, a real prompt)
            return metric.outcome("skipped", backend, reason=str(exc))
        except Exception as exc:  # noqa: BLE001 - a metric that cannot score this video says why
            return metric.outcome("error", backend, reason=_describe(exc))
        if not math.isfinite(value):  # never let NaN through silently
            return metric.outcome("error", backend, reason=f"{metric.id} gave {value}, not a finite score")
        return metric.outcome("ok", backend, value=value)


def resolve_metrics(ids: Sequence[str] = (), variants: Sequence[str] = (), task: str = MOTION_TRANSFER) -> list[Metric]:
    """Metric instances for ids ``name`` (every variant) or ``name/variant``; none: the ``task``'s
    defaults (:data:`TASK_DEFAULT_METRICS`).

    ``variants`` keeps only those variants of the metrics that have variants.

    Raises:
        ConfigError: an unknown metric (with the closest name), variant, or a variant no chosen metric has.
    """
    chosen: list[Metric] = []
    for mid in ids or TASK_DEFAULT_METRICS[task]:
        name, _, variant = mid.partition("/")
        cls = METRICS.load(name)
        chosen.extend([cls(variant)] if variant else cls.every_variant())
    if variants:
        known = {m.variant for m in chosen if m.variant}
        unknown = [v for v in variants if v not in known]
        if unknown:
            names = ", ".join(dict.fromkeys(m.name for m in chosen))
            raise ConfigError(f"unknown variant(s) {', '.join(unknown)} for metrics {names}; "
                              f"variants: {', '.join(sorted(known)) or 'none'}")
        chosen = [m for m in chosen if not m.variant or m.variant in variants]
    return list({m.id: m for m in chosen}.values())


def build_scorer(metrics: Sequence[str] | Sequence[Metric] = (), options: FeatureOptions = FeatureOptions(), *,
                 variants: Sequence[str] = ()) -> Scorer:
    """The scorer of ``metrics`` with the built-in providers of the features they need, built from
    ``options``. Never touches the network.

    Args:
        metrics: metric ids as :func:`resolve_metrics` takes them (with ``variants``), or instances.
        options: how CLIP and the tracker are chosen.
        variants: with ids, keep only these variants.

    Missing weights do not raise: their metrics come back "skipped" with the command that fixes it.

    Raises:
        ConfigError: unknown metric, variant or tracker, or a bad grid.
        WeightsError: a malformed ``clip`` spec or an explicit weights path that does not exist.
    """
    chosen = (list(metrics) if metrics and all(isinstance(m, Metric) for m in metrics)
              else resolve_metrics(metrics, variants))  # type: ignore[arg-type]
    return Scorer(chosen, build_providers({n for m in chosen for n in m.needs}, options))
