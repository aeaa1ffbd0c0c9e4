"""One contract over every registered metric (built-in and the test plug-in's).

For each metric: its class keeps the contract (``check_metric_class``); its attributes and the hash
of its convention text are pinned per version (rewording a convention without a version bump
fails here, since the report compares scores on backend and version only); the class equals its
pure function on real features; the scorer runs it and gets the same number; ``update``/``compute``
is the per-video mean; and, where the direction means something on these inputs, the reference's own
motion scores better than another motion.

Features come from the real providers: the decoded clips, a tiny open_clip model with random
weights, and LK tracks on a small grid, on clips whose true tracks are known; the recapture metrics
get a 3-D scene's exact truth along a camera path (the scene-truth provider).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from runner_support import use_plugin  # noqa: E402

use_plugin()

from mb_test_plugin.metrics import pixel_l1, track_error  # noqa: E402

from motionbench.metrics import METRICS, Metric  # noqa: E402
from motionbench.metrics.api import GroundTruthTracks, ScoringItem  # noqa: E402
from motionbench.bench.scenes import render_clip  # noqa: E402
from motionbench.metrics.appearance import colour_leakage_score, prompt_colour_score  # noqa: E402
from motionbench.metrics.camera_accuracy import camera_accuracy_score  # noqa: E402
from motionbench.metrics.base import check_metric_class  # noqa: E402
from motionbench.metrics.clip import clip_temporal_score, clip_text_score  # noqa: E402
from motionbench.metrics.features import FEATURES, SampleInputs  # noqa: E402
from motionbench.metrics.motion_fidelity import motion_fidelity  # noqa: E402
from motionbench.metrics.novel_view import novel_view_score  # noqa: E402
from motionbench.metrics.providers import ClipFeatures, DecodedInputs, SceneTruth, TrackFeatures  # noqa: E402
from motionbench.metrics.scorer import Scorer  # noqa: E402
from motionbench.metrics.trackers import LKTracker, TrackerChoice  # noqa: E402
from motionbench.recapture.trajectory import CameraPath  # noqa: E402
from motionbench.video import Clip  # noqa: E402
from tests.test_trackers import camera_clip  # noqa: E402

TINY = "mb-tiny-clip-contract"

# name -> (higher_is_better, version, needs, variants, sha256 of the convention text [:16]).
# Changing a convention's meaning means a new version: bump it in the metric and pin the new hash.
PINNED: dict[str, tuple[bool, str, tuple[str, ...], tuple[str, ...], str]] = {
    "clip_text": (True, "1", ("frame_embeddings", "text_embedding"), ("",), "7960563ce6402107"),
    "clip_temporal": (True, "1", ("frame_embeddings",), ("",), "e60e7f5d31aaab32"),
    "motion_fidelity": (True, "1", ("generated_tracks", "reference_tracks"), ("dmt", "symmetric", "matched"),
                        "4f5e9fc75a83bfa4"),
    "pixel_l1": (False, "1", ("generated_frames", "reference_frames"), ("",), "c435a7d6e3aea645"),
    "track_error": (False, "1", ("generated_tracks", "ground_truth_tracks"), ("",), "3c0654928ae11356"),
    "toy_prompt_colour": (True, "1", ("generated_frames", "prompt"), ("",), "94b6dea69d545e9a"),
    "toy_colour_leakage": (False, "1", ("generated_frames", "reference_frames", "prompt"), ("",), "dd8844521402db1a"),
    "novel_view": (True, "1", ("generated_frames", "target_frames", "hole_mask"),
                   ("psnr", "ssim", "psnr_holes", "ssim_holes"), "99308debd9bf65ec"),
    "camera_accuracy": (False, "1", ("generated_tracks", "target_camera"), ("rotation", "translation"),
                        "b60313b9127c9129"),
}

# name -> the metric's pure function, applied to the features (and the instance, for its variant).
FUNCTIONS: dict[str, Callable[[dict[str, Any], Metric], float]] = {
    "clip_text": lambda f, m: clip_text_score(f["frame_embeddings"], f["text_embedding"]),
    "clip_temporal": lambda f, m: clip_temporal_score(f["frame_embeddings"]),
    "motion_fidelity": lambda f, m: motion_fidelity(f["generated_tracks"], f["reference_tracks"], m.variant),
    "pixel_l1": lambda f, m: pixel_l1(f["generated_frames"], f["reference_frames"]),
    "track_error": lambda f, m: track_error(f["generated_tracks"], f["ground_truth_tracks"]),
    "toy_prompt_colour": lambda f, m: prompt_colour_score(f["generated_frames"], f["prompt"]),
    "toy_colour_leakage": lambda f, m: colour_leakage_score(f["generated_frames"], f["reference_frames"], f["prompt"]),
    "novel_view": lambda f, m: novel_view_score(f["generated_frames"], f["target_frames"], f["hole_mask"], m.variant),
    "camera_accuracy": lambda f, m: camera_accuracy_score(f["generated_tracks"], f["target_camera"], m.variant),
}

# Metrics whose direction these inputs can show: the reference's own motion beats another motion
# (recapture: the exact re-rendering beats the source clip left unchanged).
# (CLIP with random weights says nothing about text or appearance.)
DIRECTIONAL = {"motion_fidelity", "pixel_l1", "track_error", "novel_view", "camera_accuracy"}
# Metrics of the recapture task, scored on a 3-D scene along a camera path (the ``scene_sample`` fixture).
RECAPTURE_METRICS = {"novel_view", "camera_accuracy"}

NAMES = METRICS.names()
INSTANCES = [pytest.param(name, variant, id=f"{name}/{variant}" if variant else name)
             for name in NAMES for variant in METRICS.load(name).variants]


@pytest.fixture(scope="module")
def providers(tmp_path_factory):
    import open_clip

    config = {"embed_dim": 16, "quick_gelu": True,
              "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "head_width": 16, "patch_size": 16},
              "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1}}
    path = tmp_path_factory.mktemp("clip") / f"{TINY}.json"
    path.write_text(json.dumps(config))
    open_clip.add_model_config(path)
    return [DecodedInputs(), ClipFeatures(f"{TINY}:random"), TrackFeatures(TrackerChoice("lk", LKTracker(grid=8))),
            SceneTruth()]


@pytest.fixture(scope="module")
def sample() -> tuple[SampleInputs, dict[str, ScoringItem]]:
    """A panning clip with its true tracks, and two "generated" videos: the clip itself and another motion."""
    frames, truth = camera_clip("zigzag", frames=8, size=64, grid=6)
    other, _ = camera_clip("circle", frames=8, size=64, seed=5)
    inputs = SampleInputs(Clip(frames, 8.0), None, GroundTruthTracks(truth.tracks, truth.visibility))
    # A toy-world caption, so the toy appearance metrics apply too (CLIP and motion ignore what it says).
    items = {"same": ScoringItem("same", Clip(frames.copy(), 8.0), "red and yellow checks"),
             "other": ScoringItem("other", Clip(other, 8.0), "red and yellow checks")}
    return inputs, items


@pytest.fixture(scope="module")
def scene_sample() -> tuple[SampleInputs, dict[str, ScoringItem]]:
    """A static 3-D scene and a camera path; "generated": the exact re-rendering and the source left unchanged."""
    scene = render_clip(5, num_frames=9, size=(64, 64), moving="none")
    path = CameraPath.parse("orbit:phi=12")
    truth = scene.target(path)
    inputs = SampleInputs(Clip(scene.source.frames, scene.fps), scene=scene)
    items = {"same": ScoringItem("same", Clip(truth.frames, scene.fps), "a room", path),
             "other": ScoringItem("other", Clip(scene.source.frames.copy(), scene.fps), "a room", path)}
    return inputs, items


def features(metric: Metric, providers, inputs: SampleInputs, item: ScoringItem) -> dict[str, Any]:
    by_feature = {f: p for p in providers for f in p.features}
    return {n: by_feature[n].compute(n, inputs, item if FEATURES[n].scope != "sample" else None) for n in metric.needs}


def test_every_registered_metric_is_pinned_and_has_its_function() -> None:
    assert set(NAMES) == set(PINNED) == set(FUNCTIONS), "pin each new metric's attributes and function here"


@pytest.mark.parametrize("name", NAMES)
def test_class_keeps_the_contract_and_its_attributes_are_pinned(name: str) -> None:
    cls = METRICS.load(name)
    check_metric_class(cls)
    higher, version, needs, variants, convention_hash = PINNED[name]
    assert (cls.higher_is_better, cls.version, cls.needs, cls.variants) == (higher, version, needs, variants)
    digest = hashlib.sha256(cls.convention.encode()).hexdigest()[:16]
    assert digest == convention_hash, (
        f"{name}: its convention text changed under version {cls.version}. The report compares scores by backend "
        f"and version only, so a change of meaning needs a new version: bump {name}'s version and pin {digest}")
    assert METRICS.describe(name).summary, f"{name} has no one-line summary for `motionbench metrics`"


@pytest.mark.parametrize(("name", "variant"), INSTANCES)
def test_class_equals_function_and_the_scorer_runs_it(name: str, variant: str, providers, request) -> None:
    inputs, items = request.getfixturevalue("scene_sample" if name in RECAPTURE_METRICS else "sample")
    metric = METRICS.load(name)(variant)
    scorer = Scorer([metric], providers)
    scored = scorer.score_sample(inputs.reference, list(items.values()), ground_truth=inputs.ground_truth,
                                 scene=inputs.scene)
    values = {}
    for job, item in items.items():
        f = features(metric, providers, inputs, item)
        values[job] = metric(**f)
        assert values[job] == pytest.approx(FUNCTIONS[name](f, metric), abs=1e-12)
        (outcome,) = scored[job]
        assert (outcome.metric, outcome.variant, outcome.status) == (name, variant, "ok"), outcome.reason
        assert outcome.value == pytest.approx(values[job], abs=1e-6)
        assert (outcome.version, outcome.higher_is_better, outcome.convention) == (
            metric.version, metric.higher_is_better, metric.convention)
        assert outcome.backend == scorer.backend_of(metric)
    metric.reset()
    for item in items.values():
        metric.update(**features(metric, providers, inputs, item))
    assert metric.compute() == pytest.approx(np.mean(list(values.values())))
    if name in DIRECTIONAL:
        same_is_better = values["same"] > values["other"] if metric.higher_is_better else values["same"] < values["other"]
        assert same_is_better, values


def test_a_metric_that_breaks_the_contract_is_refused_when_loaded() -> None:
    from motionbench.errors import ConfigError

    class Unknown(Metric):
        name, higher_is_better, version, convention = "unknown", True, "1", "x"
        needs = ("optical_flow",)

        def __call__(self, optical_flow):
            return 0.0

    class Mismatched(Metric):
        name, higher_is_better, version, convention = "mismatched", True, "1", "x"
        needs = ("generated_frames",)

        def __call__(self, reference_frames):
            return 0.0

    with pytest.raises(ConfigError, match=r"needs \['optical_flow'\]; it must name features among generated_frames"):
        check_metric_class(Unknown)
    for cost in ("tuning_s", "generate_s", "peak_memory_gib"):  # a column of that name is the cost's
        named = type("Named", (Metric,), {"name": cost, "higher_is_better": True, "version": "1", "convention": "x",
                                          "needs": ("generated_frames",), "__call__": lambda self, generated_frames: 0.0})
        with pytest.raises(ConfigError, match=f"name '{cost}' is a cost column of the leaderboard"):
            check_metric_class(named)
    with pytest.raises(ConfigError, match=r"__call__ takes \['reference_frames'\] but needs says \['generated_frames'\]"):
        check_metric_class(Mismatched)
