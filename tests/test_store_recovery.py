"""The results store after bad luck: torn JSONL lines, a full disk, replaced videos, stale locks.

Each test compares against an uninterrupted run of the same jobs: after recovery the store must say
what it would have said without the accident (same jobs, same statuses, the same scores up to
x264's re-encoding noise), with nothing duplicated and nothing made up.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import sys
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from runner_support import comparable, pixel_scorer, use_plugin, write_manifest  # noqa: E402

use_plugin()

from motionbench.errors import MotionBenchWarning, StoreError  # noqa: E402
from motionbench.run.execute import MethodChoice  # noqa: E402
from motionbench.run.jsonl import append_line  # noqa: E402
from motionbench.run.records import GenerationRecord, ScoreRecord, iter_records, to_json_line  # noqa: E402
from motionbench.run.runner import RunConfig, execute_run  # noqa: E402
from motionbench.run.scoring import jobs_to_score  # noqa: E402
from motionbench.run.store import RunStore  # noqa: E402

METHODS = ("static", "noise")


def _config(manifest: Path, out: Path) -> RunConfig:
    return RunConfig(methods=tuple(MethodChoice(m) for m in METHODS), out=out, manifest=manifest, device="cpu")


def _state(out: Path) -> tuple[dict, dict]:
    """(comparable latest generations, {score key: (status, value)}) of a run."""
    store = RunStore(out)
    gens = comparable(list(store.latest_generations().values()))  # without video_sha256: a redone video has new bytes
    scores = {(r.job, r.metric, r.variant, r.backend): (r.status, r.value) for r in store.score_records()}
    return gens, scores


def _same(got: tuple[dict, dict], want: tuple[dict, dict]) -> None:
    assert got[0] == want[0]
    assert got[1].keys() == want[1].keys()
    for key, (status, value) in want[1].items():
        assert got[1][key][0] == status and abs(got[1][key][1] - value) < 1.0, key  # pixel L1 on 0..255


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> tuple[Path, Path, tuple[dict, dict]]:
    root = tmp_path_factory.mktemp("store")
    manifest = write_manifest(root / "data", {"a": "ok", "b": "ok"})
    out = root / "whole"
    summary = execute_run(_config(manifest, out), scorer=pixel_scorer())
    assert summary.exit_code == 0 and summary.ok == 8
    return manifest, out, _state(out)


@pytest.mark.parametrize("name", ["generations.jsonl", "scores.jsonl"])
def test_truncated_at_random_offsets_then_rerun_twice_equals_the_uninterrupted_run(uninterrupted, tmp_path: Path,
                                                                                 name: str) -> None:
    manifest, whole, want = uninterrupted
    size = (whole / name).stat().st_size
    newline_ends = {i + 1 for i, b in enumerate((whole / name).read_bytes()) if b == ord("\n")}
    offsets = sorted(int(x) for x in np.random.default_rng(11).integers(1, size - 1, 3))
    assert any(o not in newline_ends for o in offsets)  # at least one cut tears a line
    for offset in offsets:
        out = tmp_path / f"cut-{offset}"
        shutil.copytree(whole, out)
        with open(out / name, "rb+") as fh:
            fh.truncate(offset)
        for attempt in range(2):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                summary = execute_run(_config(manifest, out), scorer=pixel_scorer())
            assert summary.exit_code == 0, [r.error for r in summary.failed]
            _same(_state(out), want)
            if attempt == 1:  # the second rerun has nothing left to do and warns of nothing
                assert summary.ok == 0 and summary.scoring.jobs_scored == 0
                assert not [w for w in caught if issubclass(w.category, MotionBenchWarning)]
        for file in ("generations.jsonl", "scores.jsonl"):
            data = (out / file).read_bytes()
            assert data.endswith(b"\n") and b"\n\n" not in data
            list(iter_records(out / file, GenerationRecord if file.startswith("gen") else ScoreRecord))  # no bad line
        per_job = Counter(r.job for r in RunStore(out).generation_records() if r.status == "ok")
        assert set(per_job.values()) == {1}  # no job was redone whose record survived


class _FullDisk:
    """``os.write`` to the store's JSONL files succeeds for ``budget`` bytes, then is short, then ENOSPC."""

    def __init__(self, budget: int) -> None:
        self.budget, self.real, self.hits = budget, os.write, 0

    def __call__(self, fd: int, data: bytes) -> int:
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            target = ""
        if not target.endswith(".jsonl"):
            return self.real(fd, data)
        if self.budget <= 0:
            self.hits += 1
            raise OSError(errno.ENOSPC, "No space left on device")
        if len(data) > self.budget:  # the kernel writes what fits and says how much
            self.hits += 1
            n, self.budget = self.real(fd, bytes(data[: self.budget])), 0
            return n
        self.budget -= len(data)
        return self.real(fd, data)


@pytest.mark.parametrize("budget", [0, 700, 3000, 6000])
def test_a_full_disk_stops_the_run_cleanly_and_the_rerun_finishes_the_rest(uninterrupted, tmp_path: Path,
                                                                         monkeypatch, budget: int) -> None:
    manifest, _, want = uninterrupted
    out = tmp_path / "run"
    full = _FullDisk(budget)
    monkeypatch.setattr(os, "write", full)
    with pytest.raises(StoreError, match=r"(?s)\.jsonl: appending a record failed .*disk is full.*run the same command"):
        execute_run(_config(manifest, out), scorer=pixel_scorer())
    assert full.hits >= 1
    monkeypatch.setattr(os, "write", full.real)
    for file in ("generations.jsonl", "scores.jsonl"):  # the failed append was taken back: no torn line
        data = (out / file).read_bytes() if (out / file).exists() else b""
        assert data == b"" or data.endswith(b"\n")
    summary = execute_run(_config(manifest, out), scorer=pixel_scorer())  # the lock was released
    assert summary.exit_code == 0
    _same(_state(out), want)


