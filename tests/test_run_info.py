"""run.json as typed records: written and read in one place, old files still read, settings compared.

``tests/fixtures/store_schema1/`` holds two runs written by MotionBench before these records
existed (commit 667e17a): ``run`` by ``motionbench run --method reference`` then ``motionbench score
--metric motion_fidelity --tracker lk`` on a 64x64 copy of ``tiny_synthetic_manifest.yaml``, and
``adopted`` by ``motionbench score --videos`` of one copied video. Their run.json is schema 1.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from runner_support import REPO  # noqa: E402

from motionbench.errors import ConfigError  # noqa: E402
from motionbench.run.execute import MethodChoice  # noqa: E402
from motionbench.run.info import RUN_SCHEMA, GitState, RunInfo, RunInfoError, RunRequest, RunSettings  # noqa: E402
from motionbench.run.runner import RunConfig, execute_run, rescore_run  # noqa: E402
from motionbench.run.store import RunStore  # noqa: E402

OLD = REPO / "tests" / "fixtures" / "store_schema1"
MANIFEST_TEXT = (REPO / "tests" / "fixtures" / "tiny_synthetic_manifest.yaml").read_text().replace("[48, 48]", "[64, 64]")


def old_run(tmp_path: Path, name: str = "run") -> tuple[Path, Path]:
    """A copy of an old run, with its manifest where its run.json says it was."""
    run = tmp_path / name
    shutil.copytree(OLD / name, run)
    manifest = tmp_path / "m64.yaml"
    manifest.write_text(MANIFEST_TEXT)
    text = (run / "run.json").read_text().replace("/tmp/old667/m64.yaml", str(manifest))
    (run / "run.json").write_text(text)
    return run, manifest


def test_a_schema_1_run_is_read_as_typed_records(tmp_path: Path) -> None:
    run, manifest = old_run(tmp_path)
    info = RunStore(run).read_run_info()
    assert info.settings == RunSettings(manifest=str(manifest), methods={"reference": {}}, num_frames=None, size=None)
    assert info.request == RunRequest(seeds=(0,), categories=(), samples=(), limit=None, device="cpu", executor="local")
    assert info.created == "2026-12-01T20:00:08Z" and info.command[1:3] == ("run", "--method")
    assert info.git == GitState(None, None) and info.device.cpu_count == 2 and info.versions["motionbench"] == "0.1.0"
    assert info.metric_backends == {"motion_fidelity": "lk:opencv-5.0.0:grid=55:win=21:levels=3:fb=1:ncc=0.7:search=32"}
    adopted, _ = old_run(tmp_path, "adopted")
    info = RunStore(adopted).read_run_info()
    assert info.settings.methods == {"theirs": {"videos": "/tmp/oldruns/theirs"}} and info.request is None


def test_an_old_run_resumes_keeps_its_history_and_is_written_as_schema_2(tmp_path: Path) -> None:
    run, manifest = old_run(tmp_path)
    cfg = RunConfig(methods=(MethodChoice("reference"), MethodChoice("static")), out=run, manifest=manifest)
    with pytest.raises(ConfigError, match=r"num_frames=None \(each reference's own\), this command asks for 5"):
        execute_run(RunConfig(methods=(MethodChoice("reference"),), out=run, manifest=manifest, num_frames=5))
    done = execute_run(cfg)
    assert (done.already_done, done.ok) == (0, 4)  # the old videos are not in the copy: redone, with static's
    data = json.loads((run / "run.json").read_text())
    assert data["schema"] == RUN_SCHEMA == 2 and "config" not in data
    assert set(data["settings"]["methods"]) == {"reference", "static"} and data["created"] == "2026-12-01T20:00:08Z"
    assert data["metric_backends"] == {"motion_fidelity": "lk:opencv-5.0.0:grid=55:win=21:levels=3:fb=1:ncc=0.7:search=32"}


def test_an_old_runs_scores_count_as_done_under_the_new_scorer(tmp_path: Path, monkeypatch) -> None:
    """The score keys did not change: rescoring with a tracker of the same backend id redoes nothing.
    The fixture's scores are of the grey-level LK tracker (before ``chroma=0.5``), so today's LK
    redoes them rather than mixing them with its own."""
    from motionbench.metrics.scorer import FeatureOptions, build_scorer
    from motionbench.metrics.trackers import LKTracker

    run, _ = old_run(tmp_path)
    with monkeypatch.context() as m:
        m.setattr(LKTracker, "backend", property(lambda self: "lk:opencv-5.0.0:grid=55:win=21:levels=3:fb=1:ncc=0.7:search=32"))
        summary = rescore_run(run, build_scorer(["motion_fidelity"], FeatureOptions(tracker="lk")))
    assert (summary.jobs_scored, summary.jobs_already_scored) == (0, 2)
    summary = rescore_run(run, build_scorer(["motion_fidelity"], FeatureOptions(tracker="lk")))
    assert summary.jobs_already_scored == 0 and len(summary.problems) == 2, summary  # the copy has no videos to track


def test_round_trip_and_what_is_refused(tmp_path: Path) -> None:
    info = RunInfo(settings=RunSettings("m.yaml", {"fym": {"rank": 8}}, 17, (64, 48)), request=RunRequest(seeds=(0, 1)),
                   created="t0", command=("motionbench", "run"), git=GitState("a" * 40, True),
                   metric_backends={"clip_text": "open_clip:x"})
    again = RunInfo.from_json(json.loads(json.dumps(info.to_json())), "run.json")
    assert again == info and again.git.describe() == "aaaaaaaaaaaa (dirty)"
    with pytest.raises(RunInfoError, match=r"x.json: schema 3 .*written by a newer MotionBench: upgrade"):
        RunInfo.from_json({"schema": 3}, "x.json")
    with pytest.raises(RunInfoError, match=r"x.json: schema None .*not written by `motionbench run`: delete it"):
        RunInfo.from_json({"name": "small"}, "x.json")
    with pytest.raises(RunInfoError, match=r"x.json: expected a JSON object, found list"):
        RunInfo.from_json([1], "x.json")
    with pytest.raises(RunInfoError, match=r"x.json: a field has the wrong shape"):
        RunInfo.from_json({"schema": 2, "settings": {"methods": {}, "colour": 1, "size": 5}}, "x.json")
    (tmp_path / "run.json").write_text("{not json")
    with pytest.raises(RunInfoError, match="run.json is not valid JSON"):
        RunStore(tmp_path).read_run_info()


def test_settings_compare_as_objects() -> None:
    old = RunSettings("a.yaml", {"fym": {"rank": 8, "steps": 10}, "noise": {}}, None, (64, 64))
    assert old.conflicts(RunSettings("elsewhere/a.yaml", {"noise": {}}, None, (64, 64))) == []  # manifest path free
    problems = old.conflicts(RunSettings("a.yaml", {"fym": {"rank": 16, "steps": 10}}, 9, (64, 64)))
    assert problems == ["it was generated with num_frames=None (each reference's own), this command asks for 9",
                        "it ran method 'fym' with other options (rank differ: {'rank': 8} then, {'rank': 16} now)"]
    joined = old.joined(RunSettings("b.yaml", {"static": {}}, None, (64, 64)))
    assert set(joined.methods) == {"fym", "noise", "static"} and joined.manifest == "b.yaml"
