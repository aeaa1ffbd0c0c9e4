"""What ``motionbench methods`` and ``motionbench metrics`` print of a plug-in registry.

Both list the same way: a table of names, summaries and entry points (imports only the specs), and
for one name a heading before the details each command adds.
"""

from __future__ import annotations

from rich.table import Table

from motionbench.cli.app import console
from motionbench.errors import ConfigError
from motionbench.plugins import Registry


def print_listing(registry: Registry, kind: str) -> None:
    """The table of every registered plug-in; a broken one shows its error and hides no other."""
    table = Table(show_edge=False)
    table.add_column(kind)
    table.add_column("summary")
    table.add_column("registered as", style="dim")
    for name in registry.names():
        try:
            entry = registry.describe(name)
        except ConfigError as exc:
            table.add_row(name, f"[yellow]{exc}[/]", "")
            continue
        table.add_row(name, entry.summary, entry.registered_as)
    console.print(table)


def print_heading(registry: Registry, name: str) -> type:
    """``name (module:Class): summary``; returns the loaded class for the details."""
    entry = registry.describe(name)
    cls = registry.load(name)
    console.print(f"[bold]{name}[/] ({entry.target}): {entry.summary}", highlight=False)
    return cls
