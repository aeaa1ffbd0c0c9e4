"""The runner in-process: planning, resuming, failures, fitted-state cache, locks, shards, scoring."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from runner_support import comparable, moving_texture, pixel_scorer, use_plugin, write_manifest  # noqa: E402

from motionbench.errors import ConfigError  # noqa: E402
from motionbench.run.execute import MethodChoice  # noqa: E402
from motionbench.run.plan import Shard, parse_seeds, plan_groups, shard_of  # noqa: E402
from motionbench.run.runner import RunConfig, execute_run, rescore_run  # noqa: E402
from motionbench.run.store import RunLockedError, RunStore  # noqa: E402
from motionbench.video import read_video  # noqa: E402

use_plugin()


def config(manifest: Path, out: Path, *methods: str | MethodChoice, **kw) -> RunConfig:
    choices = tuple(m if isinstance(m, MethodChoice) else MethodChoice(m) for m in methods)
    return RunConfig(methods=choices, out=out, manifest=manifest, device="cpu", **kw)


def test_run_writes_store_and_resumes_without_redoing(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "data", {"a": "ok", "b": "ok"})
    log = tmp_path / "log.txt"
    cfg = config(manifest, tmp_path / "run", "reference", MethodChoice("slowref", (f"log={log}",)), seeds=(0, 1))
    first = execute_run(cfg)
    assert (first.planned, first.ok, first.failed, first.exit_code) == (16, 16, [], 0)

    store = RunStore(tmp_path / "run")
    records = store.generation_records()
    assert len(records) == 16 and {r.status for r in records} == {"ok"}
    rec = store.latest_generations()["reference/a/1-s0"]
    assert rec.video == "videos/reference/a/1-s0.mp4" and rec.prompt == "a blue car" and rec.category == "camera"
    assert rec.memory_kind == "cpu_rss_peak_delta" and rec.generate_seconds > 0
    # The reference method really returns the reference clip (up to H.264 loss).
    ref = read_video(tmp_path / "data" / "a.mp4").frames.astype(int)
    out = read_video(store.video_path(rec)).frames.astype(int)
    assert out.shape == ref.shape and np.abs(out - ref).mean() < 4

    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["schema"] == 2 and info["settings"]["manifest"] == str(manifest.resolve())
    assert info["settings"]["methods"] == {"reference": {}, "slowref": {"delay": 0.0, "log": str(log)}}
    assert info["request"]["seeds"] == [0, 1]
    assert info["versions"]["motionbench"] and "torch" in info["versions"] and "commit" in info["git"]
    assert info["device"]["requested"] == "cpu"

    # The reference clip is stored once per sample for side-by-side reports.
    stored_ref = read_video(store.reference_video_path("a")).frames.astype(int)
    assert stored_ref.shape == ref.shape and np.abs(stored_ref - ref).mean() < 4

    generated = log.read_text().count("generate")
    second = execute_run(cfg)
    assert (second.planned, second.already_done, second.ok, second.failed) == (16, 16, 0, [])
    assert log.read_text().count("generate") == generated  # nothing was generated again
    assert len(store.generation_records()) == 16


def test_half_written_and_deleted_videos_are_redone(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "data", {"a": "ok"})
    cfg = config(manifest, tmp_path / "run", "noise")
    execute_run(cfg)
    store = RunStore(tmp_path / "run")
    videos = tmp_path / "run" / "videos" / "noise" / "a"
    (videos / "0-s0.mp4").write_bytes((videos / "0-s0.mp4").read_bytes()[:300])  # truncated by a crash
    (videos / "1-s0.mp4").unlink()
    (videos / ".1-s0.mp4.12345.partial.mp4").write_bytes(b"partial")  # a killed writer's temp file
    again = execute_run(cfg)
    assert (again.already_done, again.ok) == (0, 2)
    assert not list(videos.glob(".*partial*"))
    assert all(store.video_is_complete(r) for r in store.latest_generations().values())


def test_failures_end_only_their_jobs_with_named_errors(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "data", {"good": "ok", "broken": "corrupt"})
    cfg = config(manifest, tmp_path / "run", "static", "raises")
    summary = execute_run(cfg)
    latest = RunStore(tmp_path / "run").latest_generations()
    assert summary.exit_code == 1 and len(latest) == 8
    for method in ("static", "raises"):
        for p in (0, 1):
            assert latest[f"{method}/broken/{p}-s0"].error.startswith("VideoError: ")
            assert "broken.mp4" in latest[f"{method}/broken/{p}-s0"].error
    assert latest["raises/good/1-s0"].error.startswith("RuntimeError: deliberate failure on prompt 1")
    assert "Traceback" in latest["raises/good/1-s0"].error  # a bug in a method keeps its traceback
    ok = {job for job, r in latest.items() if r.status == "ok"}
    assert ok == {"static/good/0-s0", "static/good/1-s0", "raises/good/0-s0"}
    assert sorted(r.job for r in summary.failed) == sorted(set(latest) - ok)

    # Failed jobs are retried on the next run; finished ones are not.
    again = execute_run(cfg)
    assert (again.already_done, again.ok, len(again.failed)) == (3, 0, 5)


def test_wrong_output_shape_is_a_named_error(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "data", {"a": "ok"})
    # Frames and size given on the command line override the reference clip's.
    summary = execute_run(config(manifest, tmp_path / "run", "reference", size=(80, 48), num_frames=5))
    rec = RunStore(tmp_path / "run").latest_generations()["reference/a/0-s0"]
    assert summary.exit_code == 0 and rec.size == (80, 48) and rec.num_frames == 5
    assert read_video(tmp_path / "run" / rec.video).frames.shape == (5, 48, 80, 3)

    from motionbench.methods.base import GenerationRequest
    from motionbench.run.execute import MethodOutputError, check_frames

    request = GenerationRequest("p", 0, 5, (48, 32), 8.0)
    with pytest.raises(MethodOutputError, match=r"float32 frames of shape \(5, 32, 48, 3\).*uint8 \(5, 32, 48, 3\)"):
        check_frames(np.zeros((5, 32, 48, 3), np.float32), request, "m")
    with pytest.raises(MethodOutputError, match=r"shape \(4, 32, 48, 3\)"):
        check_frames(np.zeros((4, 32, 48, 3), np.uint8), request, "m")


def test_fit_runs_once_per_reference_and_state_is_reused(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "data", {"a": "ok", "b": "ok"})
    log = tmp_path / "log.txt"
    fit = MethodChoice("fitcount", (f"log={log}",))
    first = execute_run(config(manifest, tmp_path / "run", fit, seeds=(0, 1)))
    assert first.ok == 8
    assert sorted(line.split()[1] for line in log.read_text().splitlines() if line.startswith("fit")) == ["a", "b"]
    store = RunStore(tmp_path / "run")
    recs = store.latest_generations()
    assert recs["fitcount/a/0-s0"].fit_seconds > 0 and not recs["fitcount/a/0-s0"].fit_cached
    states = sorted(p.name for p in (store.states_dir / "fitcount").iterdir())
    assert len(states) == 2 and all(name.endswith("-gain1") for name in states)
    assert all((store.states_dir / "fitcount" / n / ".complete").exists() for n in states)

    # New seeds in the same run: the saved states are loaded, not refitted.
    log.write_text("")
    second = execute_run(config(manifest, tmp_path / "run", fit, seeds=(0, 1, 2)))
    assert (second.already_done, second.ok) == (8, 4)
    assert "fit" not in log.read_text() and log.read_text().count("load") == 2
    assert store.latest_generations()["fitcount/b/1-s2"].fit_cached
    assert store.latest_generations()["fitcount/b/1-s2"].fit_seconds is None


def test_resume_with_other_options_is_refused(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "data", {"a": "ok"})
    execute_run(config(manifest, tmp_path / "run", MethodChoice("fitcount", ("gain=1.0",))))
    with pytest.raises(ConfigError, match=r"method 'fitcount' with other options \(gain differ"):
        execute_run(config(manifest, tmp_path / "run", MethodChoice("fitcount", ("gain=2.0",))))
    with pytest.raises(ConfigError, match=r"num_frames=None.*asks for 5"):
        execute_run(config(manifest, tmp_path / "run", "fitcount", num_frames=5))
    with pytest.raises(ConfigError, match=r"unknown option 'gian' \(did you mean 'gain'\?\)"):
        execute_run(config(manifest, tmp_path / "run", MethodChoice("fitcount", ("gian=2",))))
    with pytest.raises(ConfigError, match=r"unknown method 'refrence' \(did you mean 'reference'\?\)"):
        execute_run(config(manifest, tmp_path / "run", "refrence"))
    # A new method joins the existing run; --fresh moves the old run aside and starts over.
    execute_run(config(manifest, tmp_path / "run", "static"))
    assert set(json.loads((tmp_path / "run" / "run.json").read_text())["settings"]["methods"]) == {"fitcount", "static"}
    fresh = execute_run(config(manifest, tmp_path / "run", MethodChoice("fitcount", ("gain=2.0",)), fresh=True))
    assert fresh.moved_aside is not None and fresh.moved_aside.name.startswith("run.old-")
    assert len(RunStore(fresh.moved_aside).generation_records()) == 4
    assert {r.job for r in RunStore(tmp_path / "run").generation_records()} == {"fitcount/a/0-s0", "fitcount/a/1-s0"}


def test_second_writer_is_refused(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "data", {"a": "ok"})
    holder = RunStore(tmp_path / "run")
    with holder.locked():
        with pytest.raises(RunLockedError, match=r"being written by another motionbench process \(pid \d+"):
            execute_run(config(manifest, tmp_path / "run", "static"))
        with pytest.raises(RunLockedError):
            execute_run(config(manifest, tmp_path / "run", "static", shard=Shard(0, 2)))
        with pytest.raises(RunLockedError):  # --fresh must not move a run from under its writer
            execute_run(config(manifest, tmp_path / "run", "static", fresh=True))
    # Different shards of one run may write at the same time; the same shard twice may not.
    a, b, c = RunStore(tmp_path / "run2"), RunStore(tmp_path / "run2"), RunStore(tmp_path / "run2")
    a.lock(Shard(0, 2))
    b.lock(Shard(1, 2))
    with pytest.raises(RunLockedError, match="shard 1/2"):
        c.lock(Shard(1, 2))
    with pytest.raises(RunLockedError):
        c.lock(None)
    a.unlock()
    b.unlock()
    c.lock(None)
    c.unlock()


def test_shards_partition_groups_and_merge_into_the_unsharded_run(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "data", {"a": "ok", "b": "ok", "c": "ok"})
    methods = ("reference", "shuffle", "noise")
    from motionbench.bench.manifest import load_manifest

    samples = load_manifest(manifest).samples
    everything = {j.id for g in plan_groups(methods, samples, (0,)) for j in g.jobs}
    parts = [{j.id for g in plan_groups(methods, samples, (0,), Shard(i, 3)) for j in g.jobs} for i in range(3)]
    assert set().union(*parts) == everything and sum(map(len, parts)) == len(everything)
    assert shard_of("fym/camera-pan", 4) == shard_of("fym/camera-pan", 4)  # stable, not salted

    execute_run(config(manifest, tmp_path / "whole", *methods))
    s0 = execute_run(config(manifest, tmp_path / "sharded", *methods, shard=Shard(0, 2)))
    s1 = execute_run(config(manifest, tmp_path / "sharded", *methods, shard=Shard(1, 2)))
    assert s0.planned > 0 and s1.planned > 0 and s0.planned + s1.planned == 18
    whole = RunStore(tmp_path / "whole").generation_records()
    sharded = RunStore(tmp_path / "sharded").generation_records()
    assert len(sharded) == len(whole) == 18
    assert comparable(sharded) == comparable(whole)  # without video_sha256: the videos are compared as pixels below
    for rec in whole:  # the same pixels, up to x264, which is not bit-exact between encodes here
        a = read_video(tmp_path / "whole" / rec.video).frames.astype(np.int16)
        b = read_video(tmp_path / "sharded" / rec.video).frames.astype(np.int16)
        assert a.shape == b.shape and np.abs(a - b).mean() < 3.0


def test_parse_seeds_and_shard() -> None:
    assert parse_seeds("0,1") == (0, 1) and parse_seeds("0-3,2") == (0, 1, 2, 3)
    with pytest.raises(ConfigError, match="'x' is not a seed"):
        parse_seeds("0,x")
    assert Shard.parse("1/4") == Shard(1, 4)
    for bad in ("4/4", "1", "-1/2", "a/b"):
        with pytest.raises(ConfigError, match="--shard"):
            Shard.parse(bad)


def test_scoring_stage_scores_once_per_backend(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "data", {"a": "ok", "b": "ok"})
    scorer = pixel_scorer()
    cfg = config(manifest, tmp_path / "run", "reference", "static", "shuffle", "noise")
    summary = execute_run(cfg, scorer=scorer)
    assert summary.scoring.jobs_scored == 16 and summary.scoring.values["ok"] == 16
    assert len(scorer.calls) == 2  # one call per sample, with all of its videos
    store = RunStore(tmp_path / "run")
    scores = {r.job: r.value for r in store.score_records()}
    by_method = {m: np.mean([v for j, v in scores.items() if j.startswith(m + "/")]) for m in ("reference", "static", "shuffle", "noise")}
    # The anchors land where they should: the reference is nearly itself, noise is farthest.
    assert by_method["reference"] < 5 < by_method["static"]
    assert by_method["shuffle"] > by_method["reference"] and by_method["noise"] > max(by_method["static"], by_method["shuffle"])
    assert json.loads((tmp_path / "run" / "run.json").read_text())["metric_backends"] == {"pixel_l1": "pixels"}

    execute_run(cfg, scorer=scorer)  # nothing new to score
    assert len(scorer.calls) == 2 and len(store.score_records()) == 16

    other = pixel_scorer("pixels:v2")
    result = rescore_run(tmp_path / "run", other)
    assert result.jobs_scored == 16 and result.jobs_already_scored == 0
    assert {r.backend for r in store.score_records()} == {"pixels", "pixels:v2"}
    assert rescore_run(tmp_path / "run", other).jobs_scored == 0


def test_score_videos_from_another_tool(tmp_path: Path) -> None:
    from motionbench.bench.manifest import load_manifest
    from motionbench.run.adopt import adopt_videos
    from motionbench.run.scoring import score_run
    from motionbench.video import write_video

    manifest_path = write_manifest(tmp_path / "data", {"a": "ok", "b": "ok"})
    videos = tmp_path / "theirs"
    write_video(videos / "a" / "1-s3.mp4", moving_texture(9, (64, 64), seed=0), 8.0)  # the reference of a
    write_video(videos / "b.mp4", np.zeros((9, 64, 64, 3), np.uint8), 8.0)
    write_video(videos / "zzz.mp4", np.zeros((9, 64, 64, 3), np.uint8), 8.0)
    manifest = load_manifest(manifest_path)
    store = RunStore(tmp_path / "scored")
    with store.locked():
        adopted = adopt_videos(store, videos, manifest, "theirs")
        assert adopted.adopted == 2 and len(adopted.problems) == 1 and "zzz" in adopted.problems[0]
        score_run(store, {s.id: s for s in manifest.samples}, pixel_scorer())
        assert adopt_videos(store, videos, manifest, "theirs").already == 2
    scores = {r.job: r.value for r in store.score_records()}
    assert set(scores) == {"theirs/a/1-s3", "theirs/b/0-s0"}
    assert scores["theirs/a/1-s3"] < 5 < scores["theirs/b/0-s0"]
    assert store.latest_generations()["theirs/a/1-s3"].prompt == "a blue car"


def test_phase_measurement_sees_a_transient_cpu_peak() -> None:
    from motionbench.run.measure import CPU_KIND, measure_phase

    with measure_phase("cpu") as m:
        block = np.ones(200 * 2**20, dtype=np.uint8)  # 200 MiB touched, then freed before the phase ends
        time.sleep(0.03)
        del block
    assert m.memory_kind == CPU_KIND and 180 < m.peak_memory_mb < 260 and m.seconds >= 0.02
    with measure_phase("cpu") as idle:
        time.sleep(0.01)
    assert idle.peak_memory_mb < 20


@pytest.mark.gpu
def test_phase_measurement_on_cuda() -> None:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    from motionbench.run.measure import CUDA_KIND, measure_phase

    with measure_phase("cuda") as m:
        x = torch.ones(64 * 2**20, dtype=torch.uint8, device="cuda")
        del x
    assert m.memory_kind == CUDA_KIND and 64 <= m.peak_memory_mb < 80


def test_a_killed_fit_leaves_nothing_that_counts_as_a_state(tmp_path: Path) -> None:
    import os
    import shutil
    import subprocess

    manifest = write_manifest(tmp_path / "data", {"a": "ok"})
    cfg = config(manifest, tmp_path / "run", "fitcount")
    execute_run(cfg)
    store = RunStore(tmp_path / "run")
    (state,) = list((store.states_dir / "fitcount").iterdir())
    # Pretend a fit of the same state was killed mid-save by a process that no longer exists,
    # and that the finished state was lost: the next run refits and cleans the leftover.
    dead = subprocess.Popen(["true"])
    dead.wait()
    leftover = state.with_name(f".{state.name}.{os.uname().nodename}-{dead.pid}.partial")
    leftover.mkdir()
    (leftover / "mean.npy").write_bytes(b"half")
    shutil.rmtree(state)
    for rec in store.latest_generations().values():
        (tmp_path / "run" / rec.video).unlink()
    again = execute_run(cfg)
    assert again.ok == 2
    assert not leftover.exists() and (state / ".complete").exists()
    assert not store.latest_generations()["fitcount/a/0-s0"].fit_cached


def test_skipped_scores_count_as_done_and_errors_are_retried(tmp_path: Path) -> None:
    from mb_test_plugin.metrics import PixelL1

    from motionbench.metrics import Metric, MetricInputError
    from motionbench.metrics.providers import DecodedInputs, TrackFeatures
    from motionbench.metrics.scorer import Scorer
    from motionbench.metrics.trackers import TrackerChoice

    class Fragile(Metric):
        """Fails (as a metric whose input it cannot handle) while ``broken``."""

        name, higher_is_better, version, convention = "fragile", True, "1", "1 when it works"
        needs = ("generated_frames",)
        broken = True

        def __call__(self, generated_frames):
            if Fragile.broken:
                raise MetricInputError("deliberately broken")
            return 1.0

    class NeedsTracks(Metric):
        """Skipped here: its tracker is not on this machine."""

        name, higher_is_better, version, convention = "needs_tracks", True, "1", "never scored here"
        needs = ("generated_tracks",)

        def __call__(self, generated_tracks):
            raise AssertionError("a skipped metric is never called")

    missing = TrackFeatures(TrackerChoice("cotracker3", None, "weights missing; run `motionbench download cotracker`"))
    scorer = Scorer([PixelL1(), NeedsTracks(), Fragile()], [DecodedInputs(), missing])
    assert scorer.backends() == {"pixel_l1": "pixels", "needs_tracks": "cotracker3:unavailable", "fragile": "pixels"}
    manifest = write_manifest(tmp_path / "data", {"a": "ok"})
    first = execute_run(config(manifest, tmp_path / "run", "reference"), scorer=scorer)
    assert first.scoring.values == {"ok": 2, "skipped": 2, "error": 2}
    reasons = {r.metric: r.reason for r in RunStore(tmp_path / "run").score_records()}
    assert reasons["needs_tracks"].endswith("motionbench download cotracker`") and reasons["fragile"] == "deliberately broken"
    Fragile.broken = False
    second = rescore_run(tmp_path / "run", scorer)
    assert second.jobs_scored == 2 and second.values["ok"] == 4  # the errors were retried
    third = rescore_run(tmp_path / "run", scorer)
    assert third.jobs_scored == 0 and third.jobs_already_scored == 2  # a skip is an answer, not a failure


def test_a_new_variant_is_scored_on_rescore_and_only_once(tmp_path: Path) -> None:
    from mb_test_plugin.metrics import PixelL1

    from motionbench.metrics.providers import DecodedInputs
    from motionbench.metrics.scorer import Scorer

    class PixelForms(PixelL1):
        """pixel_l1 in several forms (as motion fidelity has dmt, symmetric, matched)."""

        variants = ("x", "y")

    manifest = write_manifest(tmp_path / "data", {"a": "ok"})
    execute_run(config(manifest, tmp_path / "run", "reference"), scorer=Scorer([PixelForms("x")], [DecodedInputs()]))
    both = Scorer(PixelForms.every_variant(), [DecodedInputs()])
    added = rescore_run(tmp_path / "run", both, manifest=manifest)
    assert added.jobs_scored == 2 and added.jobs_already_scored == 0
    keys = [(r.job, r.variant) for r in RunStore(tmp_path / "run").score_records()]
    assert sorted(set(keys)) == sorted((f"reference/a/{i}-s0", v) for i in (0, 1) for v in "xy")
    again = rescore_run(tmp_path / "run", both, manifest=manifest)
    assert (again.jobs_scored, again.jobs_already_scored) == (0, 2)

def test_shard_of_is_the_same_in_every_process_and_version() -> None:
    """Shards of one run are run by different processes, often on different machines and days: the
    owner of a group must not depend on the process (Python's ``hash`` of a str is salted per process)."""
    import subprocess

    keys = [f"{m}/sample-{i}" for m in ("fym", "reference", "ditflow") for i in range(12)]
    probe = f"from motionbench.run.plan import shard_of; print([shard_of(k, 4) for k in {keys!r}])"
    seen = set()
    for hash_seed in ("1", "2", "3"):
        out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                             env={"PATH": "/usr/bin:/bin", "PYTHONHASHSEED": hash_seed, "OMP_NUM_THREADS": "1"})
        assert out.returncode == 0, out.stderr
        seen.add(out.stdout.strip())
    assert seen == {str([shard_of(k, 4) for k in keys])}
    # Pinned (the first 8 bytes of sha256, big-endian, mod n): a run half done with one version is
    # finished by another without any group changing owner.
    assert [shard_of(k, 4) for k in ("fym/camera-pan", "reference/a", "static/toy-object-line")] == [3, 0, 0]