def _record(job: str) -> str:
    return to_json_line(GenerationRecord(job=job, method="m", sample="s", category="camera", prompt_index=0,
                                         prompt="p", seed=0, status="ok"))


def test_readers_skip_a_torn_last_line_and_name_any_other_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "generations.jsonl"
    a, b = _record("m/s/0-s0"), _record("m/s/0-s1")
    path.write_text(a + b[:40])
    with pytest.warns(MotionBenchWarning, match=r"generations.jsonl, line 2: unfinished last line \(40 bytes\)"):
        assert [r.job for r in iter_records(path, GenerationRecord)] == ["m/s/0-s0"]
    path.write_text(a + "{not json}\n" + b)
    with pytest.raises(StoreError, match=r"generations.jsonl, line 2: not a valid GenerationRecord .*fix or delete that line"):
        list(iter_records(path, GenerationRecord))
    path.write_text(a + '{"job": "x"}\n' + b)  # JSON, but not a record
    with pytest.raises(StoreError, match=r"line 2: not a valid GenerationRecord \(TypeError"):
        list(iter_records(path, GenerationRecord))
    path.write_text(a + "[1, 2]\n")
    with pytest.raises(StoreError, match=r"line 2: not a valid GenerationRecord \(TypeError: a JSON list"):
        list(iter_records(path, GenerationRecord))


def test_a_torn_last_line_is_never_read_as_a_record_wherever_the_write_stopped(tmp_path: Path) -> None:
    """A killed writer can stop anywhere in its line, including after the closing brace and before the
    newline: up to the newline the line is unfinished (a run may be writing it right now), so at every
    cut the readers see exactly the whole lines before it, and its job counts as not done."""
    store = RunStore(tmp_path / "run")
    store.root.mkdir(parents=True, exist_ok=True)
    a = _record("m/s/0-s0")
    b = to_json_line(GenerationRecord(job="m/s/0-s1", method="m", sample="s", category="camera", prompt_index=0,
                                      prompt="p", seed=1, status="ok", video="videos/m/s/0-s1.mp4", num_frames=9))
    for cut in range(1, len(b)):  # b[:len(b) - 1] is the whole object without its newline
        store.generations_file.write_text(a + b[:cut])
        with pytest.warns(MotionBenchWarning, match=r"line 2: unfinished last line"):
            assert list(store.latest_generations()) == ["m/s/0-s0"], cut
    store.generations_file.write_text(a + b)
    assert list(store.latest_generations()) == ["m/s/0-s0", "m/s/0-s1"]


def test_a_line_glued_by_an_older_version_is_read_and_appends_start_on_a_fresh_line(tmp_path: Path) -> None:
    path = tmp_path / "generations.jsonl"
    a, b, c = _record("m/s/0-s0"), _record("m/s/0-s1"), _record("m/s/0-s2")
    path.write_text(a + b[:55] + c)  # what the old appender left: a remnant glued to the next record
    with pytest.warns(MotionBenchWarning, match=r"line 2: an unfinished record \(55 bytes\) is glued to a whole one"):
        assert [r.job for r in iter_records(path, GenerationRecord)] == ["m/s/0-s0", "m/s/0-s2"]
    path.write_text(a + b[:55])  # a torn tail: the next append cuts it off and starts on a fresh line
    with pytest.warns(MotionBenchWarning, match=r"removed an unfinished last line \(55 bytes"):
        append_line(path, c)
    assert path.read_text() == a + c
    path.write_text(a + b.rstrip("\n"))  # a whole record missing its newline (an editor) is kept
    append_line(path, c)
    assert path.read_text() == a + b + c


# A method that is not deterministic: each call brightens the reference by 20 more than the last.
COUNTING_TOOL = """
import sys
from pathlib import Path
from motionbench.video import read_video, write_video
ref, out, counter = sys.argv[1:4]
n = int(Path(counter).read_text()) + 1 if Path(counter).exists() else 0
Path(counter).write_text(str(n))
clip = read_video(ref)
write_video(out, (clip.frames.astype(int) * 0 + 20 * n + 40).clip(0, 255).astype("uint8"), clip.fps)
"""


