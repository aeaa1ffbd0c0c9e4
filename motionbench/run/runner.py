"""The driver of ``motionbench run``: plan, skip what is finished, execute, write, score, summarise.

The driver is the only writer of a run's records and videos, whatever the executor; workers hand it
outcomes. For each successful job it writes the video (temporary name, then rename) and only then
appends the record, so a kill between the two leaves a video without a record, which the next run
simply redoes.

Rerunning the same command resumes: a job whose last record is ``ok`` and whose video decodes is
skipped; every other planned job (never started, half-written, or failed before) runs again. The
run directory remembers each method's resolved options and the frame count and size overrides; a
rerun that changes them is refused, because the finished videos would silently mix two settings
(start over with ``--fresh`` or pick another ``--out``).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable, Sequence

from motionbench.bench.manifest import DEFAULT_MANIFEST, Manifest, Sample, first_frames, load_manifest
from motionbench.errors import ConfigError, MotionBenchError
from motionbench.metrics.scorer import Scorer
from motionbench.package_data import resolve_manifest
from motionbench.run.env import device_info, git_state, package_versions
from motionbench.run.execute import GenerationSettings, GroupTask, JobOutcome, MethodChoice, describe_error
from motionbench.run.executors import Executor, make_executor
from motionbench.run.plan import Group, Shard, plan_groups
from motionbench.run.info import RunInfo, RunRequest, RunSettings
from motionbench.run.records import GenerationRecord
from motionbench.run.references import load_reference_clip
from motionbench.run.scoring import ScoreSummary, score_run
from motionbench.run.store import RunStore, now_iso
from motionbench.tasks import DEFAULT_MANIFESTS, MOTION_TRANSFER, RECAPTURE, check_task
from motionbench.video import file_sha256, write_video


@dataclass(frozen=True)
class RunConfig:
    """What ``motionbench run`` was asked to do (the CLI flags, parsed)."""

    methods: tuple[MethodChoice, ...]
    out: Path
    manifest: Path = DEFAULT_MANIFEST
    categories: tuple[str, ...] = ()
    sample_ids: tuple[str, ...] = ()
    limit: int | None = None
    seeds: tuple[int, ...] = (0,)
    num_frames: int | None = None
    size: tuple[int, int] | None = None
    device: str = "cpu"
    shard: Shard | None = None
    executor: str = "local"
    ray_address: str | None = None
    fresh: bool = False
    task: str = MOTION_TRANSFER  # plans only the manifest's samples of this task
    depth: str | None = None  # recapture: the depth model for real clips (None: the default model)
    clip_frames: int | None = None  # every reference clip cut to its first N frames (bench.manifest.first_frames)


@dataclass
class RunOutcome:
    """What one ``execute_run`` did: counts, failures, the scoring stage's summary."""

    run_dir: Path
    planned: int = 0
    already_done: int = 0
    ok: int = 0
    failed: list[GenerationRecord] = field(default_factory=list)
    seconds: float = 0.0
    moved_aside: Path | None = None
    scoring: ScoreSummary | None = None
    scoring_failed: bool = False

    @property
    def exit_code(self) -> int:
        return 1 if self.failed or self.scoring_failed else 0


class ProgressSink:
    """Receives progress events; the CLI renders them with rich, tests and benchmarks ignore them."""

    def start(self, total: int, already_done: int) -> None: ...

    def job_done(self, record: GenerationRecord) -> None: ...

    def scoring_started(self, videos: int) -> None: ...

    def sample_scored(self, sample: str, videos: int) -> None: ...

    def stop(self) -> None: ...


def run_manifest(manifest_path: Path, clip_frames: int | None) -> Manifest:
    """The manifest as a run sees it (each sample cut to ``clip_frames`` when set): what generation
    and every later scoring of the run load, so both see the same clips."""
    manifest = load_manifest(manifest_path)
    if not clip_frames:
        return manifest
    return replace(manifest, samples=tuple(first_frames(s, clip_frames) for s in manifest.samples))


