"""Reading one run of the results store for reporting.

A run is a folder ``results/<run>/`` with ``run.json``, ``generations.jsonl`` and ``scores.jsonl``
(see DESIGN.md, "The results store"). Readers keep the *last* record of each key, so a rescore or a
retried job supersedes the earlier line. ``run.json`` (a :class:`~motionbench.run.info.RunInfo`) is
optional: the report needs none of it, and shows where the run came from when it is there.
"""

from __future__ import annotations

import json
import warnings as warnings_module
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Sequence

from motionbench.errors import MotionBenchError, MotionBenchWarning
from motionbench.run.info import RunInfo, RunInfoError
from motionbench.run.records import GenerationRecord, ScoreRecord, iter_records
from motionbench.tasks import TASKS


class ReportError(MotionBenchError):
    """A run cannot be reported as asked (missing run, unknown metric, bad published-numbers file)."""


class MixedBackendsError(ReportError):
    """Rows of one metric column were scored with different backends (not comparable)."""


@dataclass
class LoadedRun:
    """The records of one run as the report reads them, deduplicated by key (last record wins)."""

    name: str
    path: Path
    info: RunInfo | None
    generations: dict[str, GenerationRecord]  # job -> record
    scores: dict[tuple[str, str, str], ScoreRecord]  # (job, metric, variant) -> record
    warnings: list[str] = field(default_factory=list)

    def video_path(self, record: GenerationRecord) -> Path | None:
        """Absolute path of a generated video, or None when the job produced none."""
        if record.status != "ok" or not record.video:
            return None
        return self.path / record.video

    def reference_video(self, sample: str) -> Path:
        """Where the runner stores the sample's reference clip (it may be absent)."""
        return self.path / "videos" / "reference" / f"{sample}.mp4"

    def tasks(self) -> list[str]:
        """The tasks its records belong to, in :data:`motionbench.tasks.TASKS` order."""
        found = {g.task for g in self.generations.values()} | {s.task for s in self.scores.values()}
        return [t for t in TASKS if t in found] + sorted(found - set(TASKS))

    def for_task(self, task: str) -> "LoadedRun":
        """The same run with only the records of ``task``."""
        return replace(self, generations={k: g for k, g in self.generations.items() if g.task == task},
                       scores={k: s for k, s in self.scores.items() if s.task == task})


def tasks_of(stores: Sequence[LoadedRun]) -> list[str]:
    """Every task the records of ``stores`` belong to, in :data:`motionbench.tasks.TASKS` order."""
    found = {t for s in stores for t in s.tasks()}
    return [t for t in TASKS if t in found] + sorted(found - set(TASKS))


def resolve_run(run: str | Path, results_dir: Path | str = "results") -> Path:
    """The folder of a run given as a path or as a name under ``results_dir``.

    Raises:
        ReportError: neither exists; the message lists the runs that do.
    """
    candidates = [Path(run), Path(results_dir) / str(run)]
    for cand in candidates:
        if cand.is_dir() and ((cand / "generations.jsonl").exists() or (cand / "scores.jsonl").exists()
                              or (cand / "run.json").exists()):
            return cand
    available = sorted(p.name for p in Path(results_dir).glob("*/") if p.is_dir() and p.name != "reported") \
        if Path(results_dir).is_dir() else []
    hint = f"; runs in {results_dir}/: {', '.join(available)}" if available else f"; {results_dir}/ holds no runs"
    looked = " and ".join(str(c) for c in candidates)
    raise ReportError(f"run {str(run)!r} not found (looked for a run folder at {looked}){hint}. "
                      f"Pass a run folder or a name under {results_dir}/")


def load_run(path: Path | str) -> LoadedRun:
    """Read a run folder.

    Raises:
        ReportError: the folder has neither generations nor scores.
        StoreError: a JSONL line other than an unfinished last one is not a record (names the line).
    """
    path = Path(path)
    warnings: list[str] = []
    info: RunInfo | None = None
    run_json = path / "run.json"
    if run_json.exists():
        try:
            info = RunInfo.from_json(json.loads(run_json.read_text(encoding="utf-8")), run_json)
        except OSError as exc:  # a folder in its place, no permission
            raise ReportError(f"{run_json}: cannot be read ({exc.strerror or exc}); fix its permissions, or move "
                              "it aside (the report does not need it)") from None
        except ValueError as exc:  # not JSON, or not UTF-8 text at all (a damaged file)
            raise ReportError(f"{run_json}: not valid JSON ({exc}); restore it or delete it (the report "
                              "does not need it)") from None
        except RunInfoError as exc:
            raise ReportError(str(exc)) from None
    else:
        warnings.append(f"{run_json}: missing; run details (config, versions, device) are not shown")
    generations: dict[str, GenerationRecord] = {}
    scores: dict[tuple[str, str, str], ScoreRecord] = {}
    for fname, cls, into in (("generations.jsonl", GenerationRecord, generations),
                             ("scores.jsonl", ScoreRecord, scores)):
        file = path / fname
        with warnings_module.catch_warnings(record=True) as caught:  # shown with the report's notes
            warnings_module.simplefilter("always", MotionBenchWarning)
            for rec in iter_records(file, cls):  # a damaged line raises StoreError naming it
                into[rec.key if isinstance(rec, ScoreRecord) else rec.job] = rec  # type: ignore[index]
        warnings.extend(str(w.message) for w in caught if issubclass(w.category, MotionBenchWarning))
    # A score of another video than the job's latest (it was regenerated or replaced) stands for nothing.
    stale = [key for key, sc in scores.items() if (gen := generations.get(sc.job)) is not None
             and gen.video_sha256 is not None and sc.video_sha256 != gen.video_sha256]
    for key in stale:
        del scores[key]
    if stale:
        warnings.append(f"{len(stale)} score(s) of videos since regenerated or replaced are left out; "
                        f"`motionbench score {path}` scores the current videos")
    if not generations and not scores:
        raise ReportError(f"{path}: no generations.jsonl or scores.jsonl records; run "
                          f"`motionbench run` (and `motionbench score`) for this run first")
    return LoadedRun(name=path.name, path=path, info=info, generations=generations, scores=scores, warnings=warnings)


def load_runs(runs: Sequence[str | Path | LoadedRun], results_dir: Path | str = "results") -> list[LoadedRun]:
    """Resolve and read several runs; the same folder given twice is read once."""
    out: list[LoadedRun] = []
    seen: set[Path] = set()
    for run in runs:
        store = run if isinstance(run, LoadedRun) else load_run(resolve_run(run, results_dir))
        key = store.path.resolve()
        if key in seen:
            continue
        seen.add(key)
        out.append(store)
    if not out:
        raise ReportError("no runs given: pass at least one run folder or name")
    names = [s.name for s in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        # Two folders of the same name in different places: name them by their paths to keep rows apart.
        for s in out:
            if s.name in dup:
                s.name = str(s.path)
    return out
