"""The scoring stage: every finished video of a run through a :class:`~motionbench.metrics.scorer.Scorer`.

Videos are scored one sample at a time (the scorer computes the reference side once per sample;
a recapture sample's truth once per camera path).
A job is scored again only when some metric of the scorer has no ``ok`` or ``skipped`` score for it
*from the same backend*, so rerunning after a crash finishes the rest, and rescoring with another
CLIP model or tracker adds that backend's scores beside the old ones instead of replacing them.
Each score names the sha256 of the video it scored, so a regenerated video is scored again and the
old video's scores never stand for it.
A metric skipped for missing weights names an ``...:unavailable`` backend, so installing the weights
changes the backend and the next ``motionbench score`` fills it in; errors are always retried. The
scorer scores whole jobs, so a job redone for one metric gets fresh records of the others too
(readers take the last record of a key).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from motionbench.bench.manifest import Sample
from motionbench.errors import MotionBenchError
from motionbench.metrics.api import GroundTruthTracks, ScoringItem
from motionbench.metrics.scorer import Scorer
from motionbench.run.execute import describe_error
from motionbench.run.records import GenerationRecord, ScoreRecord
from motionbench.run.references import load_reference_clip
from motionbench.run.store import RunStore
from motionbench.recapture.trajectory import CameraPath
from motionbench.tasks import RECAPTURE
from motionbench.video import Clip, read_video


@dataclass
class ScoreSummary:
    jobs_scored: int = 0
    jobs_already_scored: int = 0
    values: dict[str, int] = field(default_factory=lambda: {"ok": 0, "skipped": 0, "error": 0})
    problems: list[str] = field(default_factory=list)  # what could not be scored, and why


def scored_keys(store: RunStore) -> set[tuple[str, str, str, str, str | None]]:
    """(job, metric, variant, backend, video sha256) whose latest score is ``ok`` or ``skipped``.

    Errors are retried; the video's hash makes a regenerated video's old scores count for nothing.
    """
    latest: dict[tuple[str, str, str, str, str | None], ScoreRecord] = {}
    for r in store.score_records():
        latest[(r.job, r.metric, r.variant, r.backend, r.video_sha256)] = r
    return {key for key, r in latest.items() if r.status != "error"}


def jobs_to_score(store: RunStore, outputs: Sequence[tuple[str, str, str]]) -> tuple[list[GenerationRecord], int]:
    """Finished generations missing some (metric, variant) value from its current backend."""
    done = scored_keys(store)
    todo, already = [], 0
    for rec in store.latest_generations().values():
        if rec.status != "ok":
            continue
        if all((rec.job, metric, variant, backend, rec.video_sha256) in done for metric, variant, backend in outputs):
            already += 1
        else:
            todo.append(rec)
    return todo, already


def _reference_side(sample: Sample) -> tuple[Clip, GroundTruthTracks | None, Any]:
    """What a sample's videos are scored against: the reference clip (recapture: the source clip), its
    ground-truth tracks, and for a recapture scene the scene that draws the exact re-renderings."""
    if sample.task == RECAPTURE:
        from motionbench.recapture.sources import load_recapture_sample

        loaded = load_recapture_sample(sample)
        return Clip(loaded.source.frames, loaded.source.fps), None, loaded.scene
    reference, ground_truth = load_reference_clip(sample)
    return reference, ground_truth, None


def score_run(store: RunStore, samples: Mapping[str, Sample], scorer: Scorer, *,
              on_start: Callable[[int], None] | None = None,
              on_sample: Callable[[str, int], None] | None = None) -> ScoreSummary:
    """Score the run's unscored finished videos and append their ScoreRecords.

    Args:
        store: the run (its lock held by the caller).
        samples: the manifest's samples by id (references and boxes come from here).
        scorer: the metrics and their feature providers.
        on_start: called with the number of videos to score.
        on_sample: called with (sample id, number of videos) after each sample is scored.
    """
    summary = ScoreSummary()
    todo, summary.jobs_already_scored = jobs_to_score(store, scorer.outputs())
    if on_start is not None:
        on_start(len(todo))
    by_sample: dict[str, list[GenerationRecord]] = {}
    for rec in todo:
        by_sample.setdefault(rec.sample, []).append(rec)
    for sample_id, records in by_sample.items():
        sample = samples.get(sample_id)
        if sample is None:
            summary.problems.append(f"{len(records)} video(s) of sample {sample_id!r}: the sample is not in the "
                                    "manifest; pass the manifest the run used with --manifest")
            continue
        try:
            reference, ground_truth, scene = _reference_side(sample)
        except MotionBenchError as exc:
            summary.problems.append(f"sample {sample_id!r}: reference cannot be loaded: {exc}")
            continue
        items, meta = [], {}
        for rec in records:
            try:
                clip = read_video(store.video_path(rec))
                path = CameraPath.parse(rec.path, where=f"{rec.job}: path") if rec.path is not None else None
            except MotionBenchError as exc:
                summary.problems.append(f"{rec.job}: {exc}")
                continue
            items.append(ScoringItem(job=rec.job, clip=clip, prompt=rec.prompt, path=path))
            meta[rec.job] = rec
        if not items:
            continue
        try:
            results = scorer.score_sample(reference, items, box=sample.box, ground_truth=ground_truth,
                                          cache_dir=store.metrics_cache_dir, scene=scene)
        except Exception as exc:  # noqa: BLE001 - one sample's scoring failure does not stop the others
            summary.problems.append(f"sample {sample_id!r}: scoring failed: {describe_error(exc)}")
            continue
        for job, values in results.items():
            for v in values:
                store.append_score(ScoreRecord.of(meta[job], v))
                summary.values[v.status] = summary.values.get(v.status, 0) + 1
            summary.jobs_scored += 1
        if on_sample is not None:
            on_sample(sample_id, len(items))
    return summary