def resolve_samples(config: RunConfig) -> tuple[list[Sample], dict[str, Sample]]:
    manifest = run_manifest(config.manifest, config.clip_frames)
    if not any(s.task == config.task for s in manifest.samples):
        tasks = sorted({s.task for s in manifest.samples})
        raise ConfigError(f"{manifest.path} has no sample of the {config.task} task (its samples are {', '.join(tasks)}); "
                          f"pass --task {tasks[0]}, or a manifest of {config.task} samples "
                          f"(default: {DEFAULT_MANIFESTS[config.task]})")
    chosen = manifest.select(config.categories, config.sample_ids, config.limit, task=config.task)
    if not chosen:
        raise ConfigError(f"no sample of {manifest.path} matches the --category/--sample filters")
    return chosen, {s.id: s for s in manifest.samples}


def check_task_settings(config: RunConfig) -> None:
    """Refuse options that do not apply to the run's task, naming them."""
    check_task(config.task)
    if config.task == RECAPTURE and (config.num_frames is not None or config.size is not None
                                     or config.clip_frames is not None):
        raise ConfigError("--num-frames, --size and --clip-frames do not apply to the recapture task: a re-rendering "
                          "has its source clip's frames and size (set frames and size in the manifest)")
    if config.task != RECAPTURE and config.depth is not None:
        raise ConfigError("--depth applies to the recapture task only (the depth model real clips are lifted with)")


def check_compatible(previous: RunInfo | None, settings: RunSettings, where: Path) -> None:
    """Refuse to resume a run whose finished videos were made with other settings."""
    problems = previous.settings.conflicts(settings) if previous is not None else []
    if problems:
        raise ConfigError(f"the run directory {where}: {'; '.join(problems)}. Rerun with the same settings, start "
                          "over with --fresh, or use another --out")


def record_backends(store: RunStore, scorer: Scorer) -> None:
    """Record the backend each metric is about to be scored with (the latest scoring's, per metric)."""
    backends = scorer.backends()
    store.update_run_info(lambda info: replace(info or RunInfo(), updated=now_iso(),
                                               metric_backends={**(info or RunInfo()).metric_backends, **backends}))


def remove_partial_videos(store: RunStore, groups: Sequence[Group]) -> int:
    """Delete temporary video files left by a killed writer in the folders this run owns."""
    removed = 0
    for group in groups:
        folder = store.root / "videos" / group.method / group.sample.id
        if folder.is_dir():
            for tmp in folder.glob(".*.partial.mp4"):
                tmp.unlink(missing_ok=True)
                removed += 1
    return removed


def write_reference_videos(store: RunStore, samples: Iterable[Sample]) -> None:
    """Store each sample's reference clip once, beside the generated videos, for side-by-side reports.

    A reference that cannot be decoded is left out here; its jobs fail with the named error.
    """
    for sample in samples:
        path = store.reference_video_path(sample.id)
        if path.exists():
            continue
        try:
            clip, _ = load_reference_clip(sample)
        except MotionBenchError:
            continue
        write_video(path, clip.frames, clip.fps)


def write_outcome(store: RunStore, outcome: JobOutcome, relpath: str) -> GenerationRecord:
    """Write a successful job's video, then append its record (in that order; see module docstring)."""
    rec = outcome.record
    if rec.status == "ok" and outcome.frames is not None:
        try:
            # Recapture videos are scored pixel by pixel against the truth: stored losslessly.
            write_video(store.root / relpath, outcome.frames, outcome.fps, lossless=rec.task == RECAPTURE)
            rec.video, rec.video_sha256 = relpath, file_sha256(store.root / relpath)
        except Exception as exc:  # noqa: BLE001 - e.g. a full disk: this job fails, the run goes on
            rec.status, rec.error = "error", f"writing the video failed: {describe_error(exc)}"
    rec.finished_at = now_iso()
    store.append_generation(rec)
    return rec


