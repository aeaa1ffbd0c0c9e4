"""The typer application object, shared by the command modules.

Command modules import heavy libraries (torch, open_clip, diffusers) inside their functions, never
at module level, so `motionbench ls` and `motionbench validate` start instantly.
"""

from __future__ import annotations

import typer
from rich.console import Console

app = typer.Typer(
    name="motionbench",
    help="MotionBench: a benchmark for video motion transfer.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


def _print_version(value: bool) -> None:
    if value:
        import platform

        from motionbench.package_data import installation

        found = installation()
        typer.echo(f"motionbench {found.version} from {found.package} ({found.kind}; python {platform.python_version()})")
        raise typer.Exit()


@app.callback()
def _options(
    version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                 help="Print the version and where this MotionBench is installed, then exit."),
) -> None:
    """MotionBench: a benchmark for video motion transfer."""
