"""Executing one group of jobs: load the reference, fit once (or reuse the cached state), generate.

(A recapture group goes to :mod:`motionbench.run.execute_recapture`, which uses the same fitting,
state cache and records.)

This is the part of a run that does the method's work, and it runs wherever the executor puts it
(this process, a Ray worker). It never writes the results store: it yields a :class:`JobOutcome`
per job (the record plus the frames) and the driver writes videos and records, so every executor
shares one store and one crash-safety story. The only files it writes are fitted states under the
run's cache, each into a temporary directory renamed into place when complete.

Failures stay inside their jobs: a reference that cannot be decoded or a fit that raises ends every
job of the group with that error; a generate that raises or returns the wrong frames ends that job.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from motionbench.errors import MotionBenchError
from motionbench.methods.base import GenerationRequest, Method, Reference
from motionbench.methods.config import build_config
from motionbench.methods.registry import load_method_for_task
from motionbench.run.measure import PhaseMeasurement, measure_phase
from motionbench.run.plan import Group, Job
from motionbench.run.records import GenerationRecord
from motionbench.run.references import load_reference_clip, make_reference
from motionbench.tasks import MOTION_TRANSFER, RECAPTURE

STATE_COMPLETE_MARKER = ".complete"
_TRACEBACK_CHARS = 3000


class MethodOutputError(MotionBenchError):
    """A method's ``generate`` returned something other than the requested uint8 frames."""


@dataclass(frozen=True)
class MethodChoice:
    """A method by its registered name and its ``key=value`` option overrides."""

    name: str
    overrides: tuple[str, ...] = ()

    def instantiate(self, device: str, task: str = MOTION_TRANSFER) -> Any:
        """The method, ready for ``task``: a recapture run gets a RecaptureMethod (a motion-transfer
        anchor that serves recapture comes wrapped in :class:`~motionbench.recapture.task.OnSource`)."""
        cls = load_method_for_task(self.name, task)
        method = cls(build_config(cls, self.overrides), device)
        if task == RECAPTURE:
            from motionbench.recapture.task import OnSource, RecaptureMethod

            if not isinstance(method, RecaptureMethod):
                method = OnSource(method)
        return method

    def config_dict(self, task: str = MOTION_TRANSFER) -> dict[str, Any]:
        """The resolved config as JSON-safe data (validates the overrides and that the method serves ``task``)."""
        cls = load_method_for_task(self.name, task)
        return config_as_dict(build_config(cls, self.overrides))


def config_as_dict(config: Any) -> dict[str, Any]:
    if config is None:
        return {}
    return json.loads(json.dumps(asdict(config), default=str))


@dataclass(frozen=True)
class GenerationSettings:
    """Run-wide overrides of the request; ``None`` takes the value from the reference clip.

    ``depth``: the depth model real recapture clips are lifted with (None: the default model).
    """

    device: str = "cpu"
    num_frames: int | None = None
    size: tuple[int, int] | None = None
    depth: str | None = None


@dataclass(frozen=True)
class GroupTask:
    """Everything a worker needs to run the pending jobs of one group."""

    group: Group
    jobs: tuple[Job, ...]  # the group's jobs not finished yet
    method: MethodChoice
    settings: GenerationSettings
    states_dir: Path | None  # where fitted states are cached; None disables the cache
    cache_dir: Path | None = None  # the run's cache folder (recapture: estimated depth, path contexts); None: none

    @property
    def task(self) -> str:
        return self.group.sample.task


@dataclass
class JobOutcome:
    record: GenerationRecord
    frames: np.ndarray | None = None
    fps: float = 0.0


@dataclass
class FitResult:
    state: Any = None
    measurement: PhaseMeasurement | None = None
    cached: bool = False
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def apply_fit(rec: GenerationRecord, fit: FitResult) -> None:
    """Copy what the group's fit cost into each of its job records."""
    rec.fit_cached = fit.cached
    if fit.measurement is not None:
        rec.fit_seconds = fit.measurement.seconds
        rec.fit_peak_memory_mb = fit.measurement.peak_memory_mb
        rec.memory_kind = fit.measurement.memory_kind


def describe_error(exc: BaseException) -> str:
    """``"<ErrorType>: message"``; a bug (not a MotionBenchError) also keeps its traceback's tail."""
    text = f"{type(exc).__name__}: {exc}"
    if not isinstance(exc, MotionBenchError):
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        text += "\n" + tb[-_TRACEBACK_CHARS:]
    return text


def check_frames(frames: Any, request: GenerationRequest, method: str) -> np.ndarray:
    """The method's output as ``uint8 [T, H, W, 3]`` matching the request, or MethodOutputError."""
    return check_video(frames, request.num_frames, request.size, method)


def check_video(frames: Any, num_frames: int, size: tuple[int, int], method: str) -> np.ndarray:
    """``frames`` as ``uint8 [num_frames, H, W, 3]`` with ``(W, H) == size``, or MethodOutputError."""
    arr = np.asarray(frames)
    w, h = size
    expected = (num_frames, h, w, 3)
    if arr.dtype != np.uint8 or arr.shape != expected:
        raise MethodOutputError(
            f"method {method!r} returned {arr.dtype} frames of shape {tuple(arr.shape)}; the request "
            f"asked for uint8 {expected} (num_frames, height, width, RGB)")
    return np.ascontiguousarray(arr)


