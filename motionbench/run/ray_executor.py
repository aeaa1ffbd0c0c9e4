"""The Ray executor: each (method, sample) group is one Ray task, so a fit happens once per group.

Tasks ask for one GPU when the run's device is CUDA (one CPU otherwise) and return their outcomes,
frames included, to the driver, which writes videos and records into the one store exactly as the
local executor's are written. Fitted states are cached under the run directory when a worker can
reach it (a shared filesystem); otherwise the worker fits without caching.

Every node needs MotionBench and the method packages installed (the same entry points); install
the extra with ``pip install motionbench[ray]``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterator, Sequence

from motionbench.errors import ConfigError
from motionbench.run.execute import GroupTask, JobOutcome, describe_error, execute_group, failed_record


def _run_group_task(task: GroupTask) -> list[JobOutcome]:
    states_dir = task.states_dir
    if states_dir is not None:
        try:
            states_dir.mkdir(parents=True, exist_ok=True)
        except OSError:  # the run directory is not visible from this node
            task = replace(task, states_dir=None, cache_dir=None)
    try:
        method = task.method.instantiate(task.settings.device, task.task)
    except Exception as exc:  # noqa: BLE001 - recorded on each of the group's jobs
        error = describe_error(exc)
        return [JobOutcome(failed_record(job, error)) for job in task.jobs]
    try:
        return list(execute_group(task, method))
    finally:
        method.close()


class RayExecutor:
    def __init__(self, address: str | None = None) -> None:
        self.address = address

    def _connect(self) -> Any:
        try:
            import ray
        except ImportError:
            raise ConfigError("--executor ray needs Ray: pip install 'motionbench[ray]'") from None
        if not ray.is_initialized():
            ray.init(address=self.address, include_dashboard=False, log_to_driver=True,
                     ignore_reinit_error=True)
        return ray

    def run(self, tasks: Sequence[GroupTask]) -> Iterator[JobOutcome]:
        if not tasks:
            return
        ray = self._connect()
        remote = ray.remote(max_retries=0)(_run_group_task)
        pending = {}
        for task in tasks:
            cuda = task.settings.device.startswith("cuda")
            ref = remote.options(num_gpus=1 if cuda else 0, num_cpus=1).remote(task)
            pending[ref] = task
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                task = pending.pop(ref)
                try:
                    outcomes = ray.get(ref)
                except Exception as exc:  # noqa: BLE001 - a lost worker fails its group, not the run
                    outcomes = _lost(task, exc)
                yield from outcomes


def _lost(task: GroupTask, exc: BaseException) -> list[JobOutcome]:
    error = f"ray task failed: {describe_error(exc)}"
    return [JobOutcome(failed_record(job, error)) for job in task.jobs]
