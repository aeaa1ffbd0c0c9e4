"""The recapture task through the shared runner: records that say the task, resume, shards, chained
paths (FYC's temporal packing) that a resumed run makes exactly as one uninterrupted run does, real
clips without truth, and the methods of the other task refused by name."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from recapture_support import tiny_depth_checkpoint, write_scene_manifest  # noqa: E402
from runner_support import comparable  # noqa: E402

from motionbench.bench.manifest import load_manifest  # noqa: E402
from motionbench.errors import ConfigError  # noqa: E402
from motionbench.metrics.providers import DecodedInputs, SceneTruth  # noqa: E402
from motionbench.metrics.novel_view import NovelView  # noqa: E402
from motionbench.metrics.scorer import Scorer  # noqa: E402
from motionbench.recapture.trajectory import CameraPath  # noqa: E402
from motionbench.run.execute import GenerationSettings, GroupTask, MethodChoice  # noqa: E402
from motionbench.run.execute_recapture import execute_recapture_group  # noqa: E402
from motionbench.run.plan import Shard, plan_groups  # noqa: E402
from motionbench.run.records import GenerationRecord, to_json_line  # noqa: E402
from motionbench.run.runner import RunConfig, execute_run  # noqa: E402
from motionbench.run.store import RunStore  # noqa: E402
from motionbench.video import read_video  # noqa: E402

ANCHORS = (MethodChoice("warp-only"), MethodChoice("reference"))


def novel_view_scorer() -> Scorer:
    return Scorer([NovelView(v) for v in NovelView.variants], [DecodedInputs(), SceneTruth()])


def run(manifest: Path, out: Path, methods=ANCHORS, scorer_factory=None, **kwargs):
    return execute_run(RunConfig(methods=tuple(methods), out=out, manifest=manifest, task="recapture", **kwargs),
                       scorer_factory=scorer_factory)


def test_a_recapture_run_says_its_task_scores_against_the_truth_and_resumes(tmp_path: Path) -> None:
    manifest = write_scene_manifest(tmp_path / "data")
    out = tmp_path / "run"
    first = execute_run(RunConfig(methods=ANCHORS, out=out, manifest=manifest, task="recapture"),
                        scorer_factory=novel_view_scorer)
    assert (first.planned, first.ok, first.failed) == (8, 8, [])  # 2 methods x 2 scenes x 2 paths x 1 seed
    assert first.scoring.values == {"ok": 8 * 4 - 2 * 2, "skipped": 2 * 2, "error": 0}  # the identity has no hole

    store = RunStore(out)
    recs = store.latest_generations()
    paths = {s.id: s.paths for s in load_manifest(manifest).samples}
    for sample, specs in (("room", ["orbit:phi=15", "identity"]), ("ball", ["arc:theta=8", "bullet:phi=15"])):
        for i, spec in enumerate(specs):
            key = CameraPath.parse(spec).key
            rec = recs[f"warp-only/{sample}/{i}-{key}-s0"]
            assert (rec.task, rec.path_index, rec.path_key, rec.num_frames, rec.size) == ("recapture", i, key, 5, (32, 32))
            assert rec.video == f"videos/warp-only/{sample}/{i}-{key}-s0.mp4"
            assert CameraPath.parse(rec.path) == paths[sample][i]  # the long form reads back to the path
            assert 0 <= rec.method_info["hole_fraction"] < 0.5
    assert json.loads((out / "run.json").read_text())["settings"]["task"] == "recapture"
    assert (out / "videos" / "reference" / "room.mp4").exists()  # the source clip, for the report's side by side

    scores = {(s.method, s.sample, s.path_index, s.variant): s for s in store.score_records()}
    assert all(s.task == "recapture" and s.backend == "scene-render:1" for s in scores.values())
    identity_holes = scores[("warp-only", "room", 1, "psnr_holes")]
    assert identity_holes.status == "skipped" and "reveals no hole" in identity_holes.reason
    # Along the identity path both re-renderings are the source itself: the exact truth (100 dB is the cap).
    assert scores[("warp-only", "room", 1, "psnr")].value == scores[("reference", "room", 1, "psnr")].value == 100.0
    # The reference anchor (the source unchanged) is what a re-rendering must beat: the warp does, in SSIM.
    for sample, i in (("room", 0), ("ball", 0), ("ball", 1)):
        assert scores[("warp-only", sample, i, "ssim")].value > scores[("reference", sample, i, "ssim")].value + 0.05

    lines_before = store.generations_file.read_text()
    again = execute_run(RunConfig(methods=ANCHORS, out=out, manifest=manifest, task="recapture"),
                        scorer_factory=novel_view_scorer)
    assert (again.already_done, again.ok) == (8, 0) and again.scoring.jobs_already_scored == 8
    assert store.generations_file.read_text() == lines_before
    # A video lost after its record (a kill between the two writes is the other order) is made again, alone.
    (out / recs["reference/ball/1-" + CameraPath.parse("bullet:phi=15").key + "-s0"].video).unlink()
    third = execute_run(RunConfig(methods=ANCHORS, out=out, manifest=manifest, task="recapture"))
    assert (third.already_done, third.ok) == (7, 1)


def test_motion_transfer_lines_keep_their_bytes_and_recapture_lines_say_the_task() -> None:
    plain = GenerationRecord(job="m/s/0-s0", method="m", sample="s", category="camera", prompt_index=0, prompt="p",
                             seed=0, status="ok")
    assert "task" not in json.loads(to_json_line(plain)) and "path" not in to_json_line(plain)
    recap = replace(plain, task="recapture", path_index=1, path={"keys": [{"at": 0.0}]}, path_key="abc")
    data = json.loads(to_json_line(recap))
    assert (data["task"], data["path_index"], data["path_key"]) == ("recapture", 1, "abc")


def test_shards_of_a_recapture_run_merge_into_the_unsharded_run(tmp_path: Path) -> None:
    manifest = write_scene_manifest(tmp_path / "data")
    groups = plan_groups(["warp-only", "reference"], load_manifest(manifest).samples, (0, 1))
    for group in groups:  # each seed's paths together and in manifest order: a chain is never split
        assert [(j.seed, j.path_index) for j in group.jobs] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    execute_run(RunConfig(methods=ANCHORS, out=tmp_path / "whole", manifest=manifest, task="recapture"))
    for i in range(2):
        execute_run(RunConfig(methods=ANCHORS, out=tmp_path / "sharded", manifest=manifest, task="recapture",
                              shard=Shard(i, 2)))
    whole = comparable(RunStore(tmp_path / "whole").generation_records())
    sharded = comparable(RunStore(tmp_path / "sharded").generation_records())
    assert sharded == whole and len(whole) == 8


@pytest.fixture(scope="module")
def fyc_group(tmp_path_factory):
    """One scene with three paths for the tiny FYC, and a fitted instance (fits once for the module)."""
    folder = tmp_path_factory.mktemp("fyc")
    manifest = write_scene_manifest(folder / "data", {"room": (3, "none", "static_scene",
                                                              ["orbit:phi=15", "orbit:phi=-15", "arc:theta=10"])})
    (group,) = plan_groups(["fyc"], load_manifest(manifest).samples, (0,))
    choice = MethodChoice("fyc", ("preset=tiny",))
    method = choice.instantiate("cpu", "recapture")
    yield group, choice, method, folder
    method.close()


def outcomes(group, choice, method, jobs, cache_dir: Path | None, states_dir: Path | None = None):
    task = GroupTask(group, tuple(jobs), choice, GenerationSettings(), states_dir, cache_dir)
    return {o.record.path_index: o for o in execute_recapture_group(task, method)}


def test_chained_paths_are_the_same_whether_resumed_from_the_cache_or_rebuilt(fyc_group) -> None:
    group, choice, method, folder = fyc_group
    states = folder / "states"
    whole = outcomes(group, choice, method, group.jobs, folder / "cache-a", states)
    assert [whole[i].record.status for i in range(3)] == ["ok"] * 3
    assert [whole[i].record.method_info["packed_frames"] for i in range(3)] == [0, 2, 2]
    assert len(list((folder / "cache-a" / "contexts" / "fyc").iterdir())) == 3
    # Paths 1 and 2 again (a resumed run): path 1 packs path 0's frames from the cache.
    resumed = outcomes(group, choice, method, group.jobs[1:], folder / "cache-a", states)
    # Path 2 alone, with no cache at all (a worker that cannot see the run): paths 0 and 1 are made again.
    rebuilt = outcomes(group, choice, method, group.jobs[2:], None, states)
    for i, o in resumed.items():
        assert np.array_equal(o.frames, whole[i].frames), f"path {i} differs when resumed from the cache"
    assert np.array_equal(rebuilt[2].frames, whole[2].frames), "path 2 differs when its chain is rebuilt"
    # Not vacuous: without packing, path 2 is another video.
    plain = MethodChoice("fyc", ("preset=tiny", "temporal_packing=false"))
    alone = plain.instantiate("cpu", "recapture")
    try:
        unpacked = outcomes(group, plain, alone, group.jobs[2:], None, states)
    finally:
        alone.close()
    assert unpacked[2].record.method_info["packed_frames"] == 0
    assert np.abs(unpacked[2].frames.astype(int) - whole[2].frames).mean() > 0.5


def test_a_failed_path_fails_the_rest_of_its_chain_with_the_reason(fyc_group, monkeypatch) -> None:
    group, choice, method, folder = fyc_group
    real = type(method).generate

    def failing(self, state, source, request, context=None):
        if request.path_index == 1:
            raise RuntimeError("out of memory on path 1")
        return real(self, state, source, request, context)

    monkeypatch.setattr(type(method), "generate", failing)
    got = outcomes(group, choice, method, group.jobs, folder / "cache-b", folder / "states")
    assert got[0].record.status == "ok"
    assert "out of memory on path 1" in got[1].record.error
    assert got[2].record.status == "error" and "ChainBroken: path 1 of seed 0 failed" in got[2].record.error
    assert "rerun to retry both" in got[2].record.error


def test_fyc_through_the_runner_fits_once_and_reuses_its_state(tmp_path: Path) -> None:
    manifest = write_scene_manifest(tmp_path / "data", {"room": (1, "none", "static_scene", ["orbit:phi=15"])})
    fyc = (MethodChoice("fyc", ("preset=tiny",)),)
    first = run(manifest, tmp_path / "run", fyc, seeds=(0, 1))
    assert (first.ok, first.failed) == (2, [])
    recs = RunStore(tmp_path / "run").latest_generations()
    assert sum(r.fit_seconds is not None for r in recs.values()) == 2 and len({r.fit_seconds for r in recs.values()}) == 1
    again = run(manifest, tmp_path / "run", fyc, seeds=(2,))  # a new seed: the fitted state comes from the cache
    rec = [r for r in RunStore(tmp_path / "run").latest_generations().values() if r.seed == 2][0]
    assert again.ok == 1 and rec.fit_cached and rec.fit_seconds is None


def test_real_clips_lift_with_estimated_depth_and_have_no_truth(tmp_path: Path) -> None:
    manifest = write_scene_manifest(tmp_path / "data", {}, real={"street": ["orbit:phi=10"]})
    missing = run(manifest, tmp_path / "no-weights", depth="motionbench-test/no-such-depth-model",
                  scorer_factory=novel_view_scorer)
    by_method = {r.method: r for r in missing.failed}
    assert set(by_method) == {"warp-only"}  # the reference anchor needs no depth
    assert "huggingface-cli download motionbench-test/no-such-depth-model" in by_method["warp-only"].error

    checkpoint = tiny_depth_checkpoint(tmp_path / "depth-model")
    done = run(manifest, tmp_path / "run", depth=str(checkpoint), scorer_factory=novel_view_scorer)
    assert (done.ok, done.failed) == (2, [])
    assert len(list((tmp_path / "run" / "cache" / "depth").glob("*.npy"))) == 1  # estimated once per clip
    scores = RunStore(tmp_path / "run").score_records()
    assert scores and all(s.status == "skipped" and "real clips are scored by the CLIP metrics" in s.reason
                          for s in scores)
    video = read_video(tmp_path / "run" / "videos" / "warp-only" / "street" /
                       f"0-{CameraPath.parse('orbit:phi=10').key}-s0.mp4")
    assert video.frames.shape == (5, 32, 32, 3)


def test_options_and_methods_of_the_other_task_are_refused_by_name(tmp_path: Path) -> None:
    manifest = write_scene_manifest(tmp_path / "data")
    with pytest.raises(ConfigError, match=r"method 'fym' serves motion_transfer, not recapture; methods of recapture: "
                                          r"fyc, reference, warp-inpaint-untuned, warp-only"):
        run(manifest, tmp_path / "a", (MethodChoice("fym"),))
    with pytest.raises(ConfigError, match=r"--num-frames, --size and --clip-frames do not apply to the recapture task"):
        run(manifest, tmp_path / "b", size=(64, 64))
    with pytest.raises(ConfigError, match=r"--clip-frames do not apply to the recapture task"):
        execute_run(RunConfig(methods=(MethodChoice("reference"),), out=tmp_path / "b", manifest=manifest,
                              task="recapture", clip_frames=5))
    with pytest.raises(ConfigError, match=r"has no sample of the motion_transfer task .* pass --task recapture"):
        execute_run(RunConfig(methods=(MethodChoice("reference"),), out=tmp_path / "c", manifest=manifest))
    with pytest.raises(ConfigError, match=r"method 'fyc' serves recapture, not motion_transfer"):
        execute_run(RunConfig(methods=(MethodChoice("fyc"),), out=tmp_path / "d"))
    run(manifest, tmp_path / "e", (MethodChoice("reference"),))
    with pytest.raises(ConfigError, match=r"it holds the recapture task, this command runs motion_transfer"):
        from motionbench.tasks import DEFAULT_MANIFESTS

        execute_run(RunConfig(methods=(MethodChoice("reference"),), out=tmp_path / "e",
                              manifest=DEFAULT_MANIFESTS["motion_transfer"], limit=1))