def test_a_regenerated_video_is_scored_anew_and_its_old_scores_count_for_nothing(tmp_path: Path) -> None:
    from motionbench.report.runs import load_run

    manifest = write_manifest(tmp_path / "data", {"a": "ok"}, prompts=("p",))
    tool = tmp_path / "tool.py"
    tool.write_text(COUNTING_TOOL)
    choice = MethodChoice("external", (f"command={sys.executable} {tool} {{reference}} {{output}} {tmp_path / 'n'}",))
    cfg = RunConfig(methods=(choice,), out=tmp_path / "run", manifest=manifest, device="cpu")
    execute_run(cfg, scorer=pixel_scorer())
    store = RunStore(tmp_path / "run")
    job = "external/a/0-s0"
    old = store.latest_generations()[job]
    (old_score,) = [r for r in store.score_records() if r.job == job]
    assert old_score.video_sha256 == old.video_sha256
    # The video goes bad (a disk error, a user's edit): the rerun makes a new, different one.
    store.video_path(old).write_bytes(b"not a video any more")
    summary = execute_run(cfg, scorer=pixel_scorer())
    assert summary.ok == 1 and summary.scoring.jobs_scored == 1  # the new video is scored, not the old score kept
    new = store.latest_generations()[job]
    assert new.status == "ok" and new.video_sha256 != old.video_sha256
    scores = [r for r in store.score_records() if r.job == job]
    assert [r.video_sha256 for r in scores] == [old.video_sha256, new.video_sha256]
    assert abs(scores[1].value - scores[0].value) > 10  # really the other video's value
    assert load_run(tmp_path / "run").scores[(job, "pixel_l1", "")].value == scores[1].value
    # Were the new score lost (a torn scores.jsonl), the old one would not stand in for it.
    (tmp_path / "run" / "scores.jsonl").write_text(to_json_line(scores[0]))
    todo, _ = jobs_to_score(store, pixel_scorer().outputs())
    assert [r.job for r in todo] == [job]
    report = load_run(tmp_path / "run")
    assert (job, "pixel_l1", "") not in report.scores
    assert any("1 score(s) of videos since regenerated or replaced are left out" in w for w in report.warnings)
    # One ok record per job in the store's view, the new one.
    assert [r.video_sha256 for r in store.latest_generations().values()] == [new.video_sha256]


# --- stale and misleading state ---------------------------------------------------------------

LOCK_AND_DIE = """
import os, sys, time
from motionbench.run.store import RunStore
RunStore(sys.argv[1]).lock()
print(os.getpid(), flush=True)
time.sleep(60)
"""


def test_the_lock_refusal_names_the_live_holder_not_a_dead_pid(tmp_path: Path) -> None:
    import subprocess

    from motionbench.run.plan import Shard
    from motionbench.run.store import RunLockedError

    run = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-c", LOCK_AND_DIE, str(run)], stdout=subprocess.PIPE, text=True)
    dead = int(proc.stdout.readline())
    proc.kill()  # SIGKILL: no cleanup, its note stays in run.lock
    proc.wait()
    assert f"pid {dead} " in (run / "run.lock").read_text()
    shard = RunStore(run)
    shard.lock(Shard(0, 2))  # a live shard holds the run lock shared
    with pytest.raises(RunLockedError) as refused:
        RunStore(run).lock()
    assert f"shard 0/2, pid {os.getpid()} on " in str(refused.value) and f"pid {dead} " not in str(refused.value)
    shard.unlock()
    alone = RunStore(run)
    alone.lock()
    with pytest.raises(RunLockedError, match=rf"\(pid {os.getpid()} on "):
        RunStore(run).lock(Shard(1, 2))
    alone.unlock()
    assert (run / "run.lock").read_text() == ""  # released: no note left to mislead


def _cli(*args: str):
    from typer.testing import CliRunner

    from motionbench.cli import app

    return CliRunner().invoke(app, list(args))


def test_an_unwritable_out_is_a_clear_error(uninterrupted, tmp_path: Path) -> None:
    manifest, _, _ = uninterrupted
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = _cli("run", "--method", "static", "--manifest", str(manifest), "--out", str(blocker / "run"),
                  "--device", "cpu", "--no-score")
    assert isinstance(result.exception, StoreError), result.exception
    assert f"{blocker / 'run'}: cannot create the run directory" in str(result.exception) and "--out" in str(result.exception)


def test_a_report_that_cannot_be_written_is_a_clear_error(uninterrupted, tmp_path: Path) -> None:
    from motionbench.errors import MotionBenchError

    _, whole, _ = uninterrupted
    run = tmp_path / "run"
    shutil.copytree(whole, run)
    (run / "report.html").mkdir()  # the default HTML target cannot be a file here
    result = _cli("report", str(run), "--format", "html")
    assert isinstance(result.exception, MotionBenchError) and not isinstance(result.exception, OSError)
    assert f"{run / 'report.html'}: cannot write the report there" in str(result.exception)
    (run / "nope").mkdir()
    (run / "nope" / "x.md").write_text("a file, not a folder")
    result = _cli("report", str(run), "--format", "md", "--out", str(run / "nope" / "x.md" / "y.md"))
    assert isinstance(result.exception, MotionBenchError) and "cannot write the report there" in str(result.exception)


def test_a_report_into_a_read_only_run_is_a_clear_error(uninterrupted, tmp_path: Path) -> None:
    from motionbench.errors import MotionBenchError

    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders; the test above takes the same path with a folder in the way")
    _, whole, _ = uninterrupted
    run = tmp_path / "run"
    shutil.copytree(whole, run)
    run.chmod(0o555)
    try:
        result = _cli("report", str(run), "--format", "html")
    finally:
        run.chmod(0o755)
    assert isinstance(result.exception, MotionBenchError) and "cannot write the report there" in str(result.exception)


def test_a_new_jsonl_file_is_readable_by_everyone_writable_by_its_owner(tmp_path):
    import stat

    from motionbench.run.jsonl import append_line

    umask = os.umask(0o022)
    try:
        append_line(tmp_path / "records.jsonl", '{"a": 1}\n')
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "records.jsonl").stat().st_mode) == 0o644


