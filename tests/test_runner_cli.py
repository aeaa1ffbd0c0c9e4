"""`motionbench run` as a real subprocess: SIGKILL and resume, a third-party plugin, refusals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from runner_support import REPO, subprocess_env, write_manifest  # noqa: E402

from motionbench.run.records import GenerationRecord, iter_records  # noqa: E402
from motionbench.run.store import RunStore  # noqa: E402
from motionbench.video import read_video  # noqa: E402


def motionbench(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "motionbench", *args], cwd=REPO, env=subprocess_env(),
                          capture_output=True, text=True, timeout=300, **kw)


def finished_lines(path: Path) -> list[GenerationRecord]:
    return list(iter_records(path, GenerationRecord)) if path.exists() else []


def test_sigkill_partway_then_rerun_finishes_the_rest_only(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "data", {"a": "ok", "b": "ok", "c": "ok"})
    log, out = tmp_path / "generate.log", tmp_path / "run"
    args = ["run", "--method", "slowref", "--method-opt", "delay=0.25", "--method-opt", f"log={log}",
            "--manifest", str(manifest), "--seeds", "0,1", "--out", str(out), "--device", "cpu", "--no-score"]
    proc = subprocess.Popen([sys.executable, "-m", "motionbench", *args], cwd=REPO, env=subprocess_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while len(finished_lines(out / "generations.jsonl")) < 4:
        assert proc.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = {r.job for r in finished_lines(out / "generations.jsonl")}
    assert 4 <= len(done_before) < 12
    generated_before = log.read_text().count("generate")

    rerun = motionbench(*args)
    assert rerun.returncode == 0, rerun.stderr
    records = finished_lines(out / "generations.jsonl")
    per_job = Counter(r.job for r in records if r.status == "ok")
    assert len(per_job) == 12 and set(per_job.values()) == {1}  # every job exactly one finished record
    store = RunStore(out)
    for rec in records:
        assert read_video(store.video_path(rec)).num_frames == 9
    # No finished job was generated again: the rerun generated exactly the jobs without a record.
    after = log.read_text().splitlines()[generated_before:]
    redone = {f"slowref/{line.split()[1]}" for line in after}
    assert redone == {f"slowref/{s}/{p}-s{seed}" for s in "abc" for p in (0, 1) for seed in (0, 1)} - done_before
    assert not list(out.glob("videos/**/.*partial*"))


def test_third_party_method_runs_through_its_entry_point(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "data", {"a": "ok"})
    listing = motionbench("methods")
    assert listing.returncode == 0 and "fitcount" in listing.stdout and "Test plugin: fits" in listing.stdout
    options = motionbench("methods", "fitcount")
    assert "gain: float = 1.0" in options.stdout and "brightness: int = 0" in options.stdout
    result = motionbench("run", "--method", "fitcount", "--method", "reference", "--method-opt", "fitcount.brightness=7",
                         "--manifest", str(manifest), "--out", str(tmp_path / "run"), "--device", "cpu", "--no-score")
    assert result.returncode == 0, result.stderr
    recs = RunStore(tmp_path / "run").latest_generations()
    assert recs["fitcount/a/1-s0"].status == "ok" and recs["fitcount/a/1-s0"].method_config["brightness"] == 7
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["settings"]["methods"]["fitcount"] == {"gain": 1.0, "brightness": 7, "log": ""}


def _listing(command: str) -> subprocess.CompletedProcess:
    """``motionbench COMMAND`` in a fresh interpreter, printing which of the implementation modules it imported."""
    watched = ("mb_test_plugin.methods", "mb_test_plugin.metrics", "motionbench.methods.reference",
               "motionbench.methods.external", "motionbench.metrics.clip", "motionbench.metrics.motion_fidelity",
               "torch")
    code = ("import sys; from typer.testing import CliRunner; from motionbench.cli import app; "
            f"r = CliRunner().invoke(app, [{command!r}]); assert r.exit_code == 0, r.output; "
            f"print('LOADED', [m for m in {watched!r} if m in sys.modules]); print(r.output)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env={**subprocess_env(), "COLUMNS": "250"},
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out


def test_listing_methods_imports_none_of_them() -> None:
    out = _listing("methods")
    assert "LOADED []" in out.stdout  # only the light specs were imported
    assert "Seeded uniform random noise" in out.stdout and "Test plugin: raises" in out.stdout


def test_listing_metrics_shows_plugins_and_imports_no_builtin_metric() -> None:
    out = _listing("metrics")
    # track_error's entry point names its class (the other form), so listing imports its module only.
    assert "LOADED ['mb_test_plugin.metrics']" in out.stdout
    assert "CLIP text alignment" in out.stdout and "Test plugin: mean absolute pixel difference" in out.stdout
    assert "Test plugin: mean distance (px)" in out.stdout


def test_failed_jobs_give_exit_code_1_and_a_summary(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "data", {"good": "ok", "broken": "corrupt"})
    result = motionbench("run", "--method", "raises", "--manifest", str(manifest), "--out", str(tmp_path / "run"),
                         "--device", "cpu", "--no-score")
    assert result.returncode == 1
    assert "3 job(s) failed (1 RuntimeError, 2 VideoError)" in " ".join(result.stderr.split())


def test_cli_refusals_are_clear(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "data", {"a": "ok"})
    base = ["--manifest", str(manifest), "--out", str(tmp_path / "run"), "--device", "cpu", "--no-score"]
    r = motionbench("run", "--method", "reference", "--method", "static", "--method-opt", "rank=8", *base)
    assert r.returncode == 2 and "say which one it is for, e.g. --method-opt reference.rank=8" in " ".join(r.stderr.split())
    r = motionbench("run", "--method", "reference", "--method-opt", "fym.rank=8", *base)
    assert r.returncode == 2 and "names method 'fym'" in r.stderr
    r = motionbench("run", "--method", "noice", *base)
    assert r.returncode == 2 and "did you mean 'noise'" in r.stderr
    r = motionbench("run", "--method", "noise", "--size", "64", *base)
    assert r.returncode == 2 and "WIDTHxHEIGHT" in r.stderr

    holder = RunStore(tmp_path / "run")
    with holder.locked():
        r = motionbench("run", "--method", "noise", *base)
    assert r.returncode == 2 and f"pid {os.getpid()}" in r.stderr and "another motionbench process" in r.stderr
    assert not (tmp_path / "run" / "generations.jsonl").exists()


def test_fresh_moves_the_old_run_aside(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "data", {"a": "ok"})
    base = ["--manifest", str(manifest), "--out", str(tmp_path / "run"), "--device", "cpu", "--no-score"]
    assert motionbench("run", "--method", "noise", *base).returncode == 0
    r = motionbench("run", "--method", "static", "--fresh", *base)
    assert r.returncode == 0 and "previous run was moved to" in " ".join(r.stdout.split())
    old = [p for p in tmp_path.iterdir() if p.name.startswith("run.old-")]
    assert len(old) == 1 and {r.method for r in RunStore(old[0]).generation_records()} == {"noise"}
    assert {r.method for r in RunStore(tmp_path / "run").generation_records()} == {"static"}


def test_shards_run_by_processes_with_different_hash_seeds_cover_the_run_once(tmp_path: Path) -> None:
    """`--shard i/n` from the command line: each shard is its own process (another machine, another
    ``PYTHONHASHSEED``), and together they run every job of the unsharded run exactly once."""
    manifest = write_manifest(tmp_path / "data", {s: "ok" for s in "abcdef"}, prompts=("a red fox",))
    out = tmp_path / "run"
    base = ["run", "--method", "reference", "--method", "static", "--manifest", str(manifest), "--out", str(out),
            "--device", "cpu", "--no-score"]
    env = subprocess_env()
    owned = []
    for index, hash_seed in ((0, "1"), (1, "2")):
        before = {r.job for r in finished_lines(out / "generations.jsonl")}
        r = subprocess.run([sys.executable, "-m", "motionbench", *base, "--shard", f"{index}/2"], cwd=REPO,
                           env={**env, "PYTHONHASHSEED": hash_seed}, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        owned.append({r.job for r in finished_lines(out / "generations.jsonl")} - before)
    every = {f"{m}/{s}/0-s0" for m in ("reference", "static") for s in "abcdef"}
    assert owned[0] and owned[1] and not owned[0] & owned[1]
    assert owned[0] | owned[1] == every
    assert Counter(r.job for r in finished_lines(out / "generations.jsonl")) == Counter(every)
