"""Re-rendering metrics: PSNR/SSIM overall and in the holes, and camera accuracy from background tracks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from motionbench.bench.scenes import render_clip, static_tracks
from motionbench.errors import ConfigError
from motionbench.metrics.camera_accuracy import camera_accuracy
from motionbench.metrics.novel_view import (PSNR_FLOOR, masked_psnr, masked_ssim, novel_view_scores, psnr, ssim,
                                            ssim_map)
from motionbench.metrics.trackers import LKTracker
from motionbench.metrics.tracks import Tracks
from motionbench.recapture.depth import default_pivot
from motionbench.recapture.warp import warp_along_path


def video(seed: int = 0, t: int = 2, h: int = 24, w: int = 24) -> np.ndarray:
    return np.random.default_rng(seed).integers(20, 236, size=(t, h, w, 3)).astype(np.uint8)


def test_psnr_is_the_mean_of_per_frame_values_and_capped_for_identical_frames():
    a = video()
    b = a.astype(np.int16)
    b[0] += 5  # frame 0: MSE 25
    b[1] += 10  # frame 1: MSE 100
    b = b.astype(np.uint8)
    expected = (10 * math.log10(255 ** 2 / 25) + 10 * math.log10(255 ** 2 / 100)) / 2
    assert psnr(b, a) == pytest.approx(expected)
    assert psnr(a, a) == pytest.approx(10 * math.log10(1 / PSNR_FLOOR))


def test_masked_psnr_pools_the_hole_pixels_and_is_none_without_holes():
    a = video()
    b = a.copy()
    mask = np.zeros(a.shape[:3], bool)
    mask[0, :2, :2] = True  # 4 pixels in frame 0
    mask[1, :, :] = True  # all of frame 1
    b[0, :2, :2] = np.clip(a[0, :2, :2].astype(int) + 20, 0, 255)
    err = ((b.astype(float) - a.astype(float)) ** 2)[mask].mean()
    assert masked_psnr(b, a, mask) == pytest.approx(10 * math.log10(255 ** 2 / err))
    assert masked_psnr(b, a, np.zeros_like(mask)) is None
    assert masked_ssim(b, a, np.zeros_like(mask)) is None


def test_ssim_matches_the_closed_form_on_one_window():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, size=(1, 11, 11, 3)).astype(np.float64)
    y = np.clip(x + rng.normal(0, 20, size=x.shape), 0, 255)
    g = np.exp(-((np.arange(11) - 5) ** 2) / (2 * 1.5 ** 2))
    g2 = np.outer(g, g) / np.outer(g, g).sum()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    values = []
    for ch in range(3):
        a, b = x[0, ..., ch], y[0, ..., ch]
        ma, mb = (g2 * a).sum(), (g2 * b).sum()
        va, vb = (g2 * a * a).sum() - ma ** 2, (g2 * b * b).sum() - mb ** 2
        cov = (g2 * a * b).sum() - ma * mb
        values.append((2 * ma * mb + c1) * (2 * cov + c2) / ((ma ** 2 + mb ** 2 + c1) * (va + vb + c2)))
    assert ssim_map(y, x)[0, 5, 5] == pytest.approx(np.mean(values), rel=1e-9)
    assert ssim(x, x) == pytest.approx(1.0)
    noisier = np.clip(x + rng.normal(0, 60, size=x.shape), 0, 255)
    assert ssim(noisier, x) < ssim(y, x) < 0.99


def test_masked_ssim_only_sees_the_masked_pixels_neighbourhood():
    a = video(h=40, w=40)
    b = a.copy()
    mask = np.zeros(a.shape[:3], bool)
    mask[:, :10, :10] = True
    b[:, 25:, 25:] = 0  # more than a window (5 px) away from the mask
    assert masked_ssim(b, a, mask) == pytest.approx(1.0)
    assert ssim(b, a) < 0.9


def test_a_warp_scores_well_where_it_saw_and_badly_in_the_holes():
    clip = render_clip(2, num_frames=3, size=(64, 64))
    spec = "pan:x=0.2"
    truth = clip.target(spec)
    holes = ~clip.seen_from_source(spec, truth)
    warped = warp_along_path(clip.source.frames, clip.source.depth, clip.intrinsics, spec)
    s = novel_view_scores(warped.frames, truth.frames, holes)
    assert 0.05 < s.hole_fraction < 0.5
    assert s.psnr_holes < 15 < s.psnr  # black holes against a textured room
    assert s.ssim_holes < s.ssim
    assert masked_psnr(warped.frames, truth.frames, ~holes & warped.visible) > 27
    perfect = novel_view_scores(truth.frames, truth.frames, holes)
    assert perfect.psnr_holes == pytest.approx(100.0) and perfect.ssim_holes == pytest.approx(1.0)
    with pytest.raises(ConfigError, match="shape"):
        novel_view_scores(truth.frames[:, :32], truth.frames, holes)


@pytest.fixture(scope="module")
def orbit():
    clip = render_clip(1, num_frames=7, size=(96, 96))
    return clip, clip.target("orbit:phi=20,theta=5"), default_pivot(clip.source.depth[0])


def test_camera_accuracy_recovers_a_known_camera_from_exact_tracks(orbit):
    clip, truth, pivot = orbit
    tracks = static_tracks(truth, grid=16)
    acc = camera_accuracy(tracks, truth.depth[0], truth.intrinsics, truth.extrinsics, scale=pivot)
    assert acc.frames_solved == 6 and acc.frames_failed == 0
    assert acc.rotation_error_deg < 1e-3 and acc.translation_error < 1e-4


def test_camera_accuracy_with_a_real_tracker_and_against_the_wrong_path(orbit):
    clip, truth, pivot = orbit
    lk = LKTracker(grid=20)
    good = camera_accuracy(lk.track(truth.frames), truth.depth[0], truth.intrinsics, truth.extrinsics, scale=pivot,
                           static0=truth.labels[0] == 0)
    assert good.rotation_error_deg < 2.0 and good.translation_error < 0.05
    # The source video never moves its camera: scored against the orbit, its error is the orbit's
    # mean angle from the first frame (ramping 0 -> ~20.6 degrees over 7 frames: about 10).
    still = camera_accuracy(lk.track(clip.source.frames), clip.source.depth[0], clip.intrinsics, truth.extrinsics,
                            scale=pivot, static0=clip.source.labels[0] == 0)
    assert 8.0 < still.rotation_error_deg < 12.5
    assert still.translation_error > 5 * good.translation_error


def test_camera_accuracy_ignores_a_moving_object_by_ransac(orbit):
    clip, truth, pivot = orbit
    bg = static_tracks(truth, grid=12)
    n, t = bg.tracks.shape[:2]
    # Tracks of a "moving object": background points carried along a drifting path.
    movers = bg.tracks[: n // 4].copy()
    movers += np.linspace(0, 12, t)[None, :, None]
    mixed = Tracks(np.concatenate([bg.tracks, movers]), np.concatenate([bg.visibility, bg.visibility[: n // 4]]), bg.size)
    acc = camera_accuracy(mixed, truth.depth[0], truth.intrinsics, truth.extrinsics, scale=pivot)
    # Early frames: the movers have drifted less than the RANSAC threshold and still pull slightly.
    assert acc.rotation_error_deg < 0.5 and acc.translation_error < 0.01


def test_camera_accuracy_rejects_too_few_tracks_and_bad_inputs(orbit):
    clip, truth, pivot = orbit
    tracks = static_tracks(truth, grid=16)
    few = Tracks(tracks.tracks[:5], tracks.visibility[:5], tracks.size)
    with pytest.raises(ConfigError, match="at least 8 static tracks"):
        camera_accuracy(few, truth.depth[0], truth.intrinsics, truth.extrinsics, scale=pivot)
    with pytest.raises(ConfigError, match="scale"):
        camera_accuracy(tracks, truth.depth[0], truth.intrinsics, truth.extrinsics, scale=0.0)
    with pytest.raises(ConfigError, match="depth0"):
        camera_accuracy(tracks, truth.depth[0][:10], truth.intrinsics, truth.extrinsics, scale=pivot)
