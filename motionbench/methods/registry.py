"""Finding methods by name through the ``motionbench.methods`` entry-point group.

Built-in methods are registered in MotionBench's own pyproject.toml exactly as a third-party
package registers its own, so a new method plugs in without touching this repository:

    [project.entry-points."motionbench.methods"]
    my-method = "my_package.adapter:MyMethod"

Listing names imports nothing; a method's module is imported only when it is loaded.
"""

from __future__ import annotations

import difflib
from importlib.metadata import EntryPoint, entry_points

from motionbench.errors import ConfigError

GROUP = "motionbench.methods"


def _entry_points() -> dict[str, EntryPoint]:
    found: dict[str, EntryPoint] = {}
    for ep in entry_points(group=GROUP):
        # The same distribution can be visible twice (e.g. an editable install plus a copy on
        # sys.path); only a different target under one name is a conflict.
        if ep.name in found and found[ep.name].value != ep.value:
            raise ConfigError(
                f"two packages register the method name {ep.name!r}: {found[ep.name].value} and {ep.value}; "
                "uninstall one or rename its entry point"
            )
        found[ep.name] = ep
    return found


def method_names() -> list[str]:
    return sorted(_entry_points())


def entry_point(name: str) -> EntryPoint:
    eps = _entry_points()
    if name not in eps:
        hint = difflib.get_close_matches(name, eps, n=1)
        raise ConfigError(
            f"unknown method {name!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
            + f"; available: {', '.join(sorted(eps)) or 'none'}. Run `motionbench methods` for details."
        )
    return eps[name]


def load_method_class(name: str) -> type:
    """Import and return the method class registered under ``name``."""
    ep = entry_point(name)
    try:
        cls = ep.load()
    except ImportError as exc:
        raise ConfigError(f"method {name!r} is registered as {ep.value} but cannot be imported: {exc}") from exc
    return cls
