"""Typed method options: defaults, presets and ``key=value`` overrides, validated.

``build_config(MethodClass, ["preset=tiny", "rank=8"])`` starts from the dataclass defaults, applies
the named preset (``Method.presets``), then the overrides in order. Values are converted to each
field's declared type; unknown keys and bad values raise :class:`ConfigError` listing what is
allowed.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from typing import Any, Iterable, Mapping

from motionbench.errors import ConfigError

PRESET_KEY = "preset"


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
            return annotation(value)
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
    for preset in preset_names:
        if preset not in presets:
            hint = difflib.get_close_matches(str(preset), presets, n=1)
            raise ConfigError(f"{name}: unknown preset {preset!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
                              + f"; presets: {', '.join(presets) or 'none'}")
        values.update(presets[preset])
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
    validate = getattr(config, "validate", None)
    if callable(validate):
        validate()  # raises ConfigError with the field's name
    return config


def describe_options(method_cls: type) -> list[tuple[str, str, str]]:
    """(name, type, default) for each option, for `motionbench methods`."""
    hints = typing.get_type_hints(method_cls.Config)
    rows = []
    for f in dataclasses.fields(method_cls.Config):
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else "required")
        ann = hints[f.name]
        rows.append((f.name, getattr(ann, "__name__", str(ann).replace("typing.", "")), repr(default)))
    return rows
