"""`motionbench run --task recapture` and `motionbench report` end to end (in process): the task's
default metrics scored against the scenes' truth, a leaderboard with the anchor and the
literature's column names, runs of both tasks reported a section each."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from recapture_support import write_scene_manifest  # noqa: E402
from runner_support import write_manifest  # noqa: E402

from motionbench.cli import app  # noqa: E402
from motionbench.report.runs import ReportError  # noqa: E402
from motionbench.run.store import RunStore  # noqa: E402


def invoke(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def words(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def recapture_run(tmp_path_factory) -> Path:
    """warp-only and the reference anchor on two scenes (two paths each), scored with the task's defaults."""
    folder = tmp_path_factory.mktemp("recapture-cli")
    manifest = write_scene_manifest(folder / "data", prompts={"ball": "a toy room with a ball"})
    out = folder / "run"
    result = invoke("run", "--task", "recapture", "--method", "warp-only", "--method", "reference", "--manifest",
                    str(manifest), "--out", str(out), "--device", "cpu", "--tracker", "lk", "--grid", "16")
    assert result.exit_code == 0, result.output
    # 8 videos x (4 novel-view + 2 camera + 2 CLIP) values; skipped: the holes of the identity path (2 methods
    # x 2 variants: it has none) and CLIP (16: no weights on a test machine).
    assert "scored 8 video(s) (44 values ok, 20 skipped, 0 errors)" in words(result.output)
    return out


def test_run_scores_the_recapture_defaults_against_the_truth(recapture_run: Path) -> None:
    scores = RunStore(recapture_run).score_records()
    by = {(s.method, s.sample, s.path_index, s.metric, s.variant): s for s in scores}
    assert {s.metric for s in scores} == {"novel_view", "camera_accuracy", "clip_text", "clip_temporal"}
    assert all(s.task == "recapture" for s in scores)
    # The identity path: both re-renderings are the source, the exact truth, and the camera never moved.
    assert by[("warp-only", "room", 1, "novel_view", "psnr")].value == 100.0
    assert by[("warp-only", "room", 1, "camera_accuracy", "rotation")].value < 0.5
    # Along the orbit the warp moves the camera; the reference anchor keeps it still (15 degrees off).
    warp = by[("warp-only", "room", 0, "camera_accuracy", "rotation")].value
    still = by[("reference", "room", 0, "camera_accuracy", "rotation")].value
    assert warp < still and still > 5.0
    assert by[("warp-only", "room", 0, "camera_accuracy", "rotation")].backend.startswith("lk:")
    clip = by[("warp-only", "ball", 0, "clip_text", "")]
    assert clip.status == "skipped" and "motionbench download clip" in clip.reason


def test_report_prints_the_task_leaderboard_with_its_anchor(recapture_run: Path) -> None:
    table = words(invoke("report", str(recapture_run)).output)
    assert "Task: recapture: the source clip re-rendered along new camera paths" in table
    # Two-line headers by the literature's names: the first lines, then the units and directions.
    assert "PSNR SSIM PSNR SSIM RotErr TransErr tuning" in table
    assert "dB ↑ ↑ holes ↑ holes ↑ deg ↓ pivot ↓" in table
    assert "reference*" in table and "anchor methods (reference) are shown unranked" in table
    assert "averaged over camera paths and seeds into its sample first" in table
    assert "this path reveals no hole" in table and "run `motionbench download clip`" in table

    # The cells are the means of the per-sample means of the stored scores (a sample averages its paths).
    data = json.loads(invoke("report", str(recapture_run), "--format", "json").output)
    assert data["task"] == "recapture"
    scores = [s for s in RunStore(recapture_run).score_records()
              if s.method == "warp-only" and s.metric == "novel_view" and s.variant == "ssim"]
    per_sample = [np.mean([s.value for s in scores if s.sample == sample]) for sample in ("room", "ball")]
    row = next(r for r in data["rows"] if r["group"] == "overall (mean of samples)" and r["method"] == "warp-only")
    assert row["cells"]["novel_view/ssim"]["value"] == pytest.approx(np.mean(per_sample))
    assert row["cells"]["novel_view/ssim"]["videos"] == 4

    with pytest.raises(ReportError, match="these runs hold no record of the motion_transfer task"):
        invoke("report", str(recapture_run), "--task", "motion_transfer")


def test_runs_of_both_tasks_report_a_section_each(recapture_run: Path, tmp_path: Path) -> None:
    transfer = tmp_path / "transfer"
    done = invoke("run", "--method", "reference", "--manifest", str(write_manifest(tmp_path / "data", {"a": "ok"})),
                  "--out", str(transfer), "--device", "cpu", "--metric", "clip_temporal")
    assert done.exit_code == 0, done.output
    both = words(invoke("report", str(transfer), str(recapture_run)).output)
    first, second = both.index("Task: motion transfer"), both.index("Task: recapture")
    assert first < second and "PSNR" in both[second:] and "PSNR" not in both[:second]
    with pytest.raises(ReportError, match="--format csv reports one task: add --task motion_transfer"):
        invoke("report", str(transfer), str(recapture_run), "--format", "csv")
    csv = invoke("report", str(transfer), str(recapture_run), "--format", "csv", "--task", "recapture").output
    assert "novel_view/psnr" in csv and "Task:" not in csv


def test_score_rescores_a_recapture_run_with_the_task_defaults(recapture_run: Path) -> None:
    # (Last in this file: it adds scores of another tracker grid to the shared run.)
    result = CliRunner().invoke(app, ["score", str(recapture_run), "--device", "cpu", "--tracker", "lk", "--grid", "12"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "scored 8 video(s) (44 values ok, 20 skipped, 0 errors)" in words(result.output)
    scores = RunStore(recapture_run).score_records()
    assert "motion_fidelity" not in {s.metric for s in scores}  # the run's task chose the defaults
    camera = [s for s in scores if s.metric == "camera_accuracy"]
    assert {s.backend.split(":grid=")[1].split(":")[0] for s in camera} == {"12", "16"}
    assert sum(":grid=12:" in s.backend and s.status == "ok" for s in camera) == 16
