"""The results store of one run directory (layout in DESIGN.md, "The results store").

::

    <run>/run.json            config, versions, git, device, metric backends (rewritten atomically)
    <run>/generations.jsonl   one GenerationRecord line per job outcome
    <run>/scores.jsonl        one ScoreRecord line per (job, metric, variant) outcome
    <run>/videos/<method>/<sample>/<prompt-index>-s<seed>.mp4
    <run>/cache/states/<method>/<reference key>-<state key>/   fitted states
    <run>/run.lock            held (fcntl.flock) by the process writing the run

Crash safety: a video is written to a temporary name and renamed; its record is appended only
after, as one ``write`` of a whole line followed by flush and fsync. A job counts as finished only
when its last record says ``ok`` *and* its video decodes, so a run killed at any moment and started
again redoes exactly the unfinished jobs.

Locking: an unsharded run holds ``run.lock`` exclusively; ``--shard i/n`` runs hold it shared plus
``run.shard-i-of-n.lock`` exclusively, so the shards of one store may run at the same time (their
lines interleave whole: appends are single ``O_APPEND`` writes) but the same shard twice, or a shard
beside an unsharded run, is refused. The kernel drops a flock when its process dies, so a killed
run leaves no stale lock behind.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from motionbench.errors import MotionBenchError
from motionbench.run.plan import Shard
from motionbench.run.records import GenerationRecord, ScoreRecord, iter_records, to_json_line
from motionbench.video import VideoError, probe

RUN_FILE = "run.json"
GENERATIONS_FILE = "generations.jsonl"
SCORES_FILE = "scores.jsonl"
LOCK_FILE = "run.lock"


class RunLockedError(MotionBenchError):
    """Another process is writing the same run directory."""


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def append_line(path: Path, line: str) -> None:
    """Append one whole line in a single write, then flush it to disk."""
    data = line.encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        written = os.write(fd, data)
        if written != len(data):  # only on a full disk; leave a torn line that readers ignore
            raise OSError(f"{path}: short write ({written} of {len(data)} bytes); is the disk full?")
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


class _Lock:
    """One flock on one file, recording the holder's pid for the refusal message."""

    def __init__(self, path: Path, exclusive: bool) -> None:
        self.path, self.exclusive = path, exclusive
        self.fd: int | None = None

    def acquire(self, what: str) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, (fcntl.LOCK_EX if self.exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "unknown pid"
            os.close(fd)
            raise RunLockedError(
                f"{what} is being written by another motionbench process ({holder}). Wait for it to "
                "finish, or write to another directory with --out. (Shards of one run may share a "
                "directory: each --shard i/n once.)") from None
        if self.exclusive:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()} on {os.uname().nodename}, since {now_iso()}".encode(), 0)
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