def test_the_tuned_methods_go_through_the_runner(tmp_path: Path) -> None:
    """What `make run` does for FYM and a baseline, on the tiny random Wan: fit once per reference (the
    state saved in the run's store), generate each job, write whole videos. (Reusing saved states is
    checked with the test plug-in's fitting method above.)"""
    manifest = write_manifest(tmp_path / "data", {"a": "ok"}, prompts=("a red fox",))
    methods = (MethodChoice("fym", ("preset=tiny",)), MethodChoice("two-stage-lora", ("preset=tiny",)))
    first = execute_run(config(manifest, tmp_path / "run", *methods, num_frames=5))
    assert (first.ok, len(first.failed)) == (2, 0), first.failed
    store = RunStore(tmp_path / "run")
    recs = store.latest_generations()
    frames = {}
    for name in ("fym", "two-stage-lora"):
        rec = recs[f"{name}/a/0-s0"]
        assert rec.status == "ok" and rec.fit_seconds > 0 and not rec.fit_cached
        assert rec.method_config["model"] == "tiny"
        states = list((store.states_dir / name).iterdir())
        assert len(states) == 1 and (states[0] / ".complete").exists()
        frames[name] = read_video(tmp_path / "run" / rec.video).frames
        assert frames[name].shape == (5, 64, 64, 3)
    assert np.abs(frames["fym"].astype(np.int16) - frames["two-stage-lora"].astype(np.int16)).mean() > 1.0