def test_appending_to_a_whole_file_repairs_nothing_and_warns_nothing(tmp_path):
    from motionbench.run.jsonl import append_line

    path = tmp_path / "records.jsonl"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a "removed an unfinished last line" warning here would be false
        for i in range(3):
            append_line(path, f'{{"i": {i}}}\n')
    assert path.read_text() == '{"i": 0}\n{"i": 1}\n{"i": 2}\n'


def test_motion_transfer_lines_leave_out_the_task_fields_other_tasks_keep_them():
    import json

    plain = json.loads(_record("m/s/0-s0"))
    assert not {"task", "path_index", "path", "path_key", "method_info"} & plain.keys()  # lines as before tasks
    recap = json.loads(to_json_line(GenerationRecord(job="j", method="m", sample="s", category="camera",
                                                     prompt_index=0, prompt="p", seed=0, status="ok",
                                                     task="recapture", path_index=2)))
    assert (recap["task"], recap["path_index"]) == ("recapture", 2)
    assert "path" not in recap and "path_key" not in recap


# --- the store's own refusals and repairs, one at a time ---------------------------------------


def _hold(path: Path, note: str) -> int:
    """Hold ``path`` exclusively as another motionbench process would, with ``note`` as its holder note.

    flock conflicts between open file descriptions, so a second open in this process stands in for
    another process."""
    import fcntl

    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.ftruncate(fd, 0)
    os.pwrite(fd, note.encode(), 0)
    return fd


def _release(fd: int) -> None:
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


def test_the_refusal_names_a_holder_only_when_it_may_be_alive(tmp_path: Path, monkeypatch) -> None:
    """A note that names no pid is not shown; a pid of another host, or of a process that exists but
    belongs to another user (``kill(pid, 0)`` says EPERM), may be the live holder and is named."""
    from motionbench.run.store import RunLockedError

    run = tmp_path / "run"
    run.mkdir()
    here = os.uname().nodename
    fd = _hold(run / "run.lock", "locked by hand")
    try:
        with pytest.raises(RunLockedError, match=r"another motionbench process \(its pid is not recorded\)\. Wait"):
            RunStore(run).lock()
    finally:
        _release(fd)
    note = f"pid 4242 on not-{here}.example, since 2024-01-01T00:00:00Z"
    fd = _hold(run / "run.lock", note)
    try:
        with pytest.raises(RunLockedError) as refused:
            RunStore(run).lock()
        assert f"({note})" in str(refused.value)
        real_kill = os.kill

        def kill(pid: int, sig: int) -> None:  # pid 1 as a non-root user sees it
            if pid == 1:
                raise PermissionError(errno.EPERM, "Operation not permitted")
            real_kill(pid, sig)

        monkeypatch.setattr(os, "kill", kill)
        other_user = f"pid 1 on {here}, since 2024-01-01T00:00:00Z"
        _release(fd)
        fd = _hold(run / "run.lock", other_user)
        with pytest.raises(RunLockedError) as refused:
            RunStore(run).lock()
        assert f"({other_user})" in str(refused.value)
    finally:
        _release(fd)
    store = RunStore(run)  # none of the refusals left a lock behind
    store.lock()
    store.unlock()


def test_an_unreadable_shard_note_does_not_hide_the_live_shard(tmp_path: Path) -> None:
    from motionbench.run.plan import Shard
    from motionbench.run.store import RunLockedError

    run = tmp_path / "run"
    run.mkdir()
    (run / "run.shard-0-of-1.lock").mkdir()  # sorts before the live shard's file and cannot be read
    shard = RunStore(run)
    shard.lock(Shard(0, 2))
    try:
        with pytest.raises(RunLockedError, match=rf"\(shard 0/2, pid {os.getpid()} on "):
            RunStore(run).lock()
    finally:
        shard.unlock()


def test_a_lock_file_that_cannot_be_opened_is_a_clear_error_and_holds_nothing(tmp_path: Path) -> None:
    from motionbench.run.plan import Shard

    run = tmp_path / "run"
    (run / "run.shard-1-of-2.lock").mkdir(parents=True)  # something in the way of the shard's lock file
    with pytest.raises(StoreError, match=rf"^{re.escape(str(run))}: cannot write the run directory \(Is a directory\); "
                                         r"choose another --out or fix its permissions$"):
        RunStore(run).lock(Shard(1, 2))
    alone = RunStore(run)  # the run lock taken before the failure was let go
    alone.lock()
    alone.unlock()
    (run / "run.lock").unlink()
    (run / "run.lock").mkdir()
    with pytest.raises(StoreError, match=rf"^{re.escape(str(run))}: cannot write the run directory \(Is a directory\)"):
        RunStore(run).lock()


def test_a_lock_whose_note_cannot_be_written_still_locks_and_always_unlocks(tmp_path: Path, monkeypatch) -> None:
    """The holder note only improves refusals: a full disk neither stops the run at its lock nor, at
    the end, keeps the lock held."""
    from motionbench.run.store import RunLockedError

    run = tmp_path / "run"
    store = RunStore(run)

    def full(*args) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(os, "pwrite", full)
        store.lock()
    with pytest.raises(RunLockedError, match=r"\(its pid is not recorded\)"):
        RunStore(run).lock()
    with monkeypatch.context() as m:
        m.setattr(os, "ftruncate", full)
        store.unlock()
    again = RunStore(run)
    again.lock()
    again.unlock()


