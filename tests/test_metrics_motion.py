"""Motion fidelity: the formula against a hand-computed example and a literal transcription of the
public DMT code, the alignment policy, and behaviour on clips with known motion (LK and ground truth)."""

from __future__ import annotations

import numpy as np
import pytest

from motionbench.metrics.api import GroundTruthTracks, ScoringItem
from motionbench.metrics.motion_fidelity import (
    VARIANTS,
    MotionFidelity,
    motion_fidelity,
    motion_fidelity_dmt,
    motion_fidelity_symmetric,
)
from motionbench.metrics.trackers import LKTracker
from motionbench.metrics.tracks import Tracks, TracksError, load_tracks, save_tracks
from motionbench.video import Clip
from tests.test_trackers import camera_clip, object_clip


def tracks_from_steps(steps: list[list[tuple[float, float]]]) -> np.ndarray:
    """[N, T, 2] tracks starting at the origin from per-step displacements."""
    d = np.asarray(steps, dtype=np.float64)
    return np.concatenate([np.zeros((len(d), 1, 2)), np.cumsum(d, axis=1)], axis=1)


GEN = tracks_from_steps([[(1, 0), (1, 0)], [(0, 1), (0, 1)], [(1, 0), (0, 1)]])
REF = tracks_from_steps([[(1, 0), (0, 1)], [(0, 3), (0, 3)], [(-1, 0), (-1, 0)]])


def test_dmt_equals_a_hand_computed_example():
    # S (rows generated, columns reference):  [.5 0 -1; .5 1 0; 1 .5 -.5]
    # S - I row maxima: 0, .5, 1 -> mean .5
    assert motion_fidelity_dmt(GEN, REF) == pytest.approx(0.5)


def test_symmetric_equals_a_hand_computed_example():
    # row maxima of S: .5, 1, 1; column maxima: 1, 1, 0 -> (2.5/3 + 2/3) / 2
    assert motion_fidelity_symmetric(GEN, REF) == pytest.approx(0.75)


def _dmt_transcription(gen: np.ndarray, ref: np.ndarray) -> float:
    """The public DMT evaluation, transcribed literally (torch einsum, no epsilon)."""
    import torch

    a, b = torch.from_numpy(gen), torch.from_numpy(ref)
    da = a[:, 1:] - a[:, :-1]
    da = da / da.norm(dim=-1, keepdim=True)
    db = b[:, 1:] - b[:, :-1]
    db = db / db.norm(dim=-1, keepdim=True)
    s = torch.einsum("ntc, mtc -> nmt", da, db).mean(dim=-1)
    s = s - torch.eye(s.shape[0], dtype=s.dtype)
    return float(s.max(dim=1).values.mean())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dmt_matches_the_public_code_on_random_tracks(seed):
    rng = np.random.default_rng(seed)
    gen = np.cumsum(rng.normal(size=(40, 9, 2)), axis=1) * 3
    ref = np.cumsum(rng.normal(size=(40, 9, 2)), axis=1) * 3
    assert motion_fidelity_dmt(gen, ref) == pytest.approx(_dmt_transcription(gen, ref), abs=1e-12)


def test_static_points_give_zero_vectors_not_nan():
    static = np.zeros((4, 5, 2))
    moving = tracks_from_steps([[(1, 0)] * 4] * 4)
    assert np.isnan(_dmt_transcription(static, moving))  # the public code's behaviour
    assert motion_fidelity_dmt(static, moving) == 0.0
    assert motion_fidelity_symmetric(static, moving) == 0.0
    # a half-static track counts its moving steps only
    half = tracks_from_steps([[(1, 0), (0, 0)]] * 2)
    one = tracks_from_steps([[(1, 0), (1, 0)]] * 2)
    assert motion_fidelity_symmetric(half, one) == pytest.approx(0.5)


def test_class_matches_function_and_attributes_do_not_drift():
    g = Tracks(GEN, np.ones(GEN.shape[:2], bool), (10, 10))
    r = Tracks(REF, np.ones(REF.shape[:2], bool), (10, 10))
    for variant in ("dmt", "symmetric"):
        assert MotionFidelity(variant)(g, r) == motion_fidelity(g, r, variant)
    assert (MotionFidelity.name, MotionFidelity.higher_is_better, MotionFidelity.version) == ("motion_fidelity", True, "1")
    assert "S - I" in MotionFidelity.convention and "shorter" in MotionFidelity.convention
    with pytest.raises(ValueError, match="unknown motion fidelity variant"):
        MotionFidelity("two-sided")


def test_length_and_size_policy_keeps_same_motion_high():
    ref_frames, ref_gt = camera_clip("zigzag", frames=12, size=96)
    longer, _ = camera_clip("zigzag", frames=23, size=96, seed=4)
    bigger, _ = camera_clip("zigzag", frames=12, size=144, seed=4, amp=15.0)
    circle, _ = camera_clip("circle", frames=23, size=96, seed=4)
    lk = LKTracker(grid=16)
    ref = lk.track(ref_frames)
    assert motion_fidelity(lk.track(longer), ref, "dmt") > 0.8
    assert motion_fidelity(lk.track(bigger), ref, "dmt") > 0.8
    assert motion_fidelity(lk.track(circle), ref, "dmt") < 0.3