def test_shard_parse_accepts_exactly_zero_to_n_minus_one():
    assert (Shard.parse("0/1").index, Shard.parse("0/1").count) == (0, 1)  # one shard: the whole run
    assert (Shard.parse(" 3 / 4 ").index, Shard.parse("3/4").count) == (3, 4)
    for bad in ("4/4", "5/4", "0/0", "1/0"):
        with pytest.raises(ConfigError, match=rf"--shard '{bad}': need 0 <= i < n"):
            Shard.parse(bad)


def test_make_executor_builds_the_kind_asked_for_without_starting_ray():
    from motionbench.run.executors import LocalExecutor, make_executor
    from motionbench.run.ray_executor import RayExecutor

    assert type(make_executor("local")) is LocalExecutor
    ray = make_executor("".join(["r", "ay"]), ray_address="10.0.0.1:6379")  # a parsed argument, not a literal
    assert type(ray) is RayExecutor and ray.address == "10.0.0.1:6379"  # connects only when it runs
    with pytest.raises(ConfigError, match="--ray-address only applies with --executor ray"):
        make_executor("local", ray_address="10.0.0.1:6379")
    for kind in ("slurm", "dask"):  # names after and before the known ones
        with pytest.raises(ConfigError, match=f"unknown executor '{kind}'; choose one of: local, ray"):
            make_executor(kind)


