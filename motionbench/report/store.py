"""Reading one run of the results store for reporting.

A run is a folder ``results/<run>/`` with ``run.json``, ``generations.jsonl`` and ``scores.jsonl``
(see DESIGN.md, "The results store"). Readers keep the *last* record of each key, so a rescore or a
retried job supersedes the earlier line. ``run.json`` is read tolerantly: the report needs none of
its keys, and shows those it finds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from motionbench.errors import MotionBenchError
from motionbench.run.records import GenerationRecord, ScoreRecord, iter_records


class ReportError(MotionBenchError):
    """A run cannot be reported as asked (missing run, unknown metric, bad published-numbers file)."""


class MixedBackendsError(ReportError):
    """Rows of one metric column were scored with different backends (not comparable)."""


@dataclass
class RunStore:
    """The records of one run, deduplicated by key (last record wins)."""

    name: str
    path: Path
    info: dict[str, Any]
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


def load_run(path: Path | str) -> RunStore:
    """Read a run folder.

    Raises:
        ReportError: the folder has neither generations nor scores, or a JSONL line is not valid.
    """
    path = Path(path)
    warnings: list[str] = []
    info: dict[str, Any] = {}
    run_json = path / "run.json"
    if run_json.exists():
        try:
            loaded = json.loads(run_json.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ReportError(f"{run_json}: not valid JSON ({exc}); restore it or delete it (the report "
                              "does not need it)") from None
        if isinstance(loaded, dict):
            info = loaded
        else:
            warnings.append(f"{run_json}: expected a JSON object; ignored")
    else:
        warnings.append(f"{run_json}: missing; run details (config, versions, device) are not shown")
    generations: dict[str, GenerationRecord] = {}
    scores: dict[tuple[str, str, str], ScoreRecord] = {}
    for fname, cls, into in (("generations.jsonl", GenerationRecord, generations),
                             ("scores.jsonl", ScoreRecord, scores)):
        file = path / fname
        try:
            for rec in iter_records(file, cls):
                into[rec.key if isinstance(rec, ScoreRecord) else rec.job] = rec  # type: ignore[index]
        except (json.JSONDecodeError, TypeError) as exc:
            raise ReportError(f"{file}: a line is not a valid {cls.__name__} ({exc}); the file was "
                              "edited by hand or written by an incompatible version") from None
    if not generations and not scores:
        raise ReportError(f"{path}: no generations.jsonl or scores.jsonl records; run "
                          f"`motionbench run` (and `motionbench score`) for this run first")
    name = str(info.get("name") or path.name)
    return RunStore(name=name, path=path, info=info, generations=generations, scores=scores, warnings=warnings)


def load_runs(runs: Sequence[str | Path | RunStore], results_dir: Path | str = "results") -> list[RunStore]:
    """Resolve and read several runs; the same folder given twice is read once."""
    out: list[RunStore] = []
    seen: set[Path] = set()
    for run in runs:
        store = run if isinstance(run, RunStore) else load_run(resolve_run(run, results_dir))
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
        # Two folders whose run.json carry the same name: fall back to folder names to keep rows apart.
        for s in out:
            if s.name in dup:
                s.name = s.path.name
    return out