@pytest.mark.parametrize("reference_side", ["lk", "gt"])
def test_camera_motion_same_high_different_and_reversed_low(reference_side):
    lk = LKTracker(grid=16)
    ref_frames, gt = camera_clip("zigzag", seed=0)
    ref = lk.track(ref_frames) if reference_side == "lk" else gt
    score = lambda frames: motion_fidelity(lk.track(frames), ref, "dmt")  # noqa: E731
    self_score = score(ref_frames)
    rerender = score(camera_clip("zigzag", seed=7)[0])
    different = score(camera_clip("circle", seed=7)[0])
    reversed_ = score(ref_frames[::-1].copy())
    static = score(camera_clip("static", seed=7)[0])
    assert self_score > 0.8 and rerender > 0.8
    assert different < self_score - 0.4 and reversed_ < self_score - 0.3
    assert static == 0.0  # defined, low, not NaN


@pytest.mark.parametrize("reference_side", ["lk", "gt"])
def test_object_motion_inside_the_box(reference_side):
    lk = LKTracker(grid=30)
    ref_frames, gt, box = object_clip("zigzag")
    ref = lk.track(ref_frames, box) if reference_side == "lk" else gt
    score = lambda frames, v="dmt": motion_fidelity(lk.track(frames, box), ref, v)  # noqa: E731
    for v in ("dmt", "symmetric"):
        assert score(ref_frames, v) > 0.9
        assert score(object_clip("zigzag", seed=5)[0], v) > 0.9
        assert score(object_clip("circle", seed=5)[0], v) < 0.3
        assert score(ref_frames[::-1].copy(), v) < 0.6


def test_track_files_round_trip_and_bad_files_are_clear(tmp_path):
    t = Tracks(GEN, np.ones(GEN.shape[:2], bool), (32, 24))
    back = load_tracks(save_tracks(tmp_path / "t.npz", t))
    assert back.size == (32, 24) and np.allclose(back.tracks, GEN)
    np.savez(tmp_path / "bad.npz", points=GEN)
    with pytest.raises(TracksError, match="no array 'tracks'"):
        load_tracks(tmp_path / "bad.npz")
    np.savez(tmp_path / "flat.npz", tracks=GEN[..., 0])
    with pytest.raises(TracksError, match=r"\[N, T, 2\]"):
        load_tracks(tmp_path / "flat.npz")
    with pytest.raises(TracksError, match="not found"):
        load_tracks(tmp_path / "missing.npz")


# ---------------------------------------------------------------------------------------------
# The scorer: reference caching, ground truth, missing trackers


def _items(n: int):
    return [ScoringItem(f"m{i}", Clip(camera_clip("zigzag", seed=10 + i)[0], 8.0), "p") for i in range(n)]


def test_reference_tracks_are_computed_once_and_cached_on_disk(tmp_path):
    from motionbench.metrics.scorer import build_scorer

    ref_frames, _ = camera_clip("zigzag")
    ref = Clip(ref_frames, 8.0)
    items = _items(3)
    s1 = build_scorer(("motion_fidelity",), tracker="lk", grid=12)
    out1 = s1.score_sample(ref, items, cache_dir=tmp_path)
    assert s1.tracker_calls == 1 + len(items)
    assert len(list((tmp_path / "tracks").glob("*.npz"))) == 1
    s2 = build_scorer(("motion_fidelity",), tracker="lk", grid=12)
    out2 = s2.score_sample(ref, items, cache_dir=tmp_path)
    assert s2.tracker_calls == len(items)  # reference side read from the cache
    for it in items:
        assert [v.value for v in out1[it.job]] == [v.value for v in out2[it.job]]
        assert {v.variant for v in out1[it.job]} == set(VARIANTS)
        assert all(v.status == "ok" and v.value > 0.8 for v in out1[it.job])
    # another box is another cache entry
    s2.score_sample(ref, items[:1], box=(10, 10, 80, 80), cache_dir=tmp_path)
    assert len(list((tmp_path / "tracks").glob("*.npz"))) == 2


def test_gt_tracker_uses_ground_truth_and_skips_without_it():
    from motionbench.metrics.scorer import build_scorer

    ref_frames, gt = camera_clip("zigzag")
    scorer = build_scorer(("motion_fidelity",), tracker="gt", grid=16)
    gtt = GroundTruthTracks(gt.tracks, gt.visibility)
    out = scorer.score_sample(Clip(ref_frames, 8.0), _items(1), reference_tracks=gtt)
    assert all(v.status == "ok" and v.value > 0.8 for v in out["m0"])
    assert out["m0"][0].backend.startswith("reference=gt;generated=lk:")
    out = scorer.score_sample(Clip(ref_frames, 8.0), _items(1))
    assert all(v.status == "skipped" and v.value is None and "--tracker lk" in v.reason for v in out["m0"])


def test_missing_cotracker_is_skipped_with_the_command_and_auto_falls_back_to_lk(tmp_path, monkeypatch):
    from motionbench.metrics.scorer import build_scorer

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("MOTIONBENCH_COTRACKER_REPO", raising=False)
    scorer = build_scorer(("motion_fidelity",), tracker="cotracker3")
    out = scorer.score_sample(Clip(camera_clip("line")[0], 8.0), _items(1))
    assert all(v.status == "skipped" and v.value is None and "motionbench download cotracker" in v.reason for v in out["m0"])
    auto = build_scorer(("motion_fidelity",), tracker="auto")
    assert auto.backends()["motion_fidelity"].startswith("lk:") and "grid=55" in auto.backends()["motion_fidelity"]


def test_a_static_generated_video_scores_a_defined_low_number():
    from motionbench.metrics.scorer import build_scorer

    ref_frames, _ = camera_clip("zigzag")
    static = Clip(camera_clip("static", seed=3)[0], 8.0)
    out = build_scorer(("motion_fidelity",), tracker="lk", grid=12).score_sample(
        Clip(ref_frames, 8.0), [ScoringItem("s", static, "p")])
    assert [v.value for v in out["s"]] == [0.0] * len(VARIANTS)
