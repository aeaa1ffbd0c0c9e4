"""Executing one group of the recapture task on a worker: the source clip, one fit, every path in order.

The recapture twin of :func:`motionbench.run.execute.execute_group`, with the same fitting, state
cache, records and failure rules (a source that cannot be loaded or a fit that raises ends every
job of the group; a generate that raises ends its job):

1. The sample becomes its source clip (:func:`motionbench.recapture.sources.load_recapture_sample`:
   exact depth for 3-D scenes). A real clip is given the depth of the run's depth model when the
   method lifts the source (``needs_depth``), estimated once per clip and cached under
   ``cache/depth/``; missing depth weights fail its jobs with the command that fetches them.
2. ``fit`` once per (method, source), cached under ``cache/states/<method>/<source key>-<state key>/``.
3. ``generate`` per job, in plan order (seed by seed, each seed's paths in manifest order), at the
   source's size and frame count.

**Chained paths.** A method whose path *i* uses path *i - 1*'s ``Recapture.context`` (FYC's
temporal packing: :meth:`~motionbench.recapture.task.RecaptureMethod.chains_paths`) gets it from
this group's previous job, else from the run's cache (``cache/contexts/``: each context is saved
when its path is generated, keyed by the method, its options, the source, the seed and every path
up to it), else by generating the earlier path again without writing its video. So a path made by
a resumed run, a shard or a Ray worker is the path one uninterrupted run makes. When the previous
path of a chain failed, the paths after it fail too, saying so: they would otherwise be generated
without the context they are defined with, and kept; rerunning retries them all.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Iterator

from motionbench.errors import MotionBenchError
from motionbench.recapture.task import RecaptureMethod, RecaptureRequest, SourceClip
from motionbench.run.execute import (STATE_COMPLETE_MARKER, GroupTask, JobOutcome, FitResult, apply_fit,
                                     check_video, config_as_dict, describe_error, failed_record, fit_or_load,
                                     save_dir_atomically)
from motionbench.run.measure import measure_phase
from motionbench.run.plan import Job

CONTEXTS_DIR = "contexts"


class ChainBroken(MotionBenchError):
    """A path's context comes from a path of the same chain that failed."""


def request_for(job: Job, source: SourceClip) -> RecaptureRequest:
    assert job.path is not None
    return RecaptureRequest(path=job.path, seed=job.seed, prompt=job.prompt, size=source.size,
                            path_index=int(job.path_index or 0))


class PathChain:
    """The contexts handed from path to path of each (source, seed) of one group (see the module docstring)."""

    def __init__(self, task: GroupTask, method: RecaptureMethod, source: SourceClip, fit: FitResult) -> None:
        self.task, self.method, self.source, self.fit = task, method, source, fit
        self.enabled = method.chains_paths()
        self.jobs = {(j.seed, j.path_index): j for j in task.group.jobs}
        self.contexts: dict[tuple[int, int | None], Any] = {}
        self.failures: dict[tuple[int, int | None], str] = {}

    def context_for(self, job: Job) -> Any:
        """The context ``job`` is generated with (None for a first path or a method that does not chain).

        Raises:
            ChainBroken: the previous path of the chain failed.
        """
        if not self.enabled or not job.path_index:
            return None
        return self._context_of((job.seed, job.path_index - 1))

    def keep(self, job: Job, context: Any) -> None:
        """Remember ``job``'s context for the next path, in memory and in the run's cache."""
        if not self.enabled:
            return
        key = (job.seed, job.path_index)
        self.contexts[key] = context
        folder = self._folder(key)
        if folder is not None:
            save_dir_atomically(folder, lambda tmp: self.method.save_context(context, tmp))

    def failed(self, job: Job, reason: str) -> None:
        self.failures[(job.seed, job.path_index)] = reason.splitlines()[0] if reason else "failed"

    def _context_of(self, key: tuple[int, int]) -> Any:
        if key in self.contexts:
            return self.contexts[key]
        seed, index = key
        if key in self.failures:
            raise ChainBroken(f"path {index} of seed {seed} failed ({self.failures[key]}); path {index + 1} is generated "
                              "with its packed frames, so it waits for it: rerun to retry both")
        folder = self._folder(key)
        if folder is not None and (folder / STATE_COMPLETE_MARKER).exists():
            self.contexts[key] = self.method.load_context(folder)
            return self.contexts[key]
        # Finished in an earlier run whose context is not here (no shared cache): make the path again.
        job = self.jobs[key]
        result = self.method.generate(self.fit.state, self.source, request_for(job, self.source), self.context_for(job))
        self.keep(job, result.context)
        return result.context

    def _folder(self, key: tuple[int, int]) -> Path | None:
        if self.task.cache_dir is None:
            return None
        seed, index = key
        prefix = [self.jobs[(seed, i)].path.key for i in range(index + 1)]  # type: ignore[union-attr]
        identity = json.dumps([self.task.method.name, config_as_dict(self.method.config), self.method.state_key(),
                               self.source.key, seed, prefix], sort_keys=True, default=str)
        digest = hashlib.sha256(identity.encode()).hexdigest()[:16]
        return self.task.cache_dir / CONTEXTS_DIR / self.task.method.name / f"{self.source.key}-{digest}"