def test_make_executor_takes_the_kind_by_name_or_position_and_the_ray_address_by_name_only():
    from motionbench.run.executors import LocalExecutor, make_executor

    assert type(make_executor(kind="local")) is LocalExecutor
    with pytest.raises(TypeError):  # a positional second argument is a mistake, not an address
        make_executor("ray", "10.0.0.1:6379")


def test_the_local_executor_closes_each_method_it_built_once_after_the_last_group(tmp_path: Path) -> None:
    """A method frees its models in close(): once per run, after every group (a failed one included)."""
    manifest = write_manifest(tmp_path / "data", {"a": "ok", "broken": "corrupt", "b": "ok"})
    log = tmp_path / "log.txt"
    outcome = execute_run(config(manifest, tmp_path / "run", MethodChoice("fitcount", (f"log={log}",))))
    assert outcome.ok == 4 and len(outcome.failed) == 2  # the broken reference fails its group
    lines = log.read_text().splitlines()
    assert [line.split()[0] for line in lines].count("close") == 1 and lines[-1].startswith("close ")


def test_parse_seeds_names_what_is_wrong_and_stops_at_the_limits() -> None:
    import tracemalloc

    from motionbench import limits

    assert parse_seeds(" 0, ,2,") == (0, 2)  # empty parts are nothing, not an error
    assert parse_seeds(f"{limits.MAX_SEED - 1}-{limits.MAX_SEED}") == (limits.MAX_SEED - 1, limits.MAX_SEED)
    assert len(parse_seeds(f"0-{limits.MAX_SEEDS - 1},{limits.MAX_SEEDS - 1}")) == limits.MAX_SEEDS  # repeats are free
    assert parse_seeds("3-3") == (3,)
    for low, high in ((4, 3), (9, 3)):
        with pytest.raises(ConfigError, match=rf"^--seeds '0,{low}-{high}': the range '{low}-{high}' is empty; write "
                                              rf"it low-high, e.g. {high}-{low}$"):
            parse_seeds(f"0,{low}-{high}")
    for text in (str(limits.MAX_SEED + 1), f"0-{limits.MAX_SEED + 1}"):
        with pytest.raises(ConfigError, match=rf"^--seeds '{text}': seeds go from 0 to {limits.MAX_SEED}; "
                                              rf"{limits.MAX_SEED + 1} is too large$"):
            parse_seeds(text)
    too_many = (rf"names more than {limits.MAX_SEEDS} seeds; a run takes at most {limits.MAX_SEEDS} "
                r"\(split the work into several runs\)$")
    for text in (f"0-{limits.MAX_SEEDS}", f"0-{limits.MAX_SEEDS - 1},{limits.MAX_SEEDS}", "0-599,600-1200"):
        with pytest.raises(ConfigError, match=rf"^--seeds '{text}' {too_many}"):
            parse_seeds(text)
    tracemalloc.start()
    try:  # a huge range is refused before it is expanded: no memory for its seeds is ever taken
        with pytest.raises(ConfigError, match=too_many):
            parse_seeds("7-299999")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, peak
    for text in ("", " , "):
        with pytest.raises(ConfigError, match=rf"^--seeds '{text}' names no seed; write e.g. --seeds 0,1$"):
            parse_seeds(text)


