"""The metric contract and the registry of metrics.

Every metric is a pure function (in its own module) and a small class with fixed class attributes:
``name``, ``higher_is_better``, ``version`` and ``convention`` (scale, clamp, which frames or pairs);
an instance carries the ``backend`` id of the model or tracker that produced its inputs. The class
also accumulates per-video values (``update`` / ``compute``) for batch use.

The registry maps names to ``"module:attr"`` strings and imports a metric only when asked, so
listing metrics never loads torch.
"""

from __future__ import annotations

import difflib
import importlib
import math
from typing import Any, ClassVar

from motionbench.errors import ConfigError

# name -> "module:attr"; the built-in metrics. A class decorated with @register is added here too.
_REGISTRY: dict[str, str] = {
    "clip_text": "motionbench.metrics.clip:ClipText",
    "clip_temporal": "motionbench.metrics.clip:ClipTemporal",
    "motion_fidelity": "motionbench.metrics.motion_fidelity:MotionFidelity",
}


class Metric:
    """Base class: subclasses set the class attributes and implement ``__call__`` for one video."""

    name: ClassVar[str]
    higher_is_better: ClassVar[bool]
    version: ClassVar[str]
    convention: ClassVar[str]
    backend: str = "none"

    def __call__(self, *args: Any, **kwargs: Any) -> float:
        raise NotImplementedError

    # Batch use: one value per video, averaged per video (never per frame across videos).
    def update(self, *args: Any, **kwargs: Any) -> float:
        value = self(*args, **kwargs)
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


def register(cls: type[Metric]) -> type[Metric]:
    """Class decorator: check the contract and record the class under ``cls.name``.

    Raises:
        TypeError: a required class attribute is missing or has the wrong type.
        ConfigError: another class is already registered under that name.
    """
    for attr, kind in (("name", str), ("higher_is_better", bool), ("version", str), ("convention", str)):
        if not isinstance(getattr(cls, attr, None), kind):
            raise TypeError(f"metric class {cls.__qualname__} must set class attribute {attr!r} ({kind.__name__})")
    target = f"{cls.__module__}:{cls.__qualname__}"
    existing = _REGISTRY.get(cls.name)
    if existing is not None and existing != target:
        raise ConfigError(f"metric name {cls.name!r} is already registered by {existing}; pick another name")
    _REGISTRY[cls.name] = target
    return cls


def metric_names() -> list[str]:
    return sorted(_REGISTRY)


def check_metric_name(name: str) -> str:
    """Return ``name`` if registered.

    Raises:
        ConfigError: unknown name, with the closest match and the list of names.
    """
    if name in _REGISTRY:
        return name
    close = difflib.get_close_matches(name, list(_REGISTRY), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ConfigError(f"unknown metric {name!r}.{hint} Known metrics: {', '.join(metric_names())}")


def get_metric(name: str) -> type[Metric]:
    """The metric class registered under ``name`` (imports its module on first use)."""
    module, attr = _REGISTRY[check_metric_name(name)].split(":")
    return getattr(importlib.import_module(module), attr)
