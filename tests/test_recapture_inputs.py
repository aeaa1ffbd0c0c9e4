"""Inputs of the recapture pipeline: composite masks, depth adapters, and resizing a source with its camera."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from motionbench.bench.scenes import render_clip
from motionbench.errors import ConfigError, WeightsError
from motionbench.recapture.depth import ExactDepth, HubDepth, disparity_to_depth, fill_holes
from motionbench.recapture.masks import dilate_holes, editing_visibility, sample_mask_kind
from motionbench.recapture.task import SourceClip, resize_source
from motionbench.weights import WeightsMissing

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from recapture_support import tiny_depth_checkpoint  # noqa: E402


def test_editing_masks_leave_the_first_frame_whole_and_drift():
    rng = np.random.default_rng(0)
    for _ in range(5):
        vis = editing_visibility(9, 32, 48, rng, min_area=0.1, max_area=0.3)
        assert vis[0].all()
        holes = 1 - vis[1:].reshape(8, -1).mean(axis=1)
        assert (holes > 0).all() and (holes < 0.45).all()
    assert not np.array_equal(vis[1], vis[-1])
    with pytest.raises(ConfigError, match="min_area"):
        editing_visibility(3, 8, 8, rng, min_area=0.5, max_area=0.2)


def test_mask_kinds_follow_their_probabilities():
    rng = np.random.default_rng(1)
    draws = [sample_mask_kind(rng, probabilities=(0.0, 3.0, 1.0)) for _ in range(400)]
    assert "point_cloud" not in draws
    assert 0.65 < draws.count("editing") / 400 < 0.85
    assert {sample_mask_kind(rng, kinds=("point_cloud",)) for _ in range(10)} == {"point_cloud"}
    with pytest.raises(ConfigError, match="subset"):
        sample_mask_kind(rng, kinds=("blobs",))
    with pytest.raises(ConfigError, match="non-negative"):
        sample_mask_kind(rng, probabilities=(1.0, -1.0, 1.0))


def test_dilating_holes_grows_them_by_the_given_pixels():
    vis = np.ones((1, 11, 11), bool)
    vis[0, 5, 5] = False
    grown = dilate_holes(vis, 2)
    assert (~grown).sum() == 25 and not grown[0, 3:8, 3:8].any()
    assert np.array_equal(dilate_holes(vis, 0), vis)


def test_depth_holes_fill_from_the_farthest_neighbour():
    depth = np.full((1, 5, 7), 2.0, np.float32)
    depth[0, :, 4:] = 9.0
    vis = np.ones((1, 5, 7), bool)
    vis[0, :, 3] = False  # a disocclusion between a near (2) and a far (9) surface
    filled = fill_holes(depth, vis)
    assert np.allclose(filled[0, :, 3], 9.0) and np.array_equal(filled[vis], depth[vis])
    with pytest.raises(ConfigError, match="no known depth"):
        fill_holes(depth, np.zeros_like(vis))


def test_relative_disparity_becomes_depth_by_the_documented_convention():
    disp = np.ones((3, 4, 4))
    disp[:, :2] = 4.0  # top half four times nearer
    disp[1] *= 2.0  # frame 1's scale flickers
    depth = disparity_to_depth(disp)
    # Frame 0's median disparity (2.5) is disparity 1, i.e. depth 1: 4 -> 1/1.6, 1 -> 1/0.4.
    assert depth[0, 0, 0] == pytest.approx(0.625) and depth[0, 3, 0] == pytest.approx(2.5)
    assert np.allclose(depth[1], depth[0]) and np.allclose(depth[2], depth[0])  # scale flicker removed


def test_exact_depth_checks_its_shape():
    frames = np.zeros((2, 4, 4, 3), np.uint8)
    assert ExactDepth(np.ones((2, 4, 4))).estimate(frames).dtype == np.float32
    with pytest.raises(ConfigError, match="does not match"):
        ExactDepth(np.ones((3, 4, 4))).estimate(frames)
    with pytest.raises(ConfigError, match="positive"):
        ExactDepth(np.zeros((2, 4, 4))).estimate(frames)


def test_hub_depth_is_offline_first_and_runs_a_local_checkpoint(tmp_path, monkeypatch):
    monkeypatch.delenv("MOTIONBENCH_ALLOW_DOWNLOAD", raising=False)
    assert HubDepth().backend == "hf:depth-anything/Depth-Anything-V2-Small-hf"
    with pytest.raises(WeightsMissing, match="huggingface-cli download motionbench-test/no-such-depth-model"):
        HubDepth("motionbench-test/no-such-depth-model").estimate(np.zeros((1, 8, 8, 3), np.uint8))
    tiny_depth_checkpoint(tmp_path)
    frames = np.random.default_rng(0).integers(0, 256, size=(3, 40, 48, 3)).astype(np.uint8)
    estimator = HubDepth(str(tmp_path))
    depth = estimator.estimate(frames)
    assert depth.shape == (3, 40, 48) and (depth > 0).all()
    assert depth[0].min() <= 1.0 <= depth[0].max()  # frame 0's median disparity is depth 1
    assert estimator.backend == f"hf:{tmp_path}"
    (tmp_path / "empty").mkdir()
    with pytest.raises(WeightsError, match="not a transformers depth checkpoint"):
        HubDepth(str(tmp_path / "empty")).estimate(frames)


def test_resizing_a_source_keeps_its_camera_consistent():
    clip = render_clip(4, num_frames=1, size=(64, 48))
    source = SourceClip("s", clip.source.frames, clip.fps, clip.intrinsics, clip.source.depth, "exact")
    small = resize_source(source, (32, 32))  # cover (43x32) and crop the sides
    assert small.frames.shape == (1, 32, 32, 3)
    # Rendering the scene directly with the adjusted intrinsics gives the same picture and depth.
    direct = clip.scene.render(np.eye(4)[None], small.intrinsics, np.zeros(1), (32, 32))
    err = np.abs(direct.frames.astype(float) - small.frames.astype(float)).mean()
    assert err < 6.0
    assert np.median(np.abs(direct.depth - small.depth) / direct.depth) < 0.01
    assert source.key != small.key and resize_source(source, (64, 48)) is source
