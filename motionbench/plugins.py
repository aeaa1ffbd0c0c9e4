"""Finding plug-ins by name through entry-point groups: one registry for methods and for metrics.

Methods (group ``motionbench.methods``) and metrics (group ``motionbench.metrics``) are found the
same way. MotionBench registers its own in its pyproject.toml exactly as a third-party package
registers its own, so a new one plugs in without touching this repository::

    [project.entry-points."motionbench.metrics"]
    my-metric = "my_package:my_metric"          # a PluginSpec (listing imports only my_package)
    other = "my_package.heavy:OtherMetric"      # or the class itself (listing imports its module)

An entry point names either a :class:`PluginSpec` (where the class lives and a one-line summary,
in a module light enough to import for a listing) or the class (whose ``summary`` attribute is
then read). Listing names imports nothing; describing an entry imports its spec's module; only
:meth:`Registry.load` imports the implementation, and it checks the base class and the name.
"""

from __future__ import annotations

import difflib
import importlib
import re
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Callable, Generic, TypeVar

from motionbench.errors import ConfigError

T = TypeVar("T")
_TARGET = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


@dataclass(frozen=True)
class PluginSpec:
    """Where a plug-in's class lives (``"module:attr"``) and one line about it, known without importing it."""

    target: str
    summary: str

    def __post_init__(self) -> None:
        if not _TARGET.match(self.target):
            raise ConfigError(f"plug-in target {self.target!r} is not of the form 'package.module:Class'")


@dataclass(frozen=True)
class Entry:
    """What a listing shows of one registered plug-in."""

    name: str
    target: str  # "module:attr" of the class
    summary: str
    registered_as: str  # the entry point's value (a spec or the class)


class Registry(Generic[T]):
    """The plug-ins of one entry-point group whose classes derive from ``base``.

    Args:
        group: the entry-point group, e.g. ``motionbench.metrics``.
        kind: what a plug-in is called in messages ("method", "metric").
        base: the class every plug-in must derive from.
        command: the command that lists them, for error messages.
        check: further checks of a loaded class (its contract); raises ConfigError.
    """

    def __init__(self, group: str, kind: str, base: type[T], command: str,
                 check: Callable[[type], None] | None = None) -> None:
        self.group, self.kind, self.base, self.command, self.check = group, kind, base, command, check

    def _entry_points(self) -> dict[str, EntryPoint]:
        found: dict[str, EntryPoint] = {}
        for ep in entry_points(group=self.group):
            # The same distribution can be visible twice (e.g. an editable install plus a copy on
            # sys.path); only a different target under one name is a conflict.
            if ep.name in found and found[ep.name].value != ep.value:
                raise ConfigError(
                    f"two packages register the {self.kind} name {ep.name!r}: {found[ep.name].value} and "
                    f"{ep.value}; uninstall one or rename its entry point")
            found[ep.name] = ep
        return found

    def names(self) -> list[str]:
        """Every registered name, sorted (imports nothing)."""
        return sorted(self._entry_points())

    def entry_point(self, name: str) -> EntryPoint:
        """The entry point of ``name``.

        Raises:
            ConfigError: unknown name, with the closest match and the list of names.
        """
        eps = self._entry_points()
        if name not in eps:
            hint = difflib.get_close_matches(name, eps, n=1)
            raise ConfigError(
                f"unknown {self.kind} {name!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
                + f"; available: {', '.join(sorted(eps)) or 'none'}. Run `{self.command}` for details.")
        return eps[name]

    def _resolve(self, name: str) -> tuple[EntryPoint, object]:
        ep = self.entry_point(name)
        try:
            obj = ep.load()
        except ImportError as exc:
            raise ConfigError(f"{self.kind} {name!r} is registered as {ep.value} but cannot be imported: "
                              f"{exc}") from exc
        except AttributeError as exc:
            raise ConfigError(f"{self.kind} {name!r} is registered as {ep.value}, which does not exist: {exc}") from exc
        return ep, obj

    def describe(self, name: str) -> Entry:
        """Target and summary of ``name``; imports only the module of its spec (or of its class)."""
        ep, obj = self._resolve(name)
        if isinstance(obj, PluginSpec):
            return Entry(name, obj.target, obj.summary, ep.value)
        return Entry(name, ep.value, str(getattr(obj, "summary", "")), ep.value)

    def load(self, name: str) -> type[T]:
        """Import and return the class registered under ``name``.

        Raises:
            ConfigError: unknown name, an import that fails, a class that does not derive from the
                base class, or one whose ``name`` attribute is not the name it is registered under.
        """
        ep, obj = self._resolve(name)
        if isinstance(obj, PluginSpec):
            module, _, attr = obj.target.partition(":")
            try:
                obj = getattr(importlib.import_module(module), attr)
            except (ImportError, AttributeError) as exc:
                raise ConfigError(f"{self.kind} {name!r}: its spec names {obj.target}, which cannot be imported: "
                                  f"{exc}") from exc
        if not (isinstance(obj, type) and issubclass(obj, self.base)):
            raise ConfigError(f"{self.kind} {name!r} is registered as {ep.value}, which is not a subclass of "
                              f"{self.base.__module__}.{self.base.__qualname__}")
        declared = getattr(obj, "name", None)
        if declared != name:
            raise ConfigError(f"{self.kind} {name!r} is registered as {ep.value}, whose class says name = "
                              f"{declared!r}; make the entry point's name and the class's name the same")
        if self.check is not None:
            self.check(obj)
        return obj