def state_dir_for(states_dir: Path, method_name: str, method: Any, reference: Reference) -> Path:
    return states_dir / method_name / f"{reference.key}-{method.state_key()}"


def fit_or_load(method: Any, method_name: str, inputs: Any, cache: Path | None, device: str) -> FitResult:
    """Fit on ``inputs`` (a Reference, or a recapture SourceClip), or load the state already saved in
    ``cache`` (None: no cache); a fitted state is saved there whole or not at all."""
    try:
        if cache is not None and (cache / STATE_COMPLETE_MARKER).exists():
            return FitResult(state=method.load_state(cache), cached=True)
        with tempfile.TemporaryDirectory(prefix=f"motionbench-fit-{method_name}-") as workdir:
            with measure_phase(device) as m:
                state = method.fit(inputs, Path(workdir))
        if cache is not None:
            _save_state(method, state, cache, m)
        return FitResult(state=state, measurement=m)
    except Exception as exc:  # noqa: BLE001 - a method's failure ends its jobs, not the run
        return FitResult(error=describe_error(exc))


def _fit(method: Method, method_name: str, reference: Reference, task: GroupTask) -> FitResult:
    """Fit, or load the state a previous run saved for the same reference and fit config."""
    cache = state_dir_for(task.states_dir, method_name, method, reference) if (method.fits and task.states_dir) else None
    return fit_or_load(method, method_name, reference, cache, task.settings.device)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _save_state(method: Any, state: Any, target: Path, m: PhaseMeasurement) -> None:
    def fill(tmp: Path) -> None:
        method.save_state(state, tmp)
        (tmp / "fit.json").write_text(json.dumps({"fit_seconds": m.seconds, "fit_peak_memory_mb": m.peak_memory_mb,
                                                  "memory_kind": m.memory_kind}) + "\n")

    save_dir_atomically(target, fill)


def save_dir_atomically(target: Path, fill: Callable[[Path], None]) -> None:
    """Write a cache folder whole or not at all: ``fill`` a temporary folder, mark it complete, rename it.

    A folder counts only with its :data:`STATE_COMPLETE_MARKER`; what a killed writer left on this
    host is cleaned first, and a folder another worker completed first is kept (it is as good).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    host = os.uname().nodename
    # Clean what a killed writer of this folder left on this host (other hosts' pids mean nothing here).
    for stale in target.parent.glob(f".{target.name}.{host}-*.partial"):
        pid = stale.name[: -len(".partial")].rsplit("-", 1)[-1]
        if pid.isdigit() and not _pid_alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
    tmp = target.with_name(f".{target.name}.{host}-{os.getpid()}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        fill(tmp)
        (tmp / STATE_COMPLETE_MARKER).write_text("")
        try:
            os.rename(tmp, target)
        except OSError:  # another worker finished the same folder first; theirs is as good
            if not (target / STATE_COMPLETE_MARKER).exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def failed_record(job: Job, error: str | None, config: dict[str, Any] | None = None) -> GenerationRecord:
    """A record of ``job`` with status "error" (callers fill in more and may flip it to "ok")."""
    path = {"path_index": job.path_index, "path": job.path.to_dict(), "path_key": job.path.key} if job.path else {}
    return GenerationRecord(job=job.id, method=job.method, sample=job.sample, category=job.category,
                            prompt_index=job.prompt_index, prompt=job.prompt, seed=job.seed, status="error",
                            method_config=config or {}, error=error, task=job.task, **path)


def execute_group(task: GroupTask, method: Method) -> Iterator[JobOutcome]:
    """Run ``task.jobs``; yields one outcome per job, in order.

    Args:
        task: the group and its pending jobs.
        method: the instance of ``task.method`` (the local executor reuses one across groups; the
            caller closes it).
    """
    if task.task == RECAPTURE:
        from motionbench.run.execute_recapture import execute_recapture_group

        yield from execute_recapture_group(task, method)
        return
    jobs = task.jobs
    config = config_as_dict(method.config)
    try:
        clip, _ = load_reference_clip(task.group.sample)
        reference = make_reference(task.group.sample, clip)
    except Exception as exc:  # noqa: BLE001 - a bad reference fails the group's jobs, not the run
        error = describe_error(exc)
        for job in jobs:
            yield JobOutcome(failed_record(job, error, config))
        return

    fit = _fit(method, task.method.name, reference, task)
    num_frames = task.settings.num_frames or clip.num_frames
    size = task.settings.size or clip.size
    for job in jobs:
        rec = failed_record(job, None, config)
        rec.num_frames, rec.size = num_frames, size
        apply_fit(rec, fit)
        if fit.error is not None:
            rec.error = f"fit failed: {fit.error}"
            yield JobOutcome(rec)
            continue
        request = GenerationRequest(prompt=job.prompt, seed=job.seed, num_frames=num_frames, size=size,
                                    fps=clip.fps, prompt_index=job.prompt_index)
        try:
            with measure_phase(task.settings.device) as m:
                frames = method.generate(fit.state, reference, request)
            frames = check_frames(frames, request, task.method.name)
        except Exception as exc:  # noqa: BLE001 - this job fails, the others go on
            rec.error = describe_error(exc)
            yield JobOutcome(rec)
            continue
        rec.generate_seconds = m.seconds
        rec.generate_peak_memory_mb = m.peak_memory_mb
        rec.memory_kind = m.memory_kind
        rec.status = "ok"
        yield JobOutcome(rec, frames, clip.fps)
