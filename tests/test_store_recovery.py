"""The results store after bad luck: torn JSONL lines, a full disk, replaced videos, stale locks.

Each test compares against an uninterrupted run of the same jobs: after recovery the store must say
what it would have said without the accident (same jobs, same statuses, the same scores up to
x264's re-encoding noise), with nothing duplicated and nothing made up.
"""

from __future__ import annotations

import errno
import os
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