def execute_run(config: RunConfig, *, scorer: Scorer | None = None,
                scorer_factory: Callable[[], Scorer] | None = None,
                progress: ProgressSink | None = None, executor: Executor | None = None) -> RunOutcome:
    """Run (or resume) a benchmark run into ``config.out``.

    Args:
        config: the parsed command.
        scorer: score the videos after generation with this scorer; ``None`` skips scoring.
        scorer_factory: build the scorer only if it is needed (after generation).
        progress: progress events (rich bars in the CLI).
        executor: overrides ``config.executor`` (tests, benchmarks).

    Raises:
        ConfigError: unknown method or option, settings that differ from the run being resumed.
        RunLockedError: another process is writing the same run directory.
    """
    t0 = time.perf_counter()
    progress = progress or ProgressSink()
    check_task_settings(config)
    samples, all_samples = resolve_samples(config)
    method_configs = {m.name: m.config_dict(config.task) for m in config.methods}  # validates every option first
    if len({m.name for m in config.methods}) != len(config.methods):
        raise ConfigError("a method is listed twice with --method; give each once")
    executor = executor or make_executor(config.executor, ray_address=config.ray_address)

    store = RunStore(config.out)
    summary = RunOutcome(run_dir=store.root)
    if config.fresh:
        summary.moved_aside = store.move_aside()
    settings = RunSettings(manifest=str(resolve_manifest(config.manifest).resolve()), methods=method_configs,
                           num_frames=config.num_frames, size=config.size, task=config.task, depth=config.depth,
                           clip_frames=config.clip_frames)
    request = RunRequest(seeds=config.seeds, categories=config.categories, samples=config.sample_ids,
                         limit=config.limit, device=config.device, executor=config.executor)
    with store.locked(config.shard):
        versions, git, device = package_versions(), git_state(), device_info(config.device)

        def record_run(previous: RunInfo | None) -> RunInfo:
            check_compatible(previous, settings, store.root)
            kept = previous or RunInfo()
            return replace(kept, settings=kept.settings.joined(settings), request=request,
                           created=kept.created or now_iso(), updated=now_iso(), command=tuple(sys.argv),
                           versions=versions, git=git, device=device)

        store.update_run_info(record_run)

        groups = plan_groups([m.name for m in config.methods], samples, config.seeds, config.shard)
        finished = store.finished_jobs()
        choices = {m.name: m for m in config.methods}
        settings = GenerationSettings(config.device, config.num_frames, config.size, config.depth)
        tasks = []
        for group in groups:
            summary.planned += len(group.jobs)
            pending = tuple(j for j in group.jobs if j.id not in finished)
            summary.already_done += len(group.jobs) - len(pending)
            if pending:
                tasks.append(GroupTask(group, pending, choices[group.method], settings, store.states_dir,
                                       store.cache_dir))
        remove_partial_videos(store, [t.group for t in tasks])
        write_reference_videos(store, {g.sample.id: g.sample for g in groups}.values())
        relpaths = {j.id: j.video_relpath for t in tasks for j in t.jobs}

        progress.start(summary.planned, summary.already_done)
        try:
            for outcome in executor.run(tasks):
                rec = write_outcome(store, outcome, relpaths[outcome.record.job])
                if rec.status == "ok":
                    summary.ok += 1
                else:
                    summary.failed.append(rec)
                progress.job_done(rec)
        finally:
            progress.stop()

        if scorer is None and scorer_factory is not None:
            try:  # built only now: its models must not sit in memory while the methods generate
                scorer = scorer_factory()
            except MotionBenchError as exc:  # the videos are safe; say how to score them later
                summary.scoring = ScoreSummary(problems=[
                    f"scoring did not start: {exc}. The videos are kept; score them with "
                    f"`motionbench score {store.root}` once this is fixed"])
                summary.scoring_failed = True
        if scorer is not None:
            record_backends(store, scorer)
            try:
                summary.scoring = score_run(store, all_samples, scorer, on_start=progress.scoring_started,
                                            on_sample=progress.sample_scored)
            finally:
                progress.stop()
    summary.seconds = time.perf_counter() - t0
    return summary


def rescore_run(run_dir: Path, scorer: Scorer, *, manifest: Path | None = None,
                progress: ProgressSink | None = None) -> ScoreSummary:
    """Score (or rescore with other backends) an existing run; ``manifest`` defaults to the run's own."""
    store = RunStore(run_dir)
    info = store.read_run_info()
    if info is None:
        raise ConfigError(f"{run_dir} is not a motionbench run (no run.json); "
                          "to score videos made by another tool use `motionbench score --videos DIR`")
    manifest_path = manifest or Path(info.settings.manifest or DEFAULT_MANIFEST)
    samples = {s.id: s for s in run_manifest(manifest_path, info.settings.clip_frames).samples}
    progress = progress or ProgressSink()
    with store.locked():
        record_backends(store, scorer)
        try:
            return score_run(store, samples, scorer, on_start=progress.scoring_started,
                             on_sample=progress.sample_scored)
        finally:
            progress.stop()
