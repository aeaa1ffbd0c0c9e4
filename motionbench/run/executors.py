"""Executors: where group tasks run. The driver consumes their outcomes and writes the store.

``local`` runs the groups one after another in this process, keeping one instance of each method
so models load once per run. ``ray`` (:mod:`motionbench.run.ray_executor`) sends each group to a
Ray cluster as one task.
"""

from __future__ import annotations

from typing import Iterator, Protocol, Sequence

from motionbench.errors import ConfigError
from motionbench.methods.base import Method
from motionbench.run.execute import GroupTask, JobOutcome, describe_error, execute_group, failed_record

EXECUTORS = ("local", "ray")


class Executor(Protocol):
    def run(self, tasks: Sequence[GroupTask]) -> Iterator[JobOutcome]:
        """Outcomes of every pending job of ``tasks``, in any order, each exactly once."""


class LocalExecutor:
    """Runs groups sequentially in this process (one process per GPU is the single-machine recipe)."""

    def run(self, tasks: Sequence[GroupTask]) -> Iterator[JobOutcome]:
        methods: dict[tuple[str, str], Method | str] = {}  # a method that cannot be built maps to its error
        try:
            for task in tasks:
                name = (task.method.name, task.task)
                if name not in methods:
                    try:
                        methods[name] = task.method.instantiate(task.settings.device, task.task)
                    except Exception as exc:  # noqa: BLE001 - recorded on each of its jobs
                        methods[name] = describe_error(exc)
                method = methods[name]
                if isinstance(method, str):
                    yield from _failed(task, method)
                else:
                    yield from execute_group(task, method)
        finally:
            for method in methods.values():
                if not isinstance(method, str):
                    method.close()


def _failed(task: GroupTask, error: str) -> Iterator[JobOutcome]:
    for job in task.jobs:
        yield JobOutcome(failed_record(job, error))


def make_executor(kind: str, *, ray_address: str | None = None) -> Executor:
    if kind == "local":
        if ray_address:
            raise ConfigError("--ray-address only applies with --executor ray")
        return LocalExecutor()
    if kind == "ray":
        from motionbench.run.ray_executor import RayExecutor

        return RayExecutor(address=ray_address)
    raise ConfigError(f"unknown executor {kind!r}; choose one of: {', '.join(EXECUTORS)}")
