"""The benchmark's tasks, by name: what a sample asks a method to do.

* ``motion_transfer`` (the first task): a reference clip and prompts; a method generates a new
  video per prompt and seed with the reference's motion (:mod:`motionbench.methods.base`).
* ``recapture`` (Follow-Your-Creation's task): a source clip and target camera paths; a method
  re-renders the source along each path per seed (:mod:`motionbench.recapture`).

A manifest sample names its task (``task: recapture``; motion transfer when left out), a method
class names the tasks it serves (``tasks``), ``motionbench run --task`` plans the samples of one
task, and every record of the results store says its task. The two share the runner, the store,
the report and the plug-in registries.

This module imports nothing heavy: the manifest reader and the CLI's option parsing use it.
"""

from __future__ import annotations

from motionbench.errors import ConfigError
from motionbench.package_data import data_folder

MOTION_TRANSFER = "motion_transfer"
RECAPTURE = "recapture"
TASKS = (MOTION_TRANSFER, RECAPTURE)
#: One line per task, for headings and help texts.
DESCRIPTIONS = {
    MOTION_TRANSFER: "motion transfer: a new video per prompt with the reference clip's motion",
    RECAPTURE: "recapture: the source clip re-rendered along new camera paths",
}
#: The embedded default benchmark of each task (what ``motionbench run --task T`` uses without --manifest):
#: package data, so an installed wheel has them too.
DEFAULT_MANIFESTS = {MOTION_TRANSFER: data_folder() / "manifest.yaml", RECAPTURE: data_folder() / "recapture.yaml"}


def check_task(name: str, where: str = "--task") -> str:
    """``name`` if it is a task, else a ConfigError naming ``where`` and the tasks."""
    if name not in TASKS:
        raise ConfigError(f"{where} {name!r} is not a task; tasks: {', '.join(TASKS)}")
    return name
