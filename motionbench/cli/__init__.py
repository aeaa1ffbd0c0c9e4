"""Command-line interface: ``motionbench <command>``.

Each module below registers its commands on the shared :data:`app`; this file only wires them up
and turns :class:`MotionBenchError` into a one-line message and exit code 2.
"""

from __future__ import annotations

import sys

from rich.markup import escape

from motionbench.cli.app import app, err_console
from motionbench.errors import MotionBenchError

# Command modules (imported for their registrations).
from motionbench.cli import bench as _bench  # noqa: F401,E402
from motionbench.cli import run as _run  # noqa: F401,E402
from motionbench.cli import metrics as _metrics  # noqa: F401,E402
from motionbench.cli import report as _report  # noqa: F401,E402
from motionbench.cli import metaeval as _metaeval  # noqa: F401,E402


def main() -> None:
    try:
        app()
    except MotionBenchError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(2)