def test_archives_of_a_taken_name_are_numbered_from_one(tmp_path: Path, monkeypatch) -> None:
    """``--fresh`` twice in one second: the first archive of a taken name is ``<name>-1``, then ``-2``;
    no archive overwrites or merges into another."""
    import time

    fixed = time.gmtime(1_700_000_000)
    monkeypatch.setattr(time, "gmtime", lambda *secs: fixed)
    stamp = time.strftime("%Y%m%d-%H%M%S", fixed)
    run = tmp_path / "run"
    assert RunStore(run).move_aside() is None and not run.exists()  # nothing to move: nothing made either
    taken = tmp_path / f"run.old-{stamp}"
    taken.mkdir()
    (taken / "mark").write_text("first archive")
    moved = []
    for i in (1, 2):
        run.mkdir()
        (run / "mark").write_text(f"run {i}")
        moved.append(RunStore(run).move_aside())
        assert not run.exists()
    assert [p.name for p in moved] == [f"run.old-{stamp}-1", f"run.old-{stamp}-2"]
    assert [(p / "mark").read_text() for p in (taken, *moved)] == ["first archive", "run 1", "run 2"]


def test_lock_files_are_created_rw_r_r_under_the_users_umask(tmp_path: Path) -> None:
    """Lock files are made 0o644 (anyone may read the holder note, only the owner writes), filtered by
    the umask like every file: a permissive umask 0 does not make them world-writable, a strict one is
    obeyed."""
    import stat

    from motionbench.run.info import RunInfo
    from motionbench.run.plan import Shard

    for umask, want in ((0o000, 0o644), (0o027, 0o640)):
        run = tmp_path / f"umask-{umask:03o}"
        old = os.umask(umask)
        try:
            with RunStore(run).locked():
                RunStore(run).update_run_info(lambda info: RunInfo())
            with RunStore(run).locked(Shard(0, 2)):
                pass
            append_line(run / "generations.jsonl", _record("m/s/0-s0"))
        finally:
            os.umask(old)
        modes = {p.name: stat.S_IMODE(p.stat().st_mode)
                 for p in (run / "run.lock", run / "run.shard-0-of-2.lock", run / ".run.json.lock",
                           run / "generations.jsonl")}
        assert modes == dict.fromkeys(modes, want), umask


def test_a_run_json_that_cannot_be_read_is_a_clear_error_and_is_left_alone(tmp_path: Path) -> None:
    from motionbench.report.runs import ReportError, load_run
    from motionbench.run.info import RunInfo, RunInfoError

    store = RunStore(tmp_path / "run")
    store.root.mkdir()
    where = re.escape(str(store.run_file))
    for damage in (b'{"schema": 2, "settings": {', b"\xff\xfe\x00\x81 not text"):
        store.run_file.write_bytes(damage)
        with pytest.raises(RunInfoError, match=rf"^{where} is not valid JSON \(.+\); move the run aside with --fresh$"):
            store.read_run_info()
        with pytest.raises(RunInfoError):  # never overwritten: a change to it needs a readable file
            store.update_run_info(lambda info: RunInfo())
        assert store.run_file.read_bytes() == damage
        with pytest.raises(ReportError, match=rf"^{where}: not valid JSON .+; restore it or delete it"):
            load_run(store.root)  # the report says the same, not a traceback
    store.run_file.unlink()
    store.run_file.mkdir()
    with pytest.raises(RunInfoError, match=rf"^{where} cannot be read \(Is a directory\); fix its permissions"):
        store.read_run_info()
    with pytest.raises(ReportError, match=rf"^{where}: cannot be read \(Is a directory\); fix its permissions"):
        load_run(store.root)


def test_a_json_file_that_cannot_be_replaced_is_a_clear_error_and_leaves_no_temporary(tmp_path: Path) -> None:
    from motionbench.run.store import write_json_atomic

    target = tmp_path / "run.json"
    (target / "in-the-way").mkdir(parents=True)  # a folder where the file goes: the rename fails
    with pytest.raises(StoreError, match=rf"^{re.escape(str(target))}: cannot be written \(Is a directory\); free disk "
                                         "space or fix the folder's permissions, then run the same command again$"):
        write_json_atomic(target, {"a": 1})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json"]  # no .run.json.<pid>.partial left
    with pytest.raises(StoreError, match=r"missing/run.json: cannot be written \(No such file or directory\)"):
        write_json_atomic(tmp_path / "missing" / "run.json", {"a": 1})


def test_a_job_counts_as_finished_only_with_a_whole_video_of_the_recorded_length(tmp_path: Path) -> None:
    from motionbench.video import write_video

    store = RunStore(tmp_path / "run")
    write_video(store.root / "videos" / "m" / "s" / "0-s0.mp4", np.zeros((5, 16, 16, 3), np.uint8), 8.0)

    def ok(job: str, video: str | None, frames: int | None) -> GenerationRecord:
        return GenerationRecord(job=job, method="m", sample="s", category="camera", prompt_index=0, prompt="p",
                                seed=0, status="ok", video=video, num_frames=frames)

    for record in (ok("no-video", None, None), ok("short", "videos/m/s/0-s0.mp4", 9),
                   ok("missing", "videos/m/s/1-s0.mp4", 5), ok("whole", "videos/m/s/0-s0.mp4", 5),
                   ok("length-unknown", "videos/m/s/0-s0.mp4", None)):
        store.append_generation(record)
    assert sorted(store.finished_jobs()) == ["length-unknown", "whole"]