def test_recapture_groups_list_each_seeds_paths_in_order_with_path_keyed_jobs() -> None:
    from motionbench.bench.manifest import Sample, SceneSource
    from motionbench.recapture.trajectory import CameraPath
    from motionbench.tasks import RECAPTURE

    orbit, dolly = CameraPath.parse("orbit"), CameraPath.parse("dolly")
    room = Sample(id="room", category="camera", source=SceneSource(seed=0), prompts=(), caption="a room",
                  task=RECAPTURE, paths=(orbit, dolly))
    (group,) = plan_groups(["fyc"], [room], (0, 1))
    assert group.key == "fyc/room" and group.sample is room
    assert [(j.seed, j.path_index, j.path) for j in group.jobs] == [(0, 0, orbit), (0, 1, dolly), (1, 0, orbit),
                                                                   (1, 1, dolly)]
    assert {(j.task, j.prompt_index, j.prompt) for j in group.jobs} == {(RECAPTURE, 0, "a room")}  # caption stands in
    for j in group.jobs:  # the path's geometry is in the job's key and file name: an edited path is a new job
        assert j.id == f"fyc/room/{j.path_index}-{j.path.key}-s{j.seed}"
        assert j.video_relpath == f"videos/fyc/room/{j.path_index}-{j.path.key}-s{j.seed}.mp4"
    assert len({j.id for j in group.jobs}) == 4 and orbit.key != dolly.key
    from dataclasses import replace

    (described,) = plan_groups(["fyc"], [replace(room, prompts=("a lit room",))], (0,))
    assert {j.prompt for j in described.jobs} == {"a lit room"}
    (bare,) = plan_groups(["fyc"], [replace(room, caption=None)], (0,))
    assert {j.prompt for j in bare.jobs} == {""}
    owners = [i for i in range(3) if plan_groups(["fyc"], [room], (0,), Shard(i, 3))]
    assert owners == [shard_of(group.key, 3)]  # the group goes whole to the shard that owns its key


