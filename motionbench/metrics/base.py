"""The metric contract and the registry of metrics.

A metric is a small class with fixed class attributes and a pure scoring function:

- ``name``, ``summary`` (one line), ``higher_is_better``, ``version`` and ``convention`` (scale,
  clamp, which frames or pairs: printed under every report; changing it needs a new ``version``);
- ``needs``: the features it is computed from, by name (see :mod:`motionbench.metrics.features`:
  ``frame_embeddings``, ``text_embedding``, ``generated_tracks``, ``reference_tracks``,
  ``ground_truth_tracks``, ``generated_frames``, ...). The scorer computes each feature once per
  video or sample and calls the metric with them as keyword arguments;
- ``variants``: the forms it comes in (``("",)`` for a metric with one form). A variant is an
  instance, ``MotionFidelity("matched")``; the scorer scores each requested instance.

``__call__(**features) -> float`` scores one video and equals the module's pure function; it raises
:class:`MetricInputError` for inputs it cannot score, with the reason. The class also accumulates
per-video values (``update`` / ``compute``) for batch use.

Metrics are plug-ins found through the entry-point group ``motionbench.metrics`` by the registry
shared with methods (:mod:`motionbench.plugins`); the built-in ones are registered the same way.
"""

from __future__ import annotations

import difflib
import inspect
import math
from typing import Any, ClassVar

from motionbench.errors import ConfigError, MotionBenchError
from motionbench.metrics.api import ScoreStatus, ScoreValue
from motionbench.metrics.features import FEATURES
from motionbench.plugins import Registry


class MetricInputError(MotionBenchError, ValueError):
    """A metric cannot score these inputs (too few frames, no reliable reference step, ...)."""


class Metric:
    """Base class of metrics (see the module docstring)."""

    name: ClassVar[str]
    summary: ClassVar[str] = ""
    higher_is_better: ClassVar[bool]
    version: ClassVar[str]
    convention: ClassVar[str]
    needs: ClassVar[tuple[str, ...]]
    variants: ClassVar[tuple[str, ...]] = ("",)

    def __init__(self, variant: str | None = None) -> None:
        variant = self.variants[0] if variant is None else variant
        if variant not in self.variants:
            close = difflib.get_close_matches(variant, self.variants, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"metric {self.name!r} has no variant {variant!r}{hint}; variants: "
                              f"{', '.join(v for v in self.variants if v) or 'none'}")
        self.variant = variant

    @property
    def id(self) -> str:
        """``name`` or ``name/variant``: the report's column id."""
        return f"{self.name}/{self.variant}" if self.variant else self.name

    @classmethod
    def every_variant(cls) -> list["Metric"]:
        """One instance per variant."""
        return [cls(v) for v in cls.variants]

    def __call__(self, **features: Any) -> float:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.variant!r})" if self.variant else f"{type(self).__name__}()"

    def outcome(self, status: ScoreStatus, backend: str, value: float | None = None,
                reason: str | None = None) -> ScoreValue:
        """This metric's score value for one video: the one place a :class:`ScoreValue` is built."""
        return ScoreValue(metric=self.name, variant=self.variant, status=status, value=value, version=self.version,
                          backend=backend, convention=self.convention, higher_is_better=self.higher_is_better,
                          reason=reason)

    # Batch use: one value per video, averaged per video (never per frame across videos).
    def update(self, **features: Any) -> float:
        value = self(**features)
        self.__dict__.setdefault("_values", []).append(value)
        return value

    def compute(self) -> float:
        """Mean of the per-video values given to :meth:`update`.

        Raises:
            ValueError: nothing was accumulated, or a value is NaN.
        """
        values = self.__dict__.get("_values", [])
        if not values:
            raise ValueError(f"{self.name}: compute() called before any update()")
        if any(math.isnan(v) for v in values):
            raise ValueError(f"{self.name}: a per-video value is NaN; refusing to average it silently")
        return sum(values) / len(values)

    def reset(self) -> None:
        self.__dict__.pop("_values", None)


def check_metric_class(cls: type) -> None:
    """The contract every registered metric class keeps (checked when the registry loads it).

    Raises:
        ConfigError: a class attribute is missing or of the wrong type, ``name`` is one of the
            leaderboard's cost columns, ``needs`` names an unknown feature, or ``__call__`` does not
            take exactly the features in ``needs``.
    """
    from motionbench.report.model import GENERATE, PEAK_MEMORY, TUNING

    where = f"metric class {cls.__module__}.{cls.__qualname__}"
    for attr, kind in (("name", str), ("higher_is_better", bool), ("version", str), ("convention", str),
                       ("needs", tuple), ("variants", tuple)):
        if not isinstance(getattr(cls, attr, None), kind):
            raise ConfigError(f"{where} must set class attribute {attr!r} ({kind.__name__})")
    if cls.name in (TUNING, GENERATE, PEAK_MEMORY):
        # a leaderboard column is named by its metric; this one would overwrite the cost column's cells
        raise ConfigError(f"{where}: name {cls.name!r} is a cost column of the leaderboard "
                          f"({TUNING}, {GENERATE}, {PEAK_MEMORY}); give the metric another name")
    unknown = [n for n in cls.needs if n not in FEATURES]
    if unknown or not cls.needs:
        raise ConfigError(f"{where}: needs {unknown or '()'}; it must name features among {', '.join(FEATURES)}")
    if not cls.variants or len(set(cls.variants)) != len(cls.variants):
        raise ConfigError(f"{where}: variants must be distinct names, got {cls.variants!r}")
    params = [p.name for p in inspect.signature(cls.__call__).parameters.values()][1:]
    if sorted(params) != sorted(cls.needs):
        raise ConfigError(f"{where}: __call__ takes {params} but needs says {list(cls.needs)}; they must be the same")


METRICS: Registry[Metric] = Registry("motionbench.metrics", "metric", Metric, "motionbench metrics",
                                     check=check_metric_class)
