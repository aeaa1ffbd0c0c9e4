"""Trackers against clips whose motion is known by construction.

The clips here are textured images moved by known sub-pixel paths (a camera pan, or a textured
square over a textured background), so every grid point has a ground-truth track. The CoTracker3
wrapper runs against a stand-in co-tracker checkout (tests/fixtures/cotracker_hub) whose output is
a known function of its inputs; the tests with a real checkout run only where one is given.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from motionbench.errors import ConfigError, WeightsError
from motionbench.metrics.trackers import (DEFAULT_GRID, CoTracker3Tracker, LKTracker, build_tracker, grid_points,
                                          scale_box)
from motionbench.metrics.tracks import Tracks

SIZE = 96


def texture(seed: int, size: int, sigma: float = 1.5) -> np.ndarray:
    """Smooth random RGB texture, uint8 [size, size, 3]."""
    import cv2

    rng = np.random.default_rng(seed)
    img = rng.random((size, size, 3)).astype(np.float32)
    img = cv2.GaussianBlur(img, (0, 0), sigma)
    img = (img - img.min()) / (img.max() - img.min())
    return (img * 255).astype(np.uint8)


def path(kind: str, t: np.ndarray, amp: float = 10.0) -> np.ndarray:
    """Displacement [T, 2] along a named path, starting at (0, 0)."""
    u = t / max(1, t[-1])
    if kind == "line":
        d = np.stack([amp * u, 0.5 * amp * u], -1)
    elif kind == "zigzag":
        d = np.stack([amp * u, 0.6 * amp * np.abs(((4 * u) % 2) - 1) - 0.6 * amp], -1)
    elif kind == "circle":
        d = np.stack([0.6 * amp * np.sin(2 * np.pi * u), 0.6 * amp * (1 - np.cos(2 * np.pi * u))], -1)
    elif kind == "static":
        d = np.zeros((len(t), 2))
    else:
        raise ValueError(kind)
    return d - d[0]


def camera_clip(kind: str, *, seed: int = 0, frames: int = 12, size: int = SIZE, grid: int = 12, amp: float = 10.0):
    """A pan over a texture: frames uint8 [T, H, W, 3] and exact tracks of a grid."""
    import cv2

    pad = 24 + int(amp)
    canvas = texture(seed, size + 2 * pad)
    # the same path over any number of frames: sampled at evenly spaced times of one motion
    d = path(kind, np.linspace(0, 11, frames), amp)
    out = []
    for dx, dy in d:
        m = np.float32([[1, 0, dx - pad], [0, 1, dy - pad]])
        out.append(cv2.warpAffine(canvas, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT))
    pts = grid_points((size, size), grid)
    tracks = pts[:, None, :] + d[None].astype(np.float32)
    return np.stack(out), Tracks(tracks, np.ones(tracks.shape[:2], bool), (size, size))


def object_clip(kind: str, *, seed: int = 0, frames: int = 12, size: int = SIZE, side: int = 36):
    """A textured square moving over a static textured background; tracks of points on the square."""
    import cv2

    bg = texture(seed + 100, size)
    fg = texture(seed + 200, side, sigma=1.0)
    d = path(kind, np.arange(frames, dtype=np.float64), amp=16.0)
    x0 = y0 = (size - side) / 2 - 8
    out = []
    for dx, dy in d:
        m = np.float32([[1, 0, x0 + dx], [0, 1, y0 + dy]])
        layer = cv2.warpAffine(fg, m, (size, size), flags=cv2.INTER_LINEAR)
        alpha = cv2.warpAffine(np.ones((side, side), np.float32), m, (size, size), flags=cv2.INTER_LINEAR)[..., None]
        out.append((alpha * layer + (1 - alpha) * bg).astype(np.uint8))
    box = (x0 + 4, y0 + 4, x0 + side - 5, y0 + side - 5)
    g = np.linspace(0, 1, 8)
    pts = np.stack(np.meshgrid(box[0] + g * (box[2] - box[0]), box[1] + g * (box[3] - box[1])), -1).reshape(-1, 2)
    tracks = pts[:, None, :] + d[None]
    return np.stack(out), Tracks(tracks, np.ones(tracks.shape[:2], bool), (size, size)), box


def test_lk_follows_a_camera_pan_within_a_pixel():
    frames, gt = camera_clip("zigzag", grid=10)
    est = LKTracker(grid=10).track(frames)
    err = np.linalg.norm(est.tracks - gt.tracks, axis=-1)
    assert np.median(err) < 0.5, np.median(err)
    assert est.visibility.mean() > 0.8


def test_lk_follows_a_moving_object_inside_its_box():
    frames, gt, box = object_clip("circle")
    est = LKTracker(grid=40).track(frames, box=box)
    assert est.num_points > 20
    # ground truth at the tracker's seeds: the object translates rigidly
    d = gt.tracks[0] - gt.tracks[0, 0]
    truth = est.tracks[:, :1] + d[None]
    err = np.linalg.norm(est.tracks - truth, axis=-1)
    assert np.median(err) < 1.0, np.median(err)


def test_lk_follows_an_object_whose_colour_has_the_luma_of_the_background():
    """The toy world's green (35, 170, 60) on gray (117, 117, 117) is one grey level (117): a tracker
    on grey images loses every point at the first step. LK on luma and chroma follows it."""
    from motionbench.bench.toy.vocab import BACKGROUNDS, COLOURS

    size, frames = 48, 10
    green, gray = np.array(COLOURS["green"], np.float32), np.array(BACKGROUNDS["gray"], np.float32)
    luma = np.array([0.299, 0.587, 0.114], np.float32)
    assert abs(float(green @ luma) - float(gray @ luma)) < 1.0  # the premise: equal luma
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    clip = []
    for t in range(frames):
        cx, cy = 16.0 + 0.8 * t, 20.0 + 0.4 * t
        inside = np.clip(7.5 - np.hypot(xx - cx, yy - cy), 0, 1)[..., None]  # an anti-aliased disc
        clip.append(np.rint(inside * green + (1 - inside) * gray).astype(np.uint8))
    start = np.array([[16.0, 20.0], [19.0, 21.0], [13.0, 18.0]])
    est = LKTracker().track_points(np.stack(clip), start)
    truth = start[:, None, :] + np.stack([0.8 * np.arange(frames), 0.4 * np.arange(frames)], -1)[None]
    assert est.visibility.all()
    assert np.abs(est.tracks - truth).max() < 0.25


def test_lk_on_a_static_clip_reports_no_motion():
    frames = np.repeat(texture(3, SIZE)[None], 6, axis=0)
    est = LKTracker(grid=8).track(frames)
    assert np.abs(est.tracks - est.tracks[:, :1]).max() < 1e-3
    assert est.visibility.all()


def test_lk_drops_points_that_fail_the_forward_backward_check():
    """A step is kept only if tracking the point back lands within ``fb_threshold`` pixels of where it
    started. On a smooth sub-pixel pan LK's round trip misses by a few hundredths of a pixel: a
    threshold below that fails (nearly) every point, and the lost points add no motion of their own."""
    frames, gt = camera_clip("line", frames=4, grid=8, amp=3.0)
    kept = LKTracker(grid=8).track(frames)
    assert kept.visibility[:, 1:].mean() > 0.9
    strict = LKTracker(grid=8, fb_threshold=1e-7, search=0).track(frames)
    assert strict.visibility[:, 0].all() and strict.visibility[:, 1:].mean() < 0.1
    lost = ~strict.visibility[:, 1]
    np.testing.assert_array_equal(strict.tracks[lost, 1], strict.tracks[lost, 0])  # held: nothing left to follow
    # the second chance (patch search + single-level LK) is held to the same check
    searched = LKTracker(grid=8, fb_threshold=1e-7).track(frames)
    assert searched.visibility[:, 1:].mean() < 0.1


def test_grid_is_the_lattice_of_both_axes_with_a_margin_of_a_64th():
    pts = grid_points((64, 32), 3)
    xs, ys = [1.0, 31.5, 62.0], [0.5, 15.5, 30.5]  # from w/64 to w - 1 - w/64, and the same in y
    assert pts.tolist() == [[x, y] for y in ys for x in xs]  # row by row, x fastest


def test_a_tracker_choice_cannot_be_changed_once_made():
    """The backend id recorded with every score is the chosen tracker's: the choice is frozen."""
    import dataclasses

    choice = build_tracker("lk", grid=8)
    with pytest.raises(dataclasses.FrozenInstanceError):
        choice.tracker = None  # type: ignore[misc]