def test_a_task_read_from_a_file_plans_like_the_constant_and_jobs_are_frozen_values() -> None:
    """A manifest's task is a string parsed from its file, equal to but not the very object
    motionbench.tasks holds: planning must compare by value. Jobs are immutable, hashable values
    (equal jobs are one set member), so a planned job cannot be changed after the fact."""
    import dataclasses

    from motionbench.bench.manifest import Sample, SceneSource
    from motionbench.recapture.trajectory import CameraPath
    from motionbench.tasks import RECAPTURE

    parsed = json.loads('"recapture"')
    assert parsed == RECAPTURE and parsed is not RECAPTURE
    orbit = CameraPath.parse("orbit")
    room = Sample(id="room", category="camera", source=SceneSource(seed=0), prompts=("a lit room",), caption=None,
                  task=parsed, paths=(orbit,))
    (group,) = plan_groups(["fyc"], [room], (0, 1))
    assert [(j.task, j.path_index, j.path, j.prompt, j.seed) for j in group.jobs] == [
        (RECAPTURE, 0, orbit, "a lit room", 0), (RECAPTURE, 0, orbit, "a lit room", 1)]
    job = group.jobs[0]
    assert len({job, dataclasses.replace(job), group.jobs[1]}) == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        job.seed = 5  # type: ignore[misc]


