"""The results store of one run directory (layout in DESIGN.md, "The results store").

::

    <run>/run.json            config, versions, git, device, metric backends (rewritten atomically)
    <run>/generations.jsonl   one GenerationRecord line per job outcome
    <run>/scores.jsonl        one ScoreRecord line per (job, metric, variant) outcome
    <run>/videos/<method>/<sample>/<prompt-index>-s<seed>.mp4      (recapture: <path-index>-<path-key>-s<seed>.mp4)
    <run>/cache/states/<method>/<reference key>-<state key>/   fitted states
    <run>/cache/contexts/, cache/depth/   recapture: contexts between paths, estimated depth of real clips
    <run>/run.lock            held (fcntl.flock) by the process writing the run

Crash safety: a video is written to a temporary name and renamed; its record is appended only
after, as one ``write`` of a whole line followed by flush and fsync (:mod:`motionbench.run.jsonl`:
appends start on a fresh line even after a torn one, a failed append is taken back). A job counts
as finished only when its last record says ``ok`` *and* its video decodes, so a run killed at any
moment and started again redoes exactly the unfinished jobs.

Locking: an unsharded run holds ``run.lock`` exclusively; ``--shard i/n`` runs hold it shared plus
``run.shard-i-of-n.lock`` exclusively, so the shards of one store may run at the same time (their
lines interleave whole: appends are single ``O_APPEND`` writes) but the same shard twice, or a shard
beside an unsharded run, is refused, naming the live holder (each exclusive lock file holds its
holder's pid and host while held). The kernel drops a flock when its process dies, so a killed run
leaves no stale lock behind; a stale note of a dead pid is never named.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from motionbench.errors import MotionBenchError, StoreError
from motionbench.run.info import RunInfo, RunInfoError
from motionbench.run.jsonl import append_line
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


def write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StoreError(f"{path}: cannot be written ({exc.strerror or exc}); free disk space or fix the "
                         "folder's permissions, then run the same command again") from None


_HOLDER = re.compile(r"pid (\d+) on (\S+),")


def _live_holder(note: str) -> bool:
    """Whether a lock file's holder note names a process that may still hold it."""
    m = _HOLDER.search(note)
    if not m:
        return False
    if m.group(2) != os.uname().nodename:
        return True  # another host's process: it cannot be checked from here
    try:
        os.kill(int(m.group(1)), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _Lock:
    """One flock on one file; an exclusive holder writes a note (pid, host, time) for refusals."""

    def __init__(self, path: Path, exclusive: bool, label: str = "") -> None:
        self.path, self.exclusive, self.label = path, exclusive, label
        self.fd: int | None = None

    def acquire(self, what: str) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"{self.path.parent}: cannot write the run directory ({exc.strerror}); "
                             "choose another --out or fix its permissions") from None
        try:
            fcntl.flock(fd, (fcntl.LOCK_EX if self.exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holders = "; ".join(self._holders()) or "its pid is not recorded"
            raise RunLockedError(
                f"{what} is being written by another motionbench process ({holders}). Wait for it to finish, "
                "or write to another directory with --out. (Shards of one run may share a directory: each "
                "--shard i/n once.)") from None
        if self.exclusive:
            note = f"{self.label}pid {os.getpid()} on {os.uname().nodename}, since {now_iso()}".encode()
            try:
                os.ftruncate(fd, 0)
                os.pwrite(fd, note, 0)
            except OSError:
                pass  # the note only improves a refusal message; a full disk must not stop the run here
        self.fd = fd

    def _holders(self) -> list[str]:
        """Notes of the live processes that may hold this lock: its own and, for the run lock, the shards'."""
        files = [self.path]
        if self.path.name == LOCK_FILE:  # held shared by shards, whose notes are in their own lock files
            files += sorted(self.path.parent.glob("run.shard-*.lock"))
        notes = []
        for file in files:
            try:
                note = file.read_text(encoding="utf-8", errors="replace").strip()
            except OSError:
                continue
            if note and _live_holder(note):
                notes.append(note)
        return notes

    def release(self) -> None:
        if self.fd is not None:
            if self.exclusive:
                try:
                    os.ftruncate(self.fd, 0)  # no stale note once the holder is gone
                except OSError:
                    pass
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
    def cache_dir(self) -> Path:
        return self.root / "cache"

    @property
    def states_dir(self) -> Path:
        return self.cache_dir / "states"

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
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"{self.root}: cannot create the run directory ({exc.strerror}); choose another "
                             "--out or fix the permissions of its parent") from None
        locks = [_Lock(self.root / LOCK_FILE, exclusive=shard is None)]
        if shard is not None:
            locks.append(_Lock(self.root / f"run.shard-{shard.index}-of-{shard.count}.lock", exclusive=True,
                               label=f"shard {shard}, "))
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
    def read_run_info(self) -> RunInfo | None:
        """The run's :class:`RunInfo`, or None when it has no run.json yet.

        Raises:
            RunInfoError: the file cannot be read, is not valid JSON or is not a run record (the message says
                what to do).
        """
        if not self.run_file.exists():
            return None
        try:
            data = json.loads(self.run_file.read_text(encoding="utf-8"))
        except OSError as exc:
            raise RunInfoError(f"{self.run_file} cannot be read ({exc.strerror or exc}); fix its permissions, or move "
                               "the run aside with --fresh") from None
        except ValueError as exc:  # not JSON, or not UTF-8 text at all (a damaged file)
            raise RunInfoError(f"{self.run_file} is not valid JSON ({exc}); move the run aside with --fresh") from None
        return RunInfo.from_json(data, self.run_file)

    def update_run_info(self, change: Callable[[RunInfo | None], RunInfo]) -> RunInfo:
        """Write ``change(current run info)`` to run.json atomically.

        Concurrent shards serialise on a separate short-lived lock, so each change sees the last.
        """
        fd = os.open(self.root / ".run.json.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            info = change(self.read_run_info())
            write_json_atomic(self.run_file, info.to_json())
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