def _json_safe(info: dict[str, Any] | None) -> dict[str, Any] | None:
    return json.loads(json.dumps(info, default=str)) if info else None


def load_source(task: GroupTask, method: RecaptureMethod) -> SourceClip:
    """The group's source clip, with estimated depth for a real clip when the method lifts it."""
    from motionbench.recapture.depth import DEFAULT_DEPTH_MODEL
    from motionbench.recapture.sources import load_recapture_sample, with_estimated_depth

    source = load_recapture_sample(task.group.sample).source
    if method.needs_depth and source.depth is None:
        source = with_estimated_depth(source, task.settings.depth or DEFAULT_DEPTH_MODEL,
                                      device=task.settings.device, cache_dir=task.cache_dir)
    return source


def execute_recapture_group(task: GroupTask, method: RecaptureMethod) -> Iterator[JobOutcome]:
    """Run ``task.jobs`` of a recapture group; yields one outcome per job, in order."""
    config = config_as_dict(method.config)
    try:
        source = load_source(task, method)
    except Exception as exc:  # noqa: BLE001 - a source that cannot be loaded fails the group's jobs, not the run
        error = describe_error(exc)
        for job in task.jobs:
            yield JobOutcome(failed_record(job, error, config))
        return
    name = task.method.name
    cache = (task.states_dir / name / f"{source.key}-{method.state_key()}"
             if method.fits and task.states_dir is not None else None)
    fit = fit_or_load(method, name, source, cache, task.settings.device)
    chain = PathChain(task, method, source, fit)
    for job in task.jobs:
        rec = failed_record(job, None, config)
        rec.num_frames, rec.size = source.num_frames, source.size
        apply_fit(rec, fit)
        if fit.error is not None:
            rec.error = f"fit failed: {fit.error}"
            chain.failed(job, rec.error)
            yield JobOutcome(rec)
            continue
        try:
            context = chain.context_for(job)
            with measure_phase(task.settings.device) as m:
                result = method.generate(fit.state, source, request_for(job, source), context)
            frames = check_video(result.frames, source.num_frames, source.size, name)
            chain.keep(job, result.context)
        except Exception as exc:  # noqa: BLE001 - this job fails (and the rest of its chain), the others go on
            rec.error = describe_error(exc)
            chain.failed(job, rec.error)
            yield JobOutcome(rec)
            continue
        rec.generate_seconds = m.seconds
        rec.generate_peak_memory_mb = m.peak_memory_mb
        rec.memory_kind = m.memory_kind
        rec.method_info = _json_safe(result.info)
        rec.status = "ok"
        yield JobOutcome(rec, frames, source.fps)
