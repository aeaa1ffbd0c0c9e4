"""Generator parameters as data: what each accepts, its default, and how to check a value.

``check`` collects every problem as a sentence that names the parameter and the allowed values, so
``motionbench validate`` can list them all and :func:`resolve` can raise one clear error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Union

from motionbench.errors import ConfigError


@dataclass(frozen=True)
class Choice:
    """A parameter taking one of a fixed set of names."""

    values: tuple[str, ...]
    default: str
    help: str

    def problem(self, name: str, value: Any) -> str | None:
        if value not in self.values:
            return f"param {name!r} is {value!r}; allowed: {', '.join(self.values)}"
        return None

    def describe(self) -> str:
        return f"one of {', '.join(self.values)} (default {self.default}): {self.help}"


@dataclass(frozen=True)
class Number:
    """A numeric parameter in a closed range (an integer when ``integer``)."""

    low: float
    high: float
    default: float
    help: str
    integer: bool = False

    def problem(self, name: str, value: Any) -> str | None:
        kind = "an integer" if self.integer else "a number"
        ok_type = isinstance(value, int) if self.integer else isinstance(value, (int, float))
        if isinstance(value, bool) or not ok_type or not (self.low <= value <= self.high):
            return f"param {name!r} must be {kind} in [{self.low:g}, {self.high:g}], got {value!r}"
        return None

    def describe(self) -> str:
        kind = "integer" if self.integer else "number"
        return f"{kind} in [{self.low:g}, {self.high:g}] (default {self.default:g}): {self.help}"


ParamSpec = Union[Choice, Number]


def check(generator: str, specs: Mapping[str, ParamSpec], params: Mapping[str, Any]) -> list[str]:
    """Every problem with ``params`` for ``generator``, as readable sentences (empty if fine)."""
    problems = []
    for name, value in params.items():
        spec = specs.get(name)
        if spec is None:
            problems.append(f"{generator}: unknown param {name!r}; allowed: {', '.join(specs)}")
            continue
        issue = spec.problem(name, value)
        if issue:
            problems.append(f"{generator}: {issue}")
    return problems


def resolve(generator: str, specs: Mapping[str, ParamSpec], params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` completed with defaults.

    Raises:
        ConfigError: listing every unknown parameter or bad value.
    """
    problems = check(generator, specs, params)
    if problems:
        raise ConfigError("; ".join(problems))
    resolved: dict[str, Any] = {name: spec.default for name, spec in specs.items()}
    resolved.update(params)
    for name, spec in specs.items():
        if isinstance(spec, Number):
            resolved[name] = int(resolved[name]) if spec.integer else float(resolved[name])
    return resolved
