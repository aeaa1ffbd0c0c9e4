"""Typed method options: defaults with their sources, presets and ``key=value`` overrides, validated.

``build_config(MethodClass, ["preset=tiny", "rank=8"])`` starts from the dataclass defaults, or
from the named preset, then applies the overrides in order. Values are converted to each field's
declared type; unknown keys and bad values raise :class:`ConfigError` listing what is allowed.
No numeric option may be NaN or infinite.

A preset (``Method.presets``) is an instance of the method's ``Config``, so a misspelt option in a
preset fails when the module is imported, not when someone asks for it. (A plain mapping is
accepted too, for plug-ins; its keys are checked when it is used.)

A default can say where it comes from: declare the field with :func:`option`, naming the source
(the method's paper, its released code, diffusers, or a MotionBench choice). ``motionbench methods
NAME`` prints it beside the default (:func:`describe_options`).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from typing import Any, Iterable, Mapping

from motionbench.errors import ConfigError

PRESET_KEY = "preset"
#: The kinds of source a default can have (:func:`option`).
SOURCES = ("paper", "released code", "diffusers", "MotionBench choice")


def option(default: Any, source: str, detail: str = "") -> Any:
    """A config field whose default names its source, e.g. ``rank: int = option(128, "paper")``.

    Args:
        default: the default value (immutable; tuples rather than lists).
        source: one of :data:`SOURCES`.
        detail: where exactly, or why (``"examples/wanvideo/inference.py"``).

    Raises:
        ValueError: an unknown source kind (a typo in a method's own definition).
    """
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r} of a default; choose one of: {', '.join(SOURCES)}")
    return dataclasses.field(default=default, metadata={"source": f"{source}: {detail}" if detail else source})


def parse_overrides(items: Iterable[str]) -> list[tuple[str, str]]:
    """``["a=1", "b=x"]`` -> ``[("a", "1"), ("b", "x")]``, rejecting items without ``=``."""
    out = []
    for item in items:
        if "=" not in item:
            raise ConfigError(f"option {item!r} is not of the form key=value (e.g. --method-opt rank=8)")
        key, value = item.split("=", 1)
        out.append((key.strip(), value.strip()))
    return out


def _convert(value: Any, annotation: Any, key: str, method: str) -> Any:
    if not isinstance(value, str):
        return value
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if value.lower() in ("none", "null", "") and type(None) in args:
            return None
        non_none = [a for a in args if a is not type(None)]
        return _convert(value, non_none[0], key, method)
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{method}: option {key}={value!r} is not allowed; choose one of: {', '.join(map(str, args))}")
        return value
    if origin in (tuple, list):
        inner = args[0] if args else str
        parts = [p for p in value.replace(";", ",").split(",") if p.strip()]
        converted = [_convert(p.strip(), inner, key, method) for p in parts]
        return tuple(converted) if origin is tuple else converted
    try:
        if annotation is bool:
            low = value.lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        if annotation in (int, float, str):
            converted = annotation(value)
            if annotation is float and not math.isfinite(converted):
                raise ConfigError(f"{method}: option {key}={value!r} must be a finite number (not NaN or infinity)")
            return converted
    except ValueError:
        raise ConfigError(f"{method}: option {key}={value!r} is not a valid {annotation.__name__}") from None
    return value


def config_fields(config_cls: type) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(config_cls)}


def build_config(method_cls: type, overrides: Iterable[str] | Mapping[str, Any] = ()) -> Any:
    """Build ``method_cls.Config`` from defaults, an optional preset and overrides."""
    name = getattr(method_cls, "name", method_cls.__name__)
    config_cls = method_cls.Config
    hints = typing.get_type_hints(config_cls)
    known = config_fields(config_cls)
    pairs = list(overrides.items()) if isinstance(overrides, Mapping) else parse_overrides(overrides)
    presets: Mapping[str, Mapping[str, Any]] = getattr(method_cls, "presets", {}) or {}

    values: dict[str, Any] = {}
    preset_names = [v for k, v in pairs if k == PRESET_KEY]
    if len(preset_names) > 1:
        raise ConfigError(f"{name}: give at most one preset, got {', '.join(map(repr, preset_names))}")
    for preset in preset_names:
        if preset not in presets:
            hint = difflib.get_close_matches(str(preset), presets, n=1)
            raise ConfigError(f"{name}: unknown preset {preset!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
                              + f"; presets: {', '.join(presets) or 'none'}")
        values.update(preset_values(method_cls, preset))
    for key, value in pairs:
        if key == PRESET_KEY:
            continue
        if key not in known:
            hint = difflib.get_close_matches(key, known, n=1)
            raise ConfigError(f"{name}: unknown option {key!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
                              + f"; options: {', '.join(known)}")
        values[key] = _convert(value, hints[key], key, name)
    try:
        config = config_cls(**values)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name}: {exc}") from None
    _check_finite(config, name)
    validate = getattr(config, "validate", None)
    if callable(validate):
        validate()  # raises ConfigError with the field's name
    return config


def _check_finite(config: Any, method: str) -> None:
    """Refuse NaN and infinity in any numeric field, however it got there (preset, mapping, default).

    A NaN learning rate or timeout would pass every later comparison and fail only when its result
    is written as JSON, after the work is done.
    """
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        items = value if isinstance(value, (tuple, list)) else (value,)
        if any(isinstance(v, float) and not math.isfinite(v) for v in items):
            raise ConfigError(f"{method}: option {f.name}={value!r} must be a finite number (not NaN or infinity)")


def preset_values(method_cls: type, preset: str) -> dict[str, Any]:
    """The options preset ``preset`` of ``method_cls`` sets: where it differs from the defaults.

    Raises:
        ConfigError: a mapping preset with an unknown option, or a preset of another config type.
    """
    name = getattr(method_cls, "name", method_cls.__name__)
    config_cls = method_cls.Config
    value = method_cls.presets[preset]
    if isinstance(value, Mapping):
        known = config_fields(config_cls)
        unknown = [k for k in value if k not in known]
        if unknown:
            raise ConfigError(f"{name}: preset {preset!r} sets unknown option(s) {', '.join(unknown)}; "
                              f"options: {', '.join(known)}")
        return dict(value)
    if not isinstance(value, config_cls):
        raise ConfigError(f"{name}: preset {preset!r} is a {type(value).__name__}, not a {config_cls.__name__}")
    defaults = config_cls()
    return {f.name: getattr(value, f.name) for f in dataclasses.fields(config_cls)
            if getattr(value, f.name) != getattr(defaults, f.name)}


@dataclasses.dataclass(frozen=True)
class OptionInfo:
    """One option as `motionbench methods NAME` lists it."""

    name: str
    type: str
    default: str  # repr of the default
    source: str  # where the default comes from ("" when the method does not say)


def describe_options(method_cls: type) -> list[OptionInfo]:
    """Every option of ``method_cls`` with its type, default and the default's source."""
    hints = typing.get_type_hints(method_cls.Config)
    rows = []
    for f in dataclasses.fields(method_cls.Config):
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else "required")
        ann = hints[f.name]
        rows.append(OptionInfo(f.name, getattr(ann, "__name__", str(ann).replace("typing.", "")), repr(default),
                               str(f.metadata.get("source", ""))))
    return rows
