"""The one plug-in registry behind methods and metrics, and a third-party metric scoring a real run.

Plug-ins here are real distributions: folders with a ``*.dist-info/entry_points.txt`` put on the
Python path, found by ``importlib.metadata`` exactly as an installed package would be.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from runner_support import REPO, subprocess_env, use_plugin  # noqa: E402

from motionbench.errors import ConfigError  # noqa: E402
from motionbench.methods.registry import METHODS  # noqa: E402
from motionbench.metrics import METRICS  # noqa: E402

# Two synthetic clips with ground-truth tracks, at 64x64 (decord misreads 48-pixel-wide H.264 files).
MANIFEST_TEXT = (REPO / "tests" / "fixtures" / "tiny_synthetic_manifest.yaml").read_text().replace("[48, 48]", "[64, 64]")


def distribution(folder: Path, name: str, entry_points: str) -> Path:
    """A minimal installed distribution ``name`` in ``folder`` declaring ``entry_points``."""
    info = folder / f"{name}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(entry_points)
    return folder


def test_both_groups_list_builtins_and_plugins_through_one_registry() -> None:
    use_plugin()
    assert {"reference", "fym", "external", "slowref", "fitcount"} <= set(METHODS.names())
    assert {"clip_text", "clip_temporal", "motion_fidelity", "pixel_l1", "track_error"} <= set(METRICS.names())
    spec_entry, class_entry = METRICS.describe("pixel_l1"), METRICS.describe("track_error")
    assert (spec_entry.target, spec_entry.registered_as) == ("mb_test_plugin.metrics:PixelL1", "mb_test_plugin:pixel_l1")
    assert class_entry.target == class_entry.registered_as == "mb_test_plugin.metrics:TrackError"
    assert class_entry.summary.startswith("Test plugin: mean distance")  # read from the class
    assert METHODS.describe("fym").summary.startswith("Follow-Your-Motion")


def test_unknown_names_get_the_closest_one_and_the_list() -> None:
    use_plugin()
    with pytest.raises(ConfigError, match=r"unknown metric 'pixel_l2' \(did you mean 'pixel_l1'\?\); available: "
                                          r"camera_accuracy, clip_temporal, clip_text, .*Run `motionbench metrics`"):
        METRICS.load("pixel_l2")
    with pytest.raises(ConfigError, match=r"unknown method 'refrence' \(did you mean 'reference'\?\)"):
        METHODS.load("refrence")


def test_two_packages_with_one_name_are_refused(tmp_path: Path, monkeypatch) -> None:
    use_plugin()
    monkeypatch.syspath_prepend(str(distribution(tmp_path, "other_metrics",
                                                 "[motionbench.metrics]\npixel_l1 = other_metrics:PixelL1\n")))
    with pytest.raises(ConfigError, match=r"two packages register the metric name 'pixel_l1': "):
        METRICS.names()


@pytest.mark.parametrize(("entry", "message"), [
    ("notametric = json:JSONDecoder", r"json:JSONDecoder, which is not a subclass of motionbench.metrics.base.Metric"),
    ("renamed = mb_test_plugin.metrics:PixelL1", r"whose class says name = 'pixel_l1'; make the entry point's name"),
    ("broken = no_such_module_anywhere:Thing", r"cannot be imported: No module named 'no_such_module_anywhere'"),
    ("missing = mb_test_plugin.metrics:NoSuchClass", r"which does not exist"),
])
def test_entries_that_are_not_metrics_are_refused_by_name(tmp_path: Path, monkeypatch, entry: str, message: str) -> None:
    use_plugin()
    monkeypatch.syspath_prepend(str(distribution(tmp_path, "bad_metrics", f"[motionbench.metrics]\n{entry}\n")))
    name = entry.split(" = ")[0]
    assert name in METRICS.names()
    with pytest.raises(ConfigError, match=message):
        METRICS.load(name)
    assert METRICS.load("pixel_l1").name == "pixel_l1"  # one bad entry does not hide the others


def test_a_plugin_metric_scores_and_reports_a_run_without_touching_motionbench(tmp_path: Path) -> None:
    """`motionbench run --metric` with the test plug-in's metrics, in a fresh process, then the report."""
    run, manifest = tmp_path / "run", tmp_path / "manifest.yaml"
    manifest.write_text(MANIFEST_TEXT)
    args = [sys.executable, "-m", "motionbench", "run", "--method", "reference", "--method", "static",
            "--manifest", str(manifest), "--out", str(run), "--device", "cpu", "--metric", "pixel_l1",
            "--metric", "track_error", "--tracker", "lk", "--grid", "32"]
    done = subprocess.run(args, cwd=REPO, env=subprocess_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr + done.stdout
    assert "scored 4 video(s) (8 values ok, 0 skipped, 0 errors)" in " ".join(done.stdout.split())
    report = subprocess.run([sys.executable, "-m", "motionbench", "report", str(run), "--format", "json"], cwd=REPO,
                            env=subprocess_env(), capture_output=True, text=True, timeout=300)
    assert report.returncode == 0, report.stderr
    board = json.loads(report.stdout)
    columns = {c["id"]: c for c in board["columns"]}
    assert columns["pixel_l1"]["backends"] == ["pixels"] and columns["pixel_l1"]["higher_is_better"] is False
    assert columns["track_error"]["backends"][0].startswith("lk:") and "grid=32" in columns["track_error"]["backends"][0]
    per_sample = {(s["method"], s["sample"], s["column"]): s["value"] for s in board["samples"]}
    # The reference's own video: pixels closer to the reference, points nearer where the true points go,
    # than the first frame held still.
    for sample in ("curve", "bounce"):
        for metric in ("pixel_l1", "track_error"):
            assert per_sample[("reference", sample, metric)] < per_sample[("static", sample, metric)]
