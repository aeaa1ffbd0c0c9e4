"""Command-line interface: ``motionbench <command>``.

Each module below registers its commands on the shared :data:`app`; this file only wires them up,
turns :class:`MotionBenchError` into a one-line message and exit code 2, and stops cleanly on SIGTERM
(how SLURM and Kubernetes cancel a job) exactly as on Ctrl-C: the signal raises
:class:`KeyboardInterrupt` in the main thread, so every ``finally`` runs (external commands' process
groups are killed, temporary files and folders removed, the run's lock released) and the command
exits 130 (SIGINT) or 143 (SIGTERM) with a line saying how to resume.
"""

from __future__ import annotations

import signal
import sys
import warnings

from rich.markup import escape

from motionbench.cli.app import app, err_console
from motionbench.errors import MotionBenchError, MotionBenchWarning

# Command modules (imported for their registrations).
from motionbench.cli import bench as _bench  # noqa: F401,E402
from motionbench.cli import run as _run  # noqa: F401,E402
from motionbench.cli import metrics as _metrics  # noqa: F401,E402
from motionbench.cli import report as _report  # noqa: F401,E402
from motionbench.cli import metaeval as _metaeval  # noqa: F401,E402
from motionbench.cli import toy as _toy  # noqa: F401,E402


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    if issubclass(category, MotionBenchWarning):
        err_console.print(f"[yellow]warning:[/] {escape(str(message))}", highlight=False, soft_wrap=True)
    else:
        _default_showwarning(message, category, filename, lineno, file, line)


_default_showwarning = warnings.showwarning


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C would raise KeyboardInterrupt so that the same cleanup runs."""


def _on_sigterm(signum: int, frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # once: a second SIGTERM must not cut the cleanup short
    raise Terminated()


def main() -> None:
    warnings.showwarning = _show_warning
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        app()
    except MotionBenchError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except (KeyboardInterrupt, SystemExit) as exc:
        interrupt = _interruption(exc)  # typer turns KeyboardInterrupt into a silent exit 130
        if interrupt is None:
            raise
        name = "SIGTERM" if isinstance(interrupt, Terminated) else "Ctrl-C (SIGINT)"
        err_console.print(f"[yellow]stopped by {name}[/]: running commands were stopped and partial files removed; "
                          "everything finished is kept. Run the same command again to resume.", highlight=False)
        sys.exit(143 if isinstance(interrupt, Terminated) else 130)


def _interruption(exc: BaseException) -> KeyboardInterrupt | None:
    """The KeyboardInterrupt behind ``exc`` (itself, or what caused the exit that replaced it)."""
    seen: BaseException | None = exc
    for _ in range(6):
        if seen is None:
            return None
        if isinstance(seen, KeyboardInterrupt):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None