@dataclass
class RunStore:
    """Read and write one run directory. Writing methods need :meth:`lock` held."""

    root: Path
    _locks: list[_Lock] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self.root = Path(self.root)

    # --- paths -------------------------------------------------------------------------------
    @property
    def run_file(self) -> Path:
        return self.root / RUN_FILE

    @property
    def generations_file(self) -> Path:
        return self.root / GENERATIONS_FILE

    @property
    def scores_file(self) -> Path:
        return self.root / SCORES_FILE

    @property
    def states_dir(self) -> Path:
        return self.root / "cache" / "states"

    @property
    def metrics_cache_dir(self) -> Path:
        return self.root / "cache" / "metrics"

    def reference_video_path(self, sample_id: str) -> Path:
        """The reference clip as the methods saw it, for reports: ``videos/reference/<sample>.mp4``."""
        return self.root / "videos" / "reference" / f"{sample_id}.mp4"

    def video_path(self, record: GenerationRecord) -> Path:
        assert record.video is not None
        return self.root / record.video  # absolute paths (scored external videos) stay absolute

    # --- locking -----------------------------------------------------------------------------
    def lock(self, shard: Shard | None = None) -> None:
        """Take the run's lock (see module docstring) or raise :class:`RunLockedError`."""
        self.root.mkdir(parents=True, exist_ok=True)
        locks = [_Lock(self.root / LOCK_FILE, exclusive=shard is None)]
        if shard is not None:
            locks.append(_Lock(self.root / f"run.shard-{shard.index}-of-{shard.count}.lock", exclusive=True))
        taken: list[_Lock] = []
        try:
            for lk in locks:
                lk.acquire(f"{self.root}" + (f" (shard {shard})" if shard is not None and lk is locks[-1] else ""))
                taken.append(lk)
        except BaseException:
            for lk in taken:
                lk.release()
            raise
        self._locks = taken

    def unlock(self) -> None:
        for lk in reversed(self._locks):
            lk.release()
        self._locks = []

    @contextmanager
    def locked(self, shard: Shard | None = None) -> Iterator["RunStore"]:
        self.lock(shard)
        try:
            yield self
        finally:
            self.unlock()

    def move_aside(self) -> Path | None:
        """For ``--fresh``: rename an existing run directory to ``<name>.old-<time>`` and return it.

        The old run is kept, not deleted: nothing finished is ever destroyed by a flag. Its lock is
        taken first, so a run in progress is never moved from under its writer.
        """
        if not self.root.exists():
            return None
        old = _Lock(self.root / LOCK_FILE, exclusive=True)
        self.root.mkdir(parents=True, exist_ok=True)
        old.acquire(str(self.root))
        try:
            stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
            target = self.root.with_name(f"{self.root.name}.old-{stamp}")
            n = 1
            while target.exists():
                target = self.root.with_name(f"{self.root.name}.old-{stamp}-{n}")
                n += 1
            os.rename(self.root, target)
        finally:
            old.release()
        return target

    # --- run.json ----------------------------------------------------------------------------
    def read_run_info(self) -> dict[str, Any] | None:
        if not self.run_file.exists():
            return None
        try:
            return json.loads(self.run_file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise MotionBenchError(f"{self.run_file} is not valid JSON ({exc}); move the run aside with --fresh") from None

    def update_run_info(self, update: dict[str, Any]) -> dict[str, Any]:
        """Merge ``update`` into run.json (dicts merge one level deep) and write it atomically.

        Concurrent shards serialise on a separate short-lived lock so no update is lost.
        """
        fd = os.open(self.root / ".run.json.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            info = self.read_run_info() or {}
            for key, value in update.items():
                if isinstance(value, dict) and isinstance(info.get(key), dict):
                    info[key] = {**info[key], **value}
                else:
                    info[key] = value
            write_json_atomic(self.run_file, info)
            return info
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    # --- records -----------------------------------------------------------------------------
    def append_generation(self, record: GenerationRecord) -> None:
        append_line(self.generations_file, to_json_line(record))

    def append_score(self, record: ScoreRecord) -> None:
        append_line(self.scores_file, to_json_line(record))

    def generation_records(self) -> list[GenerationRecord]:
        return list(iter_records(self.generations_file, GenerationRecord))

    def score_records(self) -> list[ScoreRecord]:
        return list(iter_records(self.scores_file, ScoreRecord))

    def latest_generations(self) -> dict[str, GenerationRecord]:
        """The last record of each job (a retry supersedes an earlier failure)."""
        return {r.job: r for r in self.generation_records()}

    def video_is_complete(self, record: GenerationRecord) -> bool:
        """The record's video exists, decodes and has the recorded number of frames."""
        if record.video is None:
            return False
        try:
            info = probe(self.video_path(record))
        except VideoError:
            return False
        return record.num_frames is None or info.num_frames == record.num_frames

    def finished_jobs(self) -> dict[str, GenerationRecord]:
        """Jobs whose last record is ``ok`` and whose video decodes: never redone."""
        return {job: r for job, r in self.latest_generations().items()
                if r.status == "ok" and self.video_is_complete(r)}