def test_every_group_is_owned_by_exactly_one_of_hundreds_of_shards() -> None:
    """A large cluster may split a run into hundreds of shards: each group still belongs to exactly one
    of them, whatever its shard index (indexes past 256 included)."""
    count = 300
    keys = [f"{m}/sample-{i}" for m in ("fym", "static") for i in range(200)]
    owners = {key: [i for i in range(count) if Shard(i, count).owns(key)] for key in keys}
    assert all(len(found) == 1 for found in owners.values()), [k for k, found in owners.items() if len(found) != 1][:5]
    assert {found[0] for found in owners.values()} == {shard_of(k, count) for k in keys}
    assert max(shard_of(k, count) for k in keys) > 256  # the check reaches the large indexes


def test_an_executor_kind_read_from_the_command_line_is_recognised() -> None:
    """``--executor local`` arrives as a string built at run time (not a literal of the source)."""
    from motionbench.run.executors import LocalExecutor, make_executor

    parsed = "".join(["lo", "cal"])
    assert type(make_executor(parsed)) is LocalExecutor
    with pytest.raises(ConfigError, match="--ray-address only applies with --executor ray"):
        make_executor(parsed, ray_address="10.0.0.1:6379")


def test_a_method_that_cannot_be_built_fails_each_of_its_jobs_with_the_error_and_is_tried_once(tmp_path: Path) -> None:
    """A method whose construction fails (missing weights, a bad device) does not stop the run: every
    pending job of every one of its groups comes back failed with the error, the method is not built
    again for each group, and the other methods' jobs run."""
    from dataclasses import dataclass

    from motionbench.bench.manifest import load_manifest
    from motionbench.errors import WeightsError
    from motionbench.run.execute import GenerationSettings, GroupTask
    from motionbench.run.executors import LocalExecutor
    from motionbench.tasks import MOTION_TRANSFER

    attempts: list[str] = []

    @dataclass(frozen=True)
    class Unbuildable(MethodChoice):
        def instantiate(self, device: str, task: str = MOTION_TRANSFER):
            attempts.append(self.name)
            raise WeightsError("static: its weights are not in the cache; run `motionbench weights fetch`")

    manifest = write_manifest(tmp_path / "data", {"a": "ok", "b": "ok"})
    samples = load_manifest(manifest).samples
    groups = plan_groups(("static", "reference"), samples, (0, 1))
    choices = {"static": Unbuildable("static"), "reference": MethodChoice("reference")}
    tasks = [GroupTask(g, g.jobs, choices[g.method], GenerationSettings(), None) for g in groups]
    outcomes = {o.record.job: o.record for o in LocalExecutor().run(tasks)}
    assert set(outcomes) == {j.id for g in groups for j in g.jobs} and len(outcomes) == 16
    assert attempts == ["static"]
    for job, record in outcomes.items():
        if job.startswith("static/"):
            assert record.status == "error" and record.error.startswith("WeightsError: static: its weights are not")
        else:
            assert record.status == "ok", record.error