def test_append_line_refuses_a_partial_line_and_a_file_it_cannot_open(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    with pytest.raises(ValueError, match="append_line needs a line ending in a newline"):
        append_line(path, '{"a": 1}')
    assert not path.exists()  # refused before anything was written
    path.mkdir()
    with pytest.raises(StoreError, match=rf"^{re.escape(str(path))}: cannot open for appending \(Is a directory\); check the "
                                         "folder's permissions$"):
        append_line(path, '{"a": 1}\n')


def _faults_on(path: Path, monkeypatch, **faults) -> None:
    """Replace ``os.<name>(fd, arg)`` by ``faults[name](real, fd, arg)`` for ``path``'s descriptors only."""

    def ours(fd: int) -> bool:
        try:
            return os.readlink(f"/proc/self/fd/{fd}") == str(path)
        except OSError:
            return False

    for name, fault in faults.items():
        real = getattr(os, name)
        monkeypatch.setattr(os, name, lambda fd, arg, real=real, fault=fault: fault(real, fd, arg) if ours(fd)
                            else real(fd, arg))


def _fails_with(code: int):
    def fault(real, fd, arg):
        raise OSError(code, os.strerror(code))
    return fault


def test_a_failed_append_says_which_failure_and_a_torn_line_it_could_not_take_back_is_cut_later(
        tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "generations.jsonl"
    a, b, c = _record("m/s/0-s0"), _record("m/s/0-s1"), _record("m/s/0-s2")
    path.write_text(a)
    for code, hint in ((errno.ENOSPC, "the disk is full: free some space"),
                       (errno.EDQUOT, "the disk is full: free some space"), (errno.EIO, "fix this")):
        with monkeypatch.context() as m:
            _faults_on(path, m, write=_fails_with(code))
            with pytest.raises(StoreError, match=rf"appending a record failed \({os.strerror(code)}\); {hint} and run"):
                append_line(path, b)
        assert path.read_text() == a
    # A short write whose take-back fails too: the error is the write's; the torn line stays until the
    # reader skips it and the next append cuts it off.
    with monkeypatch.context() as m:
        _faults_on(path, m, write=lambda real, fd, data: real(fd, data[:30]), ftruncate=_fails_with(errno.EIO))
        with pytest.raises(StoreError, match=r"appending a record failed \(short write \(30 of \d+ bytes\)\); the disk is full"):
            append_line(path, b)
    assert path.read_text() == a + b[:30]
    with pytest.warns(MotionBenchWarning, match=r"line 2: unfinished last line \(30 bytes\)"):
        assert [r.job for r in iter_records(path, GenerationRecord)] == ["m/s/0-s0"]
    with pytest.warns(MotionBenchWarning, match=r"removed an unfinished last line \(30 bytes"):
        append_line(path, c)
    assert path.read_text() == a + c


def test_a_torn_tail_is_found_however_long_and_wherever_the_file_starts(tmp_path: Path) -> None:
    """The appender scans back for the last newline in 64 KiB chunks: a torn line longer than one chunk
    is cut whole, and a file that is one torn line (no newline at all) is cut to nothing."""
    path = tmp_path / "generations.jsonl"
    a, c = _record("m/s/0-s0"), _record("m/s/0-s2")
    long = to_json_line(GenerationRecord(job="m/s/0-s1", method="m", sample="s", category="camera", prompt_index=0,
                                         prompt="x" * 150_000, seed=1, status="ok"))
    torn = long[:140_000]
    for before in (a, a * 3, ""):
        path.write_text(before + torn)
        with pytest.warns(MotionBenchWarning, match=r"removed an unfinished last line \(140000 bytes"):
            append_line(path, c)
        assert path.read_text() == before + c
    path.write_text(a + long.rstrip("\n"))  # a whole long record that only lacks its newline is kept
    append_line(path, c)
    assert [r.job for r in iter_records(path, GenerationRecord)] == ["m/s/0-s0", "m/s/0-s1", "m/s/0-s2"]


def test_a_glued_line_is_read_past_a_remnant_that_holds_an_object_of_its_own(tmp_path: Path) -> None:
    """The remnant of an interrupted record can itself contain ``{"`` (a nested field such as
    ``method_config``): the reader tries each start in turn until the whole record after it. Blank lines
    are no records and no errors."""
    path = tmp_path / "generations.jsonl"
    nested = to_json_line(GenerationRecord(job="m/s/0-s1", method="m", sample="s", category="camera", prompt_index=0,
                                           prompt="p", seed=1, status="ok", method_config={"model": "tiny", "steps": 2}))
    cut = nested.index('"steps"') + 4  # inside the nested object: its '{"' is in the remnant
    a, c = _record("m/s/0-s0"), _record("m/s/0-s2")
    path.write_text(a + "\n" + nested[:cut] + c)
    with pytest.warns(MotionBenchWarning, match=rf"line 3: an unfinished record \({cut} bytes\) is glued to a whole one"):
        assert [r.job for r in iter_records(path, GenerationRecord)] == ["m/s/0-s0", "m/s/0-s2"]
    path.write_text(a + nested[:cut] + '{"job": "half\n')  # nothing whole after the remnant: a bad line
    with pytest.raises(StoreError, match=r"line 2: not a valid GenerationRecord"):
        list(iter_records(path, GenerationRecord))


def test_a_torn_tail_warning_quotes_the_remnants_first_60_bytes_and_points_at_the_appender(tmp_path: Path) -> None:
    """The warning says how big the removed remnant was and how it starts (its first 60 bytes, so a torn
    100 KiB record does not flood the log), attributed to the code that asked for the append."""
    path = tmp_path / "generations.jsonl"
    a, b, c = _record("m/s/0-s0"), _record("m/s/0-s1"), _record("m/s/0-s2")
    torn = b[:100]
    path.write_text(a + torn)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        append_line(path, c)
    assert len(caught) == 1
    message = str(caught[0].message)
    assert f"removed an unfinished last line (100 bytes, starting {torn.encode()[:60]!r}) left by an interrupted write" \
        in message
    assert caught[0].filename == __file__  # the caller of append_line, not motionbench's own jsonl.py
    assert path.read_text() == a + c


def test_a_record_with_a_non_finite_number_is_refused_not_written_as_non_standard_json(tmp_path: Path) -> None:
    """Every line of the store is standard JSON that any tool can read (jq, pandas, a browser):
    NaN or infinity has no JSON form, so such a record is refused and nothing is appended."""
    from motionbench.metrics.api import ScoreValue

    store = RunStore(tmp_path / "run")
    store.root.mkdir()
    generation = GenerationRecord(job="m/s/0-s0", method="m", sample="s", category="camera", prompt_index=0,
                                  prompt="p", seed=0, status="ok")
    for bad in (float("nan"), float("inf")):
        value = ScoreValue(metric="pixel_l1", variant="", status="ok", value=bad, version="1", backend="b",
                           convention="c", higher_is_better=False)
        with pytest.raises(ValueError, match="not JSON compliant"):
            store.append_score(ScoreRecord.of(generation, value))
    assert not store.scores_file.exists() or store.scores_file.read_text() == ""


def test_a_refused_shard_names_its_own_live_holder_once_and_not_the_other_shards(tmp_path: Path) -> None:
    """Running shard 0/2 twice is refused naming shard 0/2's process; shard 1/2, running beside it by
    right, is not blamed (only the shared run lock gathers the shards' notes)."""
    from motionbench.run.plan import Shard
    from motionbench.run.store import RunLockedError

    run = tmp_path / "run"
    first, other = RunStore(run), RunStore(run)
    first.lock(Shard(0, 2))
    other.lock(Shard(1, 2))
    try:
        with pytest.raises(RunLockedError) as refused:
            RunStore(run).lock(Shard(0, 2))
        message = str(refused.value)
        assert message.count(f"shard 0/2, pid {os.getpid()} on ") == 1
        assert "shard 1/2, pid" not in message
    finally:
        other.unlock()
        first.unlock()


def test_a_refusal_says_whether_the_shard_or_the_whole_run_is_taken(tmp_path: Path) -> None:
    """The same shard twice: "<run> (shard i/n) is being written"; a shard beside an unsharded run: the
    whole "<run> is being written" (the shard itself is free)."""
    from motionbench.run.plan import Shard
    from motionbench.run.store import RunLockedError

    run = tmp_path / "run"
    shard = RunStore(run)
    shard.lock(Shard(1, 2))
    try:
        with pytest.raises(RunLockedError, match=rf"^{re.escape(str(run))} \(shard 1/2\) is being written by another"):
            RunStore(run).lock(Shard(1, 2))
    finally:
        shard.unlock()
    whole = RunStore(run)
    whole.lock()
    try:
        with pytest.raises(RunLockedError, match=rf"^{re.escape(str(run))} is being written by another"):
            RunStore(run).lock(Shard(1, 2))
    finally:
        whole.unlock()


def test_a_store_shows_as_its_root_whether_locked_or_not(tmp_path: Path) -> None:
    """``repr`` (a log line, a debugger, a notebook) names the run directory; the locks it holds are
    internal state, not shown (they would print object addresses that change from run to run)."""
    store = RunStore(tmp_path / "run")
    assert repr(store) == f"RunStore(root={tmp_path / 'run'!r})"
    with store.locked():
        assert repr(store) == f"RunStore(root={tmp_path / 'run'!r})"


def test_a_line_that_spells_out_the_motion_transfer_task_is_rewritten_without_it(tmp_path: Path) -> None:
    """The task read from a line (or a command line) is an equal string, not the constant itself: a
    motion-transfer record still gets the line it had before tasks existed."""
    import json

    path = tmp_path / "generations.jsonl"
    spelled = json.loads(_record("m/s/0-s0"))
    spelled["task"] = "motion_transfer"  # an older tool, or a hand edit, wrote the default out
    path.write_text(json.dumps(spelled) + "\n")
    (record,) = iter_records(path, GenerationRecord)
    assert record.task == "motion_transfer"
    assert to_json_line(record) == _record("m/s/0-s0")


def test_a_records_line_lists_its_fields_in_sorted_order() -> None:
    """Lines do not depend on the order fields are declared in (adding a field moves no other key)."""
    import json

    from motionbench.metrics.api import ScoreValue

    gen = json.loads(_record("m/s/0-s0"))
    assert list(gen) == sorted(gen) and {"job", "status", "fit_cached"} <= gen.keys()
    rec = GenerationRecord(job="m/s/0-s0", method="m", sample="s", category="camera", prompt_index=0,
                           prompt="p", seed=0, status="ok")
    score = json.loads(to_json_line(ScoreRecord.of(rec, ScoreValue(
        metric="m", variant="v", status="ok", value=0.5, version="1", backend="b", convention="c",
        higher_is_better=True))))
    assert list(score) == sorted(score) and {"job", "metric", "value"} <= score.keys()


def test_a_line_without_fit_cached_reads_as_tuned_in_this_run(tmp_path: Path) -> None:
    """Older lines, and records built without it, say the fitted state was not taken from the cache
    (else the report would call their tuning time unmeasured)."""
    import json

    line = json.loads(_record("m/s/0-s0"))
    assert line["fit_cached"] is False
    del line["fit_cached"]
    path = tmp_path / "generations.jsonl"
    path.write_text(json.dumps(line) + "\n")
    (record,) = iter_records(path, GenerationRecord)
    assert record.fit_cached is False


def test_a_tail_of_zero_bytes_left_by_a_crash_is_cut_before_the_next_append(tmp_path: Path) -> None:
    """A crash can leave the file's end zero-filled (bytes that sort below a newline): the append
    removes it and starts on a fresh line, so no record is glued to garbage."""
    path = tmp_path / "generations.jsonl"
    a, b = _record("m/s/0-s0"), _record("m/s/0-s1")
    for tail in (b"\x00" * 7, b[:30].encode() + b"\x00\x00", b"\t"):
        path.write_bytes(a.encode() + tail)
        with pytest.warns(MotionBenchWarning, match=rf"removed an unfinished last line \({len(tail)} bytes"):
            append_line(path, b)
        assert path.read_text() == a + b
        assert [r.job for r in iter_records(path, GenerationRecord)] == ["m/s/0-s0", "m/s/0-s1"]


def test_an_unfinished_last_line_warning_points_at_the_code_that_reads_the_records(tmp_path: Path) -> None:
    path = tmp_path / "generations.jsonl"
    a, b = _record("m/s/0-s0"), _record("m/s/0-s1")
    path.write_text(a + b[:40])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        jobs = []
        for r in iter_records(path, GenerationRecord):  # read here, in this frame (not a comprehension's)
            jobs.append(r.job)
    assert jobs == ["m/s/0-s0"]
    assert len(caught) == 1 and "unfinished last line (40 bytes)" in str(caught[0].message)
    assert caught[0].filename == __file__  # the reader, not motionbench's jsonl.py nor pytest's frames


def test_a_glued_line_warning_points_at_the_code_that_reads_the_records(tmp_path: Path) -> None:
    """Like the unfinished-last-line warning, the glued-line one names the reader's frame (the loop over
    the records), not motionbench's jsonl.py nor a frame above the reader."""
    path = tmp_path / "generations.jsonl"
    a, b, c = _record("m/s/0-s0"), _record("m/s/0-s1"), _record("m/s/0-s2")
    path.write_text(a + b[:55] + c)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        jobs = []
        for r in iter_records(path, GenerationRecord):  # read here, in this frame
            jobs.append(r.job)
    assert jobs == ["m/s/0-s0", "m/s/0-s2"]
    assert len(caught) == 1 and "glued to a whole one" in str(caught[0].message)
    assert caught[0].filename == __file__


def test_a_job_whose_last_record_is_an_error_is_not_finished_even_with_a_whole_video(tmp_path: Path) -> None:
    from motionbench.video import write_video

    store = RunStore(tmp_path / "run")
    write_video(store.root / "videos" / "m" / "s" / "0-s0.mp4", np.zeros((5, 16, 16, 3), np.uint8), 8.0)

    def rec(job: str, status: str) -> GenerationRecord:
        return GenerationRecord(job=job, method="m", sample="s", category="camera", prompt_index=0, prompt="p",
                                seed=0, status=status, video="videos/m/s/0-s0.mp4", num_frames=5)

    for record in (rec("failed-after-ok", "ok"), rec("failed-after-ok", "error"), rec("failed", "error"),
                   rec("ok-after-failure", "error"), rec("ok-after-failure", "ok")):
        store.append_generation(record)
    assert sorted(store.finished_jobs()) == ["ok-after-failure"]


def test_an_append_after_a_whole_record_ending_in_a_tab_starts_a_new_line(tmp_path: Path) -> None:
    """A whole last record needs no repair, but the new line still starts after a newline, whatever
    white space (here a tab, which sorts before the newline) the record ends with."""
    path = tmp_path / "scores.jsonl"
    path.write_bytes(b'{"a": 1}\t')
    append_line(path, '{"b": 2}\n')
    assert path.read_bytes() == b'{"a": 1}\t\n{"b": 2}\n'


def test_a_bad_line_error_quotes_the_first_200_characters_of_the_problem(tmp_path: Path) -> None:
    from motionbench.run.jsonl import read_lines

    path = tmp_path / "x.jsonl"
    path.write_text('{"k": 1}\n')
    problem = "ValueError: " + "".join(chr(ord("a") + i % 26) for i in range(300))

    def parse(_obj):
        raise ValueError(problem[len("ValueError: "):])

    with pytest.raises(StoreError) as err:
        list(read_lines(path, parse))
    assert f"({problem[:200]})" in str(err.value)


def test_a_lock_held_on_another_host_counts_as_live_whatever_the_host_name(tmp_path: Path) -> None:
    """The holder's pid cannot be checked from another host, so the lock is taken as held; a pid that
    does not exist here proves the host, not the process, decided it."""
    from motionbench.run.store import _live_holder

    here = os.uname().nodename
    for host in ("0" + here, "~" + here):  # sorting before and after this host's name
        assert _live_holder(f"pid {2 ** 30} on {host}, since 2026-12-02T00:00:00Z")
    assert not _live_holder(f"pid {2 ** 30} on {here}, since 2026-12-02T00:00:00Z")