def test_grid_is_kept_inside_the_box():
    pts = grid_points((100, 50), 10, box=(10, 5, 40, 30))
    assert len(pts) > 0
    assert (pts[:, 0] >= 10).all() and (pts[:, 0] <= 40).all() and (pts[:, 1] >= 5).all() and (pts[:, 1] <= 30).all()


def test_auto_falls_back_to_lk_and_names_it(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("MOTIONBENCH_COTRACKER_REPO", raising=False)
    choice = build_tracker("auto", grid=20)
    assert isinstance(choice.tracker, LKTracker) and choice.tracker.backend.startswith("lk:") and "grid=20" in choice.tracker.backend
    missing = build_tracker("cotracker3")
    assert missing.tracker is None and "motionbench download cotracker" in missing.unavailable


def test_unknown_tracker_and_bad_grid_are_clear_errors():
    from motionbench.errors import ConfigError

    with pytest.raises(ConfigError, match="choose one of"):
        build_tracker("raft")
    with pytest.raises(ConfigError, match="--grid .* must be from 2 to 256, got 1"):
        build_tracker("lk", grid=1)
    with pytest.raises(ConfigError, match="must be from 2 to 256, got 100000"):  # 10^10 tracks otherwise
        build_tracker("lk", grid=100_000)


# ---------------------------------------------------------------------------------------------
# CoTracker3 through MotionBench's own loader, from a local co-tracker checkout (random weights).

COTRACKER_REPO = __import__("os").environ.get("MOTIONBENCH_COTRACKER_REPO")
needs_cotracker = pytest.mark.skipif(
    not COTRACKER_REPO, reason="set MOTIONBENCH_COTRACKER_REPO to a local co-tracker checkout to run this test")


@needs_cotracker
def test_cotracker3_builds_and_tracks_with_random_weights():
    import torch

    from motionbench.metrics.trackers import CoTracker3Tracker
    from motionbench.weights import locate_cotracker_repo

    torch.manual_seed(0)
    repo = locate_cotracker_repo()
    frames, _ = camera_clip("line", frames=8, size=64)
    tracker = CoTracker3Tracker(repo.path, None, grid=5)
    full = tracker.track(frames)
    assert full.tracks.shape == (25, 8, 2) and np.isfinite(full.tracks).all()
    assert tracker.backend == "cotracker3_offline:random-init:grid=5"
    box = (8.0, 8.0, 40.0, 40.0)
    part = tracker.track(frames, box=box)
    start = part.tracks[:, 0]
    assert 0 < part.num_points < 25
    assert ((start >= np.array(box[:2]) - 1) & (start <= np.array(box[2:]) + 1)).all()


@needs_cotracker
def test_cotracker3_checkpoint_file_loads_through_the_scorer(tmp_path):
    import torch

    from motionbench.metrics.scorer import FeatureOptions, build_scorer
    from motionbench.metrics.api import ScoringItem
    from motionbench.video import Clip

    torch.manual_seed(0)
    predictor = torch.hub.load(COTRACKER_REPO, "cotracker3_offline", source="local", pretrained=False)
    ckpt = tmp_path / "scaled_offline.pth"
    torch.save(predictor.model.state_dict(), ckpt)
    scorer = build_scorer(("motion_fidelity",), FeatureOptions(tracker="cotracker3", grid=4, tracker_repo=COTRACKER_REPO,
                                                               tracker_checkpoint=str(ckpt)))
    backend = scorer.backends()["motion_fidelity"]
    assert backend.startswith("cotracker3_offline:sha256=") and backend.endswith("grid=4")
    ref = Clip(camera_clip("line", frames=6, size=64)[0], 8.0)
    out = scorer.score_sample(ref, [ScoringItem("j", ref, "p")])
    values = {v.variant: v for v in out["j"]}
    assert all(values[v].status == "ok" and np.isfinite(values[v].value) for v in ("dmt", "symmetric")), values
    # Random weights give random visibility; when the reference has no visible step, matched says so.
    matched = values["matched"]
    assert (matched.status == "ok" and np.isfinite(matched.value)) or (
        matched.status == "error" and "no reliable reference motion" in matched.reason), matched


def _gray(seed: int = 3, size: int = 160) -> np.ndarray:
    import cv2

    return cv2.cvtColor(texture(seed, size), cv2.COLOR_RGB2GRAY)


def test_patch_ncc_is_the_normalised_correlation_of_the_two_patches():
    from motionbench.metrics.trackers import _patch_ncc

    a = _gray()
    p = np.array([60.0, 70.0])
    assert _patch_ncc(a, a, p, p, 7) == pytest.approx(1.0, abs=1e-6)
    assert _patch_ncc(a, 255 - a, p, p, 7) == pytest.approx(-1.0, abs=1e-6)  # the inverted look
    assert _patch_ncc(a, a, p, p + 40, 7) < 0.5  # another place of the texture
    # a barely textured patch (one grey level on one pixel): still a correlation, not "flat"
    flat = np.full((40, 40), 100, np.uint8)
    up, down = flat.copy(), flat.copy()
    up[20, 20], down[20, 20] = 101, 99
    assert _patch_ncc(up, down, np.array([20.0, 20.0]), np.array([20.0, 20.0]), 7) == pytest.approx(-1.0, abs=1e-6)
    assert _patch_ncc(flat, up, np.array([20.0, 20.0]), np.array([20.0, 20.0]), 7) == 1.0  # flat: nothing to compare


def test_patch_ncc_near_an_edge_compares_only_what_is_in_view():
    """A patch that crosses the frame's edge is filled out by repeating the border; those pixels are
    not the scene, and counting them made a correctly tracked point 1 px from the edge fail the check."""
    from motionbench.metrics.trackers import _patch_ncc

    a = _gray(size=64)
    b = np.roll(a, 3, axis=1)  # the content moves 3 px right
    for x in (56.0, 59.0):  # the moved patch reaches 4 and 1 px past the right edge
        pa = np.array([x, 30.0])
        assert _patch_ncc(a, b, pa, pa + (3, 0), 7) == pytest.approx(1.0, abs=1e-6)
    pa = np.array([6.0, 30.0])
    assert _patch_ncc(b, a, pa, pa - (3, 0), 7) == pytest.approx(1.0, abs=1e-6)  # and the left edge


def test_search_looks_no_farther_than_its_radius_in_any_direction():
    """A patch moved 12 px is found with a 16-px search and not with an 8-px one, whichever way it
    moved: the searched window is the radius around the point, on all four sides."""
    a = _gray(size=160)
    p = np.array([[80.0, 80.0]])
    for dx, dy in [(12, 0), (-12, 0), (0, 12), (0, -12)]:
        b = np.roll(a, (dy, dx), axis=(0, 1))
        guesses, found = LKTracker(search=16, patch=7)._search(a, b, p)
        assert found[0] and guesses[0] == pytest.approx(p[0] + (dx, dy), abs=1e-6), (dx, dy)
        _, found = LKTracker(search=8, patch=7)._search(a, b, p)
        assert not found[0], (dx, dy)


def test_search_with_a_radius_of_two_pixels_still_searches():
    a = _gray(size=64)
    p = np.array([[30.0, 30.0]])
    guesses, found = LKTracker(search=2, patch=7)._search(a, np.roll(a, (-2, 2), axis=(0, 1)), p)
    assert found[0] and guesses[0] == pytest.approx(p[0] + (2, -2), abs=1e-6)


def test_search_finds_a_patch_of_faint_texture():
    """One grey level of texture (a standard deviation of half a level) is still texture."""
    rng = np.random.default_rng(0)
    a = (100 + rng.integers(0, 2, (64, 64))).astype(np.uint8)
    assert 0.4 < a[23:38, 23:38].std() < 0.6
    p = np.array([[30.0, 30.0]])
    guesses, found = LKTracker(search=8, patch=7)._search(a, np.roll(a, (3, -4), axis=(0, 1)), p)
    assert found[0] and guesses[0] == pytest.approx(p[0] + (-4, 3), abs=1e-6)


def test_on_colour_images_a_flat_patch_is_flat_whatever_its_colour():
    """The correlation and the search's flatness test take each channel about its own mean: a patch of
    one colour has three channel levels, which are not texture (before, their differences correlated)."""
    from motionbench.metrics.trackers import _patch_ncc

    green, gray = np.full((40, 40, 3), (35, 170, 60), np.uint8), np.full((40, 40, 3), (117, 117, 117), np.uint8)
    p = np.array([20.0, 20.0])
    assert _patch_ncc(green, gray, p, p, 7) == 1.0  # flat: nothing to compare
    b = np.roll(texture(2, 40), 2, axis=1)
    assert _patch_ncc(texture(2, 40), b, p, p + (2, 0), 7) == pytest.approx(1.0, abs=1e-6)
    _, found = LKTracker(search=8, patch=7)._search(green, gray, p[None])
    assert not found[0]  # a flat colour is not searched for


def test_a_point_lk_cannot_follow_out_of_a_flat_frame_is_lost_even_if_the_way_back_agrees():
    """Frame 0 is flat where the point is, so LK forward fails (status 0) and leaves it in place;
    tracking back from the blob that appears there lands on the start. The step is still refused."""
    yy, xx = np.mgrid[0:64, 0:64].astype(np.float32)
    a = np.full((64, 64, 3), 120, np.uint8)
    blob = 60 * np.exp(-((xx - 32) ** 2 + (yy - 32) ** 2) / 8.0)
    b = np.clip(120 + blob[..., None], 0, 255).repeat(3, axis=2).astype(np.uint8)
    est = LKTracker(search=0).track_points(np.stack([a, b]), np.array([[32.0, 32.0]]))
    assert est.visibility.tolist() == [[True, False]]


def test_patch_ncc_of_patches_wholly_out_of_view_compares_nothing():
    from motionbench.metrics.trackers import _patch_ncc

    a = _gray(size=32)
    assert _patch_ncc(a, a, np.array([16.0, 16.0]), np.array([-20.0, -20.0]), 3) == 1.0


def test_search_finds_a_patch_moved_within_its_radius_to_the_sub_pixel_offset():
    tracker = LKTracker(search=32, patch=7)
    a = _gray(size=200)
    shifts = [(20, 13), (32, 0), (0, 32), (-25, -30), (0, 25)]
    points = np.array([[80.3, 90.6], [80.3, 90.6], [80.3, 90.6], [120.4, 130.2], [90.7, 10.2]])
    for (dx, dy), p in zip(shifts, points):
        b = np.roll(a, (dy, dx), axis=(0, 1))
        guesses, found = tracker._search(a, b, p[None])
        assert found[0], (dx, dy)
        assert guesses[0] == pytest.approx(p + (dx, dy), abs=1e-6), (dx, dy)
    # beyond the radius: not searched, so the true place is not what comes back
    for dx, dy in [(0, -60), (60, 0), (0, 60)]:
        b = np.roll(a, (dy, dx), axis=(0, 1))
        guesses, found = tracker._search(a, b, np.array([[100.0, 100.0]]))
        assert not found[0] or np.abs(guesses[0] - (100 + dx, 100 + dy)).max() > 2, (dx, dy)


def test_search_recovers_points_that_single_level_lk_loses():
    a = _gray(size=160)
    frames = np.stack([np.repeat(np.roll(a, (0, 18 * i), axis=(0, 1))[..., None], 3, -1) for i in range(3)])
    points = grid_points((160, 160), 6, (40, 40, 100, 100))
    lost = LKTracker(levels=0, search=0).track_points(frames, points)
    found = LKTracker(levels=0, search=32).track_points(frames, points)
    truth = points[:, None] + np.array([[0, 0], [18, 0], [36, 0]])[None]
    assert lost.visibility[:, 1:].mean() < 0.5  # 18 px a frame is too far for one LK level
    assert found.visibility.all()
    assert np.abs(found.tracks - truth).max() < 0.5


def test_points_lost_at_a_step_move_with_their_nearest_visible_neighbours():
    tracker = LKTracker(neighbours=1)
    tracks = np.zeros((3, 2, 2), np.float32)
    tracks[:, 0] = [[10, 10], [12, 10], [-20, 10]]  # lost point, its neighbour A, a far point B
    tracks[1, 1] = [62, 10]  # A moved 50 px; B stayed (nearer to the lost point's old place than A's new one)
    tracks[2, 1] = [-20, 10]
    tracks[0, 1] = [999, 999]  # what LK left for the lost point
    tracker._carry_lost(tracks, np.array([False, True, True]), 1)
    assert tracks[0, 1].tolist() == [60, 10]
    everyone = tracks.copy()
    tracker._carry_lost(tracks, np.array([False, False, False]), 1)  # nobody to follow: left as it is
    assert np.array_equal(tracks, everyone)



def test_lk_marks_points_that_leave_through_the_top_of_the_frame_invisible():
    """LK still follows a point a few pixels past the frame's edge (its window reaches outside); the
    tracker must call it invisible there, and carry it along with the points still in view."""
    import cv2

    canvas = texture(5, 200)
    frames = np.stack([cv2.warpAffine(canvas, np.float32([[1, 0, -50], [0, 1, -50 - 3.0 * i]]), (SIZE, SIZE),
                                      flags=cv2.INTER_LINEAR) for i in range(3)])  # content moves up 3 px a frame
    pts = np.array([[x, y] for x in (20.0, 48.0, 76.0) for y in (1.0, 4.0, 30.0, 60.0)], np.float32)
    est = LKTracker(search=0).track_points(frames, pts)
    truth = pts[:, None] + np.array([[0, 0], [0, -3], [0, -6]], np.float32)[None]
    assert np.abs(est.tracks - truth).max() < 0.5  # followed (or carried) upwards, in view or not
    assert est.visibility.tolist() == [[True, y > 3, y > 6] for _, y in pts]  # visible exactly while y >= 0
    assert (est.tracks[est.visibility][:, 1] >= 0).all()


def test_points_lost_with_fewer_visible_points_than_neighbours_follow_all_of_them():
    tracker = LKTracker()  # 8 neighbours, but only 3 points are still tracked
    tracks = np.zeros((4, 2, 2), np.float32)
    tracks[:, 0] = [[10, 10], [20, 10], [30, 10], [40, 10]]
    tracks[1:, 1] = tracks[1:, 0] + [[1, 0], [3, 2], [50, 1]]  # the median step of the three: (3, 1)
    tracker._carry_lost(tracks, np.array([False, True, True, True]), 1)
    assert tracks[0, 1].tolist() == [13, 11]

# ---------------------------------------------------------------------------------------------
# The CoTracker3 wrapper against a stand-in co-tracker checkout (tests/fixtures/cotracker_hub): the
# real torch.hub loading path, a small real torch module with CoTrackerPredictor's calling
# convention, and outputs that are a known function of its inputs (see that hubconf's docstring).

FAKE_HUB = Path(__file__).parent / "fixtures" / "cotracker_hub"
FAKE_STEP = (0.5, -0.25)  # the double's per-frame displacement before a checkpoint is loaded
W, H, T = 32, 24, 5  # W != H and N (= grid**2) != T, so a swapped axis shows


def rgb_frames(seed: int = 0) -> np.ndarray:
    """uint8 [T, H, W, 3] whose three channels differ, with the extreme values 0 and 255 present."""
    frames = np.random.default_rng(seed).integers(0, 256, (T, H, W, 3), dtype=np.uint8)
    frames[0, 0, 0] = (0, 128, 255)
    frames[..., 2] //= 2  # blue darker than red: RGB and BGR differ everywhere on average
    return frames


@pytest.fixture
def hub_loads(monkeypatch):
    """Spy on torch.hub.load (which still runs for real): one record per load, with the model it made."""
    import torch

    real = torch.hub.load
    loads = []

    def spy(*args, **kwargs):
        model = real(*args, **kwargs)
        loads.append(SimpleNamespace(args=args, kwargs=kwargs, model=model))
        return model

    monkeypatch.setattr(torch.hub, "load", spy)
    return loads


@pytest.fixture
def no_user_caches(tmp_path, monkeypatch) -> Path:
    """No co-tracker checkout or checkpoint anywhere: an empty torch hub dir, no env override. Returns the hub dir."""
    from motionbench import weights

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("MOTIONBENCH_COTRACKER_REPO", raising=False)
    assert weights.torch_hub_dir() == tmp_path / "torch" / "hub"
    return weights.torch_hub_dir()


def make_hub(folder: Path, **options) -> Path:
    """A copy of the fake checkout in ``folder``, with the double's options in its double.json."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(FAKE_HUB / "hubconf.py", folder / "hubconf.py")
    if options:
        (folder / "double.json").write_text(json.dumps(options))
    return folder


def save_checkpoint(path: Path, step: tuple[float, float], *, nested: bool = False) -> Path:
    """A checkpoint of the double's network with the given per-frame step, as co-tracker's state_dict."""
    import torch

    predictor = torch.hub.load(str(FAKE_HUB), "cotracker3_offline", source="local", pretrained=False)
    with torch.no_grad():
        predictor.model.step.copy_(torch.tensor(step))
    state = predictor.model.state_dict()
    torch.save({"model": state} if nested else state, path)
    return path


def test_cotracker3_model_gets_the_rgb_video_as_0_to_255_floats_and_a_grid_without_mask(hub_loads):
    import torch

    frames = rgb_frames()
    tracker = CoTracker3Tracker(FAKE_HUB, None, grid=4)
    tracker.track(frames)
    (load,) = hub_loads
    assert load.args[0] == str(FAKE_HUB)
    (call,) = load.model.calls
    assert tuple(call.video.shape) == (1, T, 3, H, W) and call.video.dtype == torch.float32
    assert call.video.device == torch.device(tracker.device)
    # the same numbers in the same channel order: not scaled to 0..1, not BGR
    expected = torch.from_numpy(frames).float().permute(0, 3, 1, 2)
    assert torch.equal(call.video[0], expected)
    assert call.video.max() == 255 and call.video.min() == 0
    assert call.segm_mask is None and call.queries is None and call.grid_size == 4
    assert not call.training and not call.grad_enabled  # eval mode, no autograd graph


@pytest.mark.parametrize("box, rows, cols", [
    ((4.4, 5.6, 20.4, 30.0), (6, 23), (4, 20)),  # rounded; bottom edge clipped to the frame
    ((-3.2, -1.0, 9.6, 7.4), (0, 7), (0, 10)),  # top-left clipped to the frame
    # a one-pixel box: the rectangle is inclusive (the double's 12x12 lattice has a point at (9.86, 8.99))
    ((10.0, 9.0, 10.0, 9.0), (9, 9), (10, 10)),
])
def test_cotracker3_box_becomes_a_segm_mask_of_its_inclusive_pixel_rectangle(hub_loads, box, rows, cols):
    import torch

    tracker = CoTracker3Tracker(FAKE_HUB, None, grid=12)
    out = tracker.track(rgb_frames(), box=box)
    call = hub_loads[0].model.calls[0]
    expected = torch.zeros(H, W)
    expected[rows[0]:rows[1] + 1, cols[0]:cols[1] + 1] = 1
    assert tuple(call.segm_mask.shape) == (1, 1, H, W)
    assert torch.equal(call.segm_mask[0, 0], expected)
    assert call.grid_size == 12
    # the points come back as the model kept them, inside the box's pixels
    assert 0 < out.num_points < 12 * 12
    start = out.tracks[:, 0]
    assert ((start.round() >= (cols[0], rows[0])) & (start.round() <= (cols[1], rows[1]))).all()


@pytest.mark.parametrize("trailing_dim", [False, True])
def test_cotracker3_tracks_come_back_as_points_by_frames(tmp_path, hub_loads, trailing_dim):
    """[B, T, N, 2] -> Tracks [N, T, 2] float64; visibility [B, T, N] (or [B, T, N, 1]) -> bool [N, T]."""
    hub = make_hub(tmp_path / "hub", vis_trailing_dim=trailing_dim)
    out = CoTracker3Tracker(hub, None, grid=4).track(rgb_frames())
    points = hub_loads[0].model.calls[0].points.numpy()
    n = 16
    assert out.tracks.shape == (n, T, 2) and out.tracks.dtype == np.float64
    assert out.visibility.shape == (n, T) and out.visibility.dtype == bool
    assert out.size == (W, H)
    expected = points[:, None, :] + np.arange(T)[None, :, None] * np.array(FAKE_STEP)
    np.testing.assert_allclose(out.tracks, expected, atol=1e-5)
    idx_n, idx_t = np.meshgrid(np.arange(n), np.arange(T), indexing="ij")
    expected_vis = ((idx_n + 2 * idx_t) % 5 != 4) | (idx_t == 0)
    np.testing.assert_array_equal(out.visibility, expected_vis)


def test_cotracker3_box_without_grid_points_is_a_config_error_naming_it():
    # the double's 3x3 lattice on 32x24 lies at x in {3.1, 15.5, 27.9}, y in {2.3, 11.5, 20.7}
    box = (6.0, 4.0, 12.0, 9.0)
    with pytest.raises(ConfigError, match=re.escape(f"inside the box {box}")):
        CoTracker3Tracker(FAKE_HUB, None, grid=3).track(rgb_frames(), box=box)


@pytest.mark.parametrize("nested", [False, True])
def test_cotracker3_checkpoint_sets_the_weights_and_names_their_hash(tmp_path, nested):
    ckpt = save_checkpoint(tmp_path / "scaled_offline.pth", (2.0, 1.5), nested=nested)
    tracker = CoTracker3Tracker(FAKE_HUB, ckpt, grid=3)
    out = tracker.track(rgb_frames())
    moved = out.tracks - out.tracks[:, :1]
    np.testing.assert_allclose(moved, np.broadcast_to(np.arange(T)[None, :, None] * np.array([2.0, 1.5]), moved.shape),
                               atol=1e-5)
    digest = hashlib.sha256(ckpt.read_bytes()).hexdigest()
    assert tracker.backend == f"cotracker3_offline:sha256={digest[:12]}:grid=3"


def test_cotracker3_backend_id_says_random_init_or_uses_the_given_hash(tmp_path):
    assert CoTracker3Tracker(FAKE_HUB, None, grid=7).backend == "cotracker3_offline:random-init:grid=7"
    # a known hash is used as given: the (here absent) file is not read to hash it again
    given = CoTracker3Tracker(FAKE_HUB, tmp_path / "absent.pth", grid=5, checkpoint_sha256="0123456789abcdef" * 4)
    assert given.backend == "cotracker3_offline:sha256=0123456789ab:grid=5"


@pytest.mark.parametrize("state", ["wrong key", "wrong shape"])
def test_cotracker3_checkpoint_that_does_not_fit_is_a_weights_error_naming_the_file(tmp_path, state):
    import torch

    ckpt = tmp_path / "other.pth"
    torch.save({"other_" + "k" * 200: torch.zeros(2)} if state == "wrong key" else {"step": torch.zeros(3)}, ckpt)
    tracker = CoTracker3Tracker(FAKE_HUB, ckpt, grid=3)
    pattern = "(?s)" + re.escape(str(ckpt)) + ".*does not fit cotracker3_offline.*scaled_offline.pth"
    with pytest.raises(WeightsError, match=pattern) as err:
        tracker.track(rgb_frames())
    model = torch.hub.load(str(FAKE_HUB), "cotracker3_offline", source="local", pretrained=False)
    with pytest.raises(RuntimeError) as cause:
        model.model.load_state_dict(torch.load(ckpt, weights_only=True))
    assert len(str(cause.value)) > 200 or state == "wrong shape"  # it quotes the first 200 characters, no more
    assert f"({str(cause.value)[:200]})" in str(err.value)


@pytest.mark.parametrize("hubconf", [
    "raise ImportError('No module named cotracker')\n",  # a checkout whose code does not import
    "def cotracker2(**kwargs):\n    raise AssertionError('not called')\n",  # no cotracker3_offline entry
    None,  # no hubconf.py at all
])
def test_cotracker3_broken_checkout_is_a_weights_error_naming_it(tmp_path, hubconf):
    folder = tmp_path / "not-co-tracker"
    folder.mkdir()
    if hubconf is not None:
        (folder / "hubconf.py").write_text(hubconf)
    tracker = CoTracker3Tracker(folder, None, grid=3)
    with pytest.raises(WeightsError, match=re.escape(f"from the checkout {folder} ") + ".*"
                       + re.escape("is it a clone of github.com/facebookresearch/co-tracker?")) as err:
        tracker.track(rgb_frames())
    if hubconf is not None and "ImportError" in hubconf:
        assert "No module named cotracker" in str(err.value)  # the cause is passed on


def test_cotracker3_model_is_loaded_once_for_many_clips(tmp_path, hub_loads):
    ckpt = save_checkpoint(tmp_path / "scaled_offline.pth", (1.0, 0.0))
    hub_loads.clear()  # save_checkpoint loaded the double itself
    tracker = CoTracker3Tracker(FAKE_HUB, ckpt, grid=3)
    first = tracker.track(rgb_frames(0))
    second = tracker.track(rgb_frames(1), box=(0, 0, W - 1, H - 1))
    assert len(hub_loads) == 1 and len(hub_loads[0].model.calls) == 2
    np.testing.assert_allclose(second.tracks, first.tracks, atol=1e-6)  # both with the checkpoint's weights


def test_cotracker3_runs_on_the_configured_gpu():
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    tracker = CoTracker3Tracker(FAKE_HUB, None, grid=3, device="cuda")
    out = tracker.track(rgb_frames(), box=(0, 0, W - 1, H - 1))
    call = tracker._model.calls[0]
    assert call.video.device.type == "cuda" and call.segm_mask.device.type == "cuda"
    assert out.tracks.shape == (9, T, 2) and isinstance(out.tracks, np.ndarray)


def test_build_cotracker3_from_a_given_checkout_and_checkpoint(tmp_path, no_user_caches):
    ckpt = save_checkpoint(tmp_path / "scaled_offline.pth", (0.0, 3.0))
    choice = build_tracker("cotracker3", grid=6, repo=FAKE_HUB, checkpoint=ckpt)
    tracker = choice.tracker
    assert isinstance(tracker, CoTracker3Tracker) and choice.requested == "cotracker3" and choice.unavailable is None
    assert tracker.grid == 6 and tracker.device == "cpu" and tracker.repo == FAKE_HUB and tracker.checkpoint == ckpt
    assert tracker.backend == f"cotracker3_offline:sha256={hashlib.sha256(ckpt.read_bytes()).hexdigest()[:12]}:grid=6"
    out = tracker.track(rgb_frames())
    assert out.num_points == 36 and out.tracks[:, -1, 1] - out.tracks[:, 0, 1] == pytest.approx(3.0 * (T - 1))
    other = build_tracker("cotracker3", device="cuda:1", repo=str(FAKE_HUB), checkpoint=str(ckpt)).tracker
    assert other.device == "cuda:1" and other.grid == DEFAULT_GRID  # built, not loaded: no GPU needed here


def test_auto_picks_cotracker3_from_the_torch_hub_cache_or_the_env_checkout(tmp_path, monkeypatch, no_user_caches):
    (no_user_caches / "checkpoints").mkdir(parents=True)
    ckpt = save_checkpoint(no_user_caches / "checkpoints" / "scaled_offline.pth", (1.0, 1.0))
    cached = make_hub(no_user_caches / "facebookresearch_co-tracker_main")
    choice = build_tracker("auto", grid=5)
    assert isinstance(choice.tracker, CoTracker3Tracker)
    assert choice.tracker.repo == cached and choice.tracker.checkpoint == ckpt and choice.tracker.grid == 5
    elsewhere = make_hub(tmp_path / "my-co-tracker")
    monkeypatch.setenv("MOTIONBENCH_COTRACKER_REPO", str(elsewhere))
    assert build_tracker("auto").tracker.repo == elsewhere  # the env checkout comes before the cache


def test_cotracker3_without_weights_is_unavailable_and_auto_falls_back_to_lk(no_user_caches, monkeypatch):
    # the code is there, the checkpoint is not
    monkeypatch.setenv("MOTIONBENCH_COTRACKER_REPO", str(FAKE_HUB))
    auto = build_tracker("auto", grid=9)
    assert isinstance(auto.tracker, LKTracker) and auto.tracker.grid == 9 and auto.unavailable is None
    missing = build_tracker("cotracker3")
    assert missing.tracker is None and missing.requested == "cotracker3"
    assert "scaled_offline.pth" in missing.unavailable and "motionbench download cotracker" in missing.unavailable
    # neither is there
    monkeypatch.delenv("MOTIONBENCH_COTRACKER_REPO")
    assert isinstance(build_tracker("auto").tracker, LKTracker)
    nothing = build_tracker("cotracker3")
    assert nothing.tracker is None and "co-tracker code is not on this machine" in nothing.unavailable


def test_explicit_cotracker_paths_that_are_wrong_are_errors_not_a_fallback(tmp_path, no_user_caches):
    ckpt = save_checkpoint(tmp_path / "scaled_offline.pth", (0.0, 0.0))
    with pytest.raises(WeightsError, match="has no hubconf.py"):
        build_tracker("auto", repo=tmp_path, checkpoint=ckpt)
    with pytest.raises(WeightsError, match=re.escape(str(tmp_path / "absent.pth")) + " not found"):
        build_tracker("auto", repo=FAKE_HUB, checkpoint=tmp_path / "absent.pth")


@pytest.mark.parametrize("name", ["lk", "gt"])
def test_lk_and_gt_build_the_lk_tracker_with_the_grid(name):
    choice = build_tracker(name, grid=7)
    assert isinstance(choice.tracker, LKTracker) and choice.tracker.grid == 7 and choice.requested == name
    assert build_tracker(name).tracker.grid == DEFAULT_GRID


def test_grid_points_refuses_a_grid_below_two_and_a_box_that_holds_no_point():
    with pytest.raises(ConfigError, match="at least 2 .* got 1"):
        grid_points((64, 48), 1)
    assert len(grid_points((64, 48), 2)) == 4
    box = (20.0, 20.0, 30.0, 30.0)  # the 2x2 grid sits near the corners
    with pytest.raises(ConfigError, match=re.escape(f"inside the box {box} of a 64x48 video")):
        grid_points((64, 48), 2, box)


def test_scale_box_maps_a_box_between_video_sizes():
    assert scale_box((10.0, 20.0, 30.0, 40.0), (100, 50), (200, 25)) == (20.0, 10.0, 60.0, 20.0)


def test_lk_needs_two_frames():
    with pytest.raises(ConfigError, match="at least 2 frames, got 1"):
        LKTracker(grid=4).track(rgb_frames()[:1])


def test_search_gives_no_guess_for_a_flat_patch():
    """A patch with no texture matches anywhere equally, so it must not give a place to look."""
    a = _gray(size=120)
    a[40:80, 40:80] = 120
    guesses, found = LKTracker(search=16, patch=7)._search(a, a.copy(), np.array([[60.0, 60.0], [20.0, 20.0]]))
    assert not found[0]
    assert found[1] and guesses[1] == pytest.approx((20.0, 20.0))  # a textured one, for contrast


@pytest.mark.parametrize("side", ["left", "right", "top", "bottom"])
def test_search_uses_every_pixel_of_the_patch_up_to_its_edge(side):
    """A point whose (2 * patch + 1)^2 patch is flat except for its outermost column or row (a point just
    beside a textured region) still has something to look for, and is found where it moved."""
    p = np.array([[60.0, 60.0]])  # patch 7: columns and rows 53..67
    only = {"left": np.s_[:, :54], "right": np.s_[:, 67:], "top": np.s_[:54], "bottom": np.s_[67:]}[side]
    a = np.full((120, 120), 120, np.uint8)
    a[only] = _gray(size=120)[only]
    b = np.roll(a, (9, 5), axis=(0, 1))
    guesses, found = LKTracker(search=16, patch=7)._search(a, b, p)
    assert found[0]
    assert guesses[0] == pytest.approx((65.0, 69.0))


@pytest.mark.parametrize("dx", [-3.0, 3.0])
def test_lk_marks_points_that_leave_through_the_left_or_right_of_the_frame_invisible(dx):
    """As through the top: LK follows a point a few pixels past the side of the frame, and the
    tracker must call it invisible there (x < 0 or x > width - 1)."""
    import cv2

    canvas = texture(6, 200)
    frames = np.stack([cv2.warpAffine(canvas, np.float32([[1, 0, -50 + dx * i], [0, 1, -50]]), (SIZE, SIZE),
                                      flags=cv2.INTER_LINEAR) for i in range(3)])  # content moves dx px a frame
    edge = 1.0 if dx < 0 else SIZE - 2.0
    inner = 4.0 if dx < 0 else SIZE - 5.0
    pts = np.array([[x, y] for x in (edge, inner, 48.0) for y in (20.0, 60.0)], np.float32)
    est = LKTracker(search=0).track_points(frames, pts)
    truth = pts[:, None] + np.array([[0, 0], [dx, 0], [2 * dx, 0]], np.float32)[None]
    assert np.abs(est.tracks - truth).max() < 1.0  # followed, or carried along with the points in view
    inside = (truth[..., 0] >= 0) & (truth[..., 0] <= SIZE - 1)
    assert est.visibility.tolist() == inside.tolist()


def test_search_skips_points_whose_patch_would_cross_an_edge_of_the_frame():
    """A point closer than ``patch`` pixels to any edge has no whole patch to look for: no guess, and
    no error. The four edges alike: a patch the frame cuts is not searched for on one side only."""
    a = _gray(size=120)
    tracker = LKTracker(search=16, patch=7)
    near = np.array([[60.0, 6.0], [6.0, 60.0], [60.0, 7.0], [7.0, 60.0]])  # patch 7: 6 is one short
    guesses, found = tracker._search(a, np.roll(a, (3, 4), axis=(0, 1)), near)
    assert found.tolist() == [False, False, True, True]
    assert guesses[2:] == pytest.approx(near[2:] + (4, 3))
    far = np.array([[60.0, 113.0], [113.0, 60.0], [60.0, 112.0], [112.0, 60.0],  # 119 - 7 = 112 is the last
                    [60.0, 115.0], [115.0, 60.0]])  # and further out, where the patch is cut by more than a row
    guesses, found = tracker._search(a, np.roll(a, (-3, -4), axis=(0, 1)), far)  # moved inwards: still in view
    assert found.tolist() == [False, False, True, True, False, False]
    assert guesses[2:4] == pytest.approx(far[2:4] - (4, 3))


def test_the_default_lk_tracker_is_the_one_the_metric_cards_and_the_readme_name():
    """The LK settings define the metric's numbers; the backend id (stored with every score) names them,
    and the README quotes the default one. A changed default must change both, never the numbers alone."""
    import re

    tracker = LKTracker()
    documented = re.search(r"Backend: (lk:opencv-[^:]+(?::[a-z]+=[0-9.]+)+)\.", (Path(__file__).resolve().parents[1] / "README.md").read_text())
    assert documented, "the README quotes the default LK backend id"
    assert tracker.backend.split(":", 2)[2] == documented.group(1).split(":", 2)[2]
    assert (tracker.grid, tracker.window, tracker.levels, tracker.fb_threshold, tracker.min_ncc, tracker.search) == (
        55, 21, 3, 1.0, 0.7, 32)


def test_search_gives_no_guess_where_nothing_in_the_next_frame_resembles_the_patch():
    """After a cut to an unrelated picture (here: noise) the best correlation is weak: no place to
    look, rather than the least bad one."""
    a = _gray(seed=3, size=120)
    b = np.random.default_rng(4).integers(0, 256, a.shape, dtype=np.uint8)
    points = np.array([[x, y] for x in (30.0, 60.0, 90.0) for y in (30.0, 60.0, 90.0)])
    _, found = LKTracker(search=16, patch=7)._search(a, b, points)
    assert not found.any()


def test_the_default_search_reaches_the_32_pixels_its_backend_id_names():
    tracker = LKTracker()
    assert "search=32" in tracker.backend  # as the README's metric table states
    a = _gray(size=200)
    p = np.array([[100.3, 90.6]])
    for dx, dy in [(32, 0), (0, -32)]:
        guesses, found = tracker._search(a, np.roll(a, (dy, dx), axis=(0, 1)), p)
        assert found[0] and guesses[0] == pytest.approx(p[0] + (dx, dy), abs=1e-6), (dx, dy)


# --- The tracker's exact output, pinned ---------------------------------------------------------------------------
GOLDEN_LK = Path(__file__).parent / "golden" / "lk_tracks.npz"


def _zoom_clip(frames: int = 10, size: int = 64) -> np.ndarray:
    """A zoom into a texture about an off-centre point: grid points leave through all four edges."""
    import cv2

    canvas = texture(11, size)
    out = []
    for i in range(frames):
        s = 1.07 ** i
        m = cv2.getRotationMatrix2D((27.0, 35.0), 0.0, s)
        out.append(cv2.warpAffine(canvas, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT))
    return np.stack(out)


def _fast_object_clip(frames: int = 8, size: int = 80) -> np.ndarray:
    """A small textured square jumping 7 px a frame over a textured background (pyramidal LK loses
    it; the correlation search finds it) and then leaving through the bottom of the frame."""
    import cv2

    bg, fg, side = texture(21, size), texture(22, 14, sigma=1.0), 14
    out = []
    for i in range(frames):
        m = np.float32([[1, 0, 20 + 3.0 * i], [0, 1, 18 + 7.3 * i]])
        layer = cv2.warpAffine(fg, m, (size, size), flags=cv2.INTER_LINEAR)
        alpha = cv2.warpAffine(np.ones((side, side), np.float32), m, (size, size), flags=cv2.INTER_LINEAR)[..., None]
        out.append((alpha * layer + (1 - alpha) * bg).astype(np.uint8))
    return np.stack(out)


def _golden_clips() -> dict[str, tuple[np.ndarray, LKTracker]]:
    """Clips that take the tracker down each of its paths: a pan, a zoom out of every edge, a fast
    object (search, then leaving the frame), flat toy scenes (isoluminant colours, lost points carried
    with their neighbours, an occlusion, thin limbs)."""
    from motionbench.bench import synthetic

    def toy(generator: str, seed: int, params: dict) -> np.ndarray:
        return synthetic.render(generator, seed=seed, params=params, num_frames=12, size=(32, 32), fps=8.0).frames

    return {
        "pan": (camera_clip("zigzag", grid=10)[0], LKTracker(grid=10)),
        "zoom": (_zoom_clip(), LKTracker(grid=9)),
        "fast_object": (_fast_object_clip(), LKTracker(grid=12, search=20)),
        "toy_arc": (toy("toy_single_object", 21, {"path": "arc", "colour": "green", "shape": "square", "background": "gray"}),
                    LKTracker(grid=12)),
        "toy_cross": (toy("toy_multi_object", 33, {"speed": 2.0}), LKTracker(grid=12)),
        "toy_wave": (toy("toy_human", 7, {"action": "wave", "colour": "red", "background": "black"}), LKTracker(grid=12)),
    }


def test_lk_output_is_the_recorded_one_for_every_path_the_tracker_takes():
    """Every stored motion score and every cached track is keyed by the tracker's backend id, so the
    same id must always give the same tracks. This pins them to 0.001 px (and visibility exactly) on
    clips that exercise each branch: a change to any setting or step shows here. If the change is
    intended, give the tracker a new backend id and record the new output with
    ``MOTIONBENCH_REGEN_GOLDEN=1 pytest tests/test_trackers.py -k recorded``."""
    import cv2

    clips = _golden_clips()
    if os.environ.get("MOTIONBENCH_REGEN_GOLDEN") == "1":
        arrays = {"opencv": np.array(cv2.__version__)}
        for name, (frames, tracker) in clips.items():
            est = tracker.track(frames)
            arrays.update({f"{name}/tracks": est.tracks, f"{name}/visibility": est.visibility,
                           f"{name}/backend": np.array(tracker.backend)})
        np.savez_compressed(GOLDEN_LK, **arrays)
    golden = np.load(GOLDEN_LK)
    if str(golden["opencv"]) != cv2.__version__:
        pytest.skip(f"the recorded tracks are OpenCV {golden['opencv']}'s and this is {cv2.__version__} "
                    "(constraints.txt pins the one CI uses); record them anew as the docstring says")
    for name, (frames, tracker) in clips.items():
        est = tracker.track(frames)
        assert tracker.backend == str(golden[f"{name}/backend"]), name
        vis = golden[f"{name}/visibility"]
        assert est.visibility.tolist() == vis.tolist(), f"{name}: visibility changed at {np.argwhere(est.visibility != vis)[:5].tolist()}"
        err = np.abs(est.tracks - golden[f"{name}/tracks"]).max()
        assert err < 1e-3, f"{name}: tracks moved by up to {err:.4f} px"
