"""metaeval: pair construction against true motion, AUC / Spearman / bootstrap, the ``matched`` variant."""

from __future__ import annotations

import json

import numpy as np
import pytest

from motionbench.metaeval.pairs import (
    GRADES,
    NEGATIVE_KINDS,
    PERTURBATIONS,
    POSITIVE,
    Video,
    build_candidates,
    motion_change,
    time_reversed,
    trajectory_noise,
)
from motionbench.metaeval.references import SyntheticReference
from motionbench.metaeval.stats import auc, average_ranks, cluster_bootstrap, spearman
from motionbench.metrics.motion_matched import match_by_position, motion_fidelity_matched

# Small, fast references: two single-object motions of one category, 64x64, 9 frames.
SMALL = (
    SyntheticReference("curve", "single_object", "single_object", 21, {"path": "curve"}, num_frames=9, size=(64, 64)),
    SyntheticReference("zigzag", "single_object", "single_object", 22, {"path": "zigzag", "speed": 0.5}, num_frames=9, size=(64, 64)),
)


@pytest.fixture(scope="module")
def candidates():
    ref = SMALL[0]
    return ref.render(0), list(build_candidates(ref, [SMALL[1]], seed=0))


def _motion_change(tracks: np.ndarray, reference: Video) -> float:
    return motion_change(Video(reference.frames, tracks, reference.visibility, reference.fps), reference)


# -- pair construction --------------------------------------------------------------------------------

def test_positives_share_the_reference_motion_exactly_in_a_new_look(candidates):
    ref, cands = candidates
    positives = [c for c in cands if c.kind == POSITIVE]
    assert len(positives) == 2
    for c in positives:
        assert c.label == "positive"
        assert np.array_equal(c.video.tracks, ref.tracks) and np.array_equal(c.video.visibility, ref.visibility)
        # the look really changed: pixels differ substantially
        assert np.abs(c.video.frames.astype(int) - ref.frames.astype(int)).mean() > 10


def test_every_negative_kind_differs_in_true_motion(candidates):
    ref, cands = candidates
    for kind in NEGATIVE_KINDS:
        mine = [c for c in cands if c.kind == kind]
        assert len(mine) == 2, kind
        for c in mine:
            assert c.label == "negative"
            assert c.video.frames.shape == ref.frames.shape
            change = _motion_change(c.video.tracks, ref)
            assert change > 0.5, f"{kind}#{c.index}: true displacement field changed by only {change:.2f}"


def test_still_negatives_have_still_truth_but_changing_pixels(candidates):
    _, cands = candidates
    by = {(c.kind, c.index): c.video for c in cands}
    for kind in ("static", "flicker", "frozen_appearance"):
        v = by[(kind, 0)]
        assert np.array_equal(v.tracks, np.repeat(v.tracks[:, :1], v.num_frames, axis=1)), kind
    assert np.array_equal(by[("static", 0)].frames, np.repeat(by[("static", 0)].frames[:1], 9, axis=0))
    for kind in ("flicker", "frozen_appearance"):  # things change on screen, nothing moves in truth
        frames = by[(kind, 0)].frames.astype(int)
        assert np.abs(np.diff(frames, axis=0)).mean(axis=(1, 2, 3)).min() > 0.2, kind
    # flicker blobs hide some held points some of the time
    assert not by[("flicker", 0)].visibility.all()


def test_graded_perturbations_start_at_the_positive_and_move_away_monotonically(candidates):
    ref, cands = candidates
    positive = next(c.video for c in cands if c.kind == POSITIVE and c.index == 0)
    for pert in PERTURBATIONS:
        graded = sorted((c for c in cands if c.kind == pert), key=lambda c: c.grade)
        assert [c.grade for c in graded] == list(GRADES)
        assert np.array_equal(graded[0].video.frames, positive.frames), pert  # grade 0 is the positive
        assert np.allclose(graded[0].video.tracks, ref.tracks), pert
        changes = [_motion_change(c.video.tracks, ref) for c in graded]
        assert changes[0] < 1e-9 and all(b > a for a, b in zip(changes, changes[1:])), (pert, changes)


def test_candidates_are_reproducible_from_the_seed():
    a = list(build_candidates(SMALL[0], [SMALL[1]], seed=5))
    b = list(build_candidates(SMALL[0], [SMALL[1]], seed=5))
    c = list(build_candidates(SMALL[0], [SMALL[1]], seed=6))
    assert [x.key for x in a] == [x.key for x in b]
    assert all(np.array_equal(x.video.frames, y.video.frames) for x, y in zip(a, b))
    shuffled = [(x, y) for x, y in zip(a, c) if x.kind == "frame_shuffled"]
    assert any(not np.array_equal(x.video.frames, y.video.frames) for x, y in shuffled)


def test_trajectory_noise_tracks_follow_the_warped_pixels():
    # A linear ramp: R = 3x, G = 3y. The warped frame at q samples the input at q - D(q) = p, so its
    # colour at the derived true position q must be the input's colour at p.
    w = h = 48
    ys, xs = np.mgrid[0:h, 0:w]
    frame = np.stack([3 * xs, 3 * ys, np.zeros_like(xs)], axis=-1).astype(np.uint8)
    frames = np.repeat(frame[None], 4, axis=0)
    pts = np.stack(np.meshgrid(np.linspace(12, 36, 5), np.linspace(12, 36, 5)), -1).reshape(-1, 2)
    tracks = np.repeat(pts[:, None], 4, axis=1)
    v = Video(frames, tracks, np.ones(tracks.shape[:2], bool), 8.0)
    out = trajectory_noise(v, 1.0, np.random.default_rng(0))
    assert np.array_equal(out.frames[0], frames[0]) and np.array_equal(out.tracks[:, 0], pts)
    moved = np.linalg.norm(out.tracks[:, 1:] - tracks[:, 1:], axis=-1)
    assert moved.mean() > 0.5  # the perturbation is real
    import cv2

    for t in range(1, 4):
        q = out.tracks[:, t].astype(np.float32)
        sampled = cv2.remap(out.frames[t].astype(np.float32), q[:, :1], q[:, 1:], cv2.INTER_LINEAR)[:, 0, :2]
        assert np.abs(sampled - 3 * pts).max() < 2.5  # uint8 rounding + bilinear over a smooth field


def test_motion_change_on_hand_examples_and_time_symmetric_reversal():
    frames = np.zeros((5, 16, 16, 3), np.uint8)
    there_and_back = np.array([[[2, 2], [4, 2], [6, 2], [4, 2], [2, 2]]], float)
    ref = Video(frames, there_and_back, np.ones((1, 5), bool), 8.0)
    assert motion_change(ref, ref) == 0.0
    assert motion_change(Video(frames, np.repeat(there_and_back[:, :1], 5, 1), ref.visibility, 8.0), ref) == 1.0
    # reversing a motion that is symmetric in time gives the same motion: not a negative
    assert motion_change(time_reversed(ref), ref) == 0.0
    forward = Video(frames, np.array([[[2, 2], [4, 2], [6, 2], [8, 2], [10, 2]]], float), ref.visibility, 8.0)
    assert motion_change(time_reversed(forward), forward) == pytest.approx(4.0)


def test_negatives_that_are_the_same_motion_are_dropped():
    from motionbench.metaeval import MetaevalConfig, run_metaeval

    squat = (SyntheticReference("squat", "human", "human", 34, {"action": "squat"}, size=(64, 64)),
             SyntheticReference("wave", "human", "human", 33, {"action": "wave"}, size=(64, 64)))
    result = run_metaeval(MetaevalConfig(trackers=("gt",), variants=("matched",), references=squat, resamples=0))
    dropped = {(r, k) for r, k, _, _ in result.dropped}
    assert ("squat", "time_reversed") in dropped  # down-and-up played backwards is down-and-up
    assert all(c < 0.5 for *_, c in result.dropped)
    assert result.counts["time_reversed"] == 4 - sum(1 for r, k, _, _ in result.dropped if k == "time_reversed")
    assert not any(s.kind == "time_reversed" and s.reference_id == "squat" for s in result.scores)


# -- statistics ---------------------------------------------------------------------------------------

def test_auc_matches_hand_computed_values_with_ties_as_half():
    # pairs (p, n): (3,2)=1 (3,0)=1 (2,2)=0.5 (2,0)=1 (1,2)=0 (1,0)=1 -> 4.5 / 6
    assert auc([3, 2, 1], [2, 0]) == pytest.approx(0.75)
    assert auc([1, 1], [1, 1, 1]) == 0.5
    assert auc([2, 3], [0, 1]) == 1.0 and auc([0, 1], [2, 3]) == 0.0
    with pytest.raises(ValueError):
        auc([], [1.0])
    with pytest.raises(ValueError):
        auc([float("nan")], [1.0])


def test_spearman_matches_a_hand_example():
    # ranks of y with a tie: [1, 2.5, 2.5, 4]; rho = 4.5 / sqrt(5 * 4.5) = sqrt(0.9)
    assert spearman([1, 2, 3, 4], [10, 20, 20, 40]) == pytest.approx(np.sqrt(0.9))
    assert spearman([0, 0.25, 0.5, 1], [0.9, 0.7, 0.71, 0.1]) == pytest.approx(1 - 6 * 18 / (4 * 15))  # d = (3, 0, 0, -3)
    assert spearman([1, 2, 3], [5, 5, 5]) == 0.0  # a metric that does not react
    assert list(average_ranks([3, 1, 3, 2])) == [3.5, 1, 3.5, 2]


def test_cluster_bootstrap_is_seeded_and_brackets_the_value():
    groups = {f"r{i}": float(i) for i in range(10)}
    a = cluster_bootstrap(groups, lambda d: float(np.mean(d)), resamples=300, seed=1)
    b = cluster_bootstrap(groups, lambda d: float(np.mean(d)), resamples=300, seed=1)
    assert a == b and a.value == 4.5 and a.low < 4.5 < a.high
    assert cluster_bootstrap(groups, lambda d: float(np.mean(d)), resamples=0, seed=1).low == 4.5


# -- the matched variant ------------------------------------------------------------------------------

def test_matched_definition_on_hand_examples():
    ref = np.array([[[0, 0], [2, 0], [4, 0]], [[10, 10], [10, 10], [10, 10]]], float)
    vis = np.ones((2, 3), bool)
    size = (16, 16)
    assert motion_fidelity_matched(ref, ref, vis, size) == 1.0
    assert motion_fidelity_matched(ref[:, ::-1], ref, vis, size) == pytest.approx(-1.0)
    assert motion_fidelity_matched(np.repeat(ref[:, :1], 3, axis=1), ref, vis, size) == 0.0
    half = ref.copy()
    half[0] = [[0, 0], [1, 0], [2, 0]]
    assert motion_fidelity_matched(half, ref, vis, size) == pytest.approx(0.8)  # 2*2/(1+4) per step
    # motion where the reference is still costs: that point's pair scores 0 and counts in the mean
    spurious = ref.copy()
    spurious[1] = [[10, 10], [12, 10], [14, 10]]
    assert motion_fidelity_matched(spurious, ref, vis, size) == pytest.approx(0.5)
    # matching is by start position, not by index: permuting the generated tracks changes nothing
    assert motion_fidelity_matched(ref[::-1], ref, vis, size) == 1.0
    # an unreliable reference step is not counted; with none left the score is NaN
    wrong = ref.copy()
    wrong[0, 2] = [0, 0]  # the second step goes backwards
    vis2 = vis.copy()
    vis2[0, 2] = False
    assert motion_fidelity_matched(wrong, ref, vis2, size) == 1.0
    assert np.isnan(motion_fidelity_matched(ref, ref, np.zeros((2, 3), bool), size))
    # nothing moves on either side: identical (no motion) motion
    still = np.repeat(ref[:, :1], 3, axis=1)
    assert motion_fidelity_matched(still, still, vis, size) == 1.0


def test_matched_ignores_points_that_only_jitter_within_tracker_noise():
    """Pairs whose point travels less than MIN_PATH_PX in both videos are dropped: the static background
    that a tracker reports with a few hundredths of a pixel of jitter says nothing about motion."""
    from motionbench.metrics.motion_matched import MIN_PATH_PX

    rng = np.random.default_rng(0)
    t = 6
    moving = np.stack([np.linspace(4, 14, t), np.full(t, 4.0)], -1)[None]  # 2 px a step
    starts = np.stack(np.meshgrid(np.arange(20, 60, 8.0), np.arange(20, 60, 8.0)), -1).reshape(-1, 1, 2)
    ref = np.concatenate([moving, starts + rng.normal(0, 0.03, (len(starts), t, 2))])
    gen = np.concatenate([moving, starts + rng.normal(0, 0.03, (len(starts), t, 2))])
    vis = np.ones(ref.shape[:2], bool)
    assert np.linalg.norm(np.diff(ref[1:], axis=1), axis=-1).sum(1).max() < MIN_PATH_PX  # jitter only
    assert motion_fidelity_matched(gen, ref, vis, (64, 64)) == pytest.approx(1.0)
    # a point that does move in the generated video is kept, and scores 0 against a still reference
    gen[5, :, 0] += np.linspace(0, 5, t)
    assert motion_fidelity_matched(gen, ref, vis, (64, 64)) == pytest.approx(0.5, abs=0.05)  # (its jitter vs 5 px: ~0)



def test_matched_path_is_the_length_travelled_not_a_per_coordinate_norm():
    """A generated point that creeps 0.3 px a step for 4 steps where the reference is still has travelled
    1.2 px >= MIN_PATH_PX, so its pair counts (and scores 0); the root of the summed squares of its steps
    (0.6 px) would wrongly call it still."""
    from motionbench.metrics.motion_matched import MIN_PATH_PX, motion_fidelity_matched

    t = 5
    mover = np.stack([np.linspace(4, 12, t), np.full(t, 4.0)], -1)  # 2 px a step, same in both videos
    still = np.full((t, 2), 40.0)
    ref = np.stack([mover, still])
    creep = still + np.stack([np.arange(t) * 0.3, np.zeros(t)], -1)
    gen = np.stack([mover, creep])
    assert 0.3 * (t - 1) >= MIN_PATH_PX > np.sqrt((t - 1) * 0.3 ** 2)
    assert motion_fidelity_matched(gen, ref, np.ones((2, t), bool), (64, 64)) == pytest.approx(0.5)


def test_matched_counts_a_reference_point_that_creeps_beyond_min_path_where_the_generated_is_still():
    """The path rule holds for the reference side too: a reference point creeping 0.3 px a step for 4
    steps has travelled 1.2 px >= MIN_PATH_PX, so a generated video where it stays still loses that
    pair (0), rather than having it dropped as jitter (the per-coordinate root would say 0.6 px)."""
    from motionbench.metrics.motion_matched import MIN_PATH_PX

    t = 5
    mover = np.stack([np.linspace(4, 12, t), np.full(t, 4.0)], -1)  # 2 px a step, same in both videos
    still = np.full((t, 2), 40.0)
    creep = still + np.stack([np.zeros(t), np.arange(t) * 0.3], -1)
    ref, gen = np.stack([mover, creep]), np.stack([mover, still])
    assert 0.3 * (t - 1) >= MIN_PATH_PX > np.sqrt((t - 1) * 0.3 ** 2)
    assert motion_fidelity_matched(gen, ref, np.ones((2, t), bool), (64, 64)) == pytest.approx(0.5)


def test_matched_drops_both_steps_next_to_a_hidden_reference_frame():
    """A reference point hidden on frame 1 (the tracker held it where it was) makes both steps 0->1 and
    1->2 unreliable, even though frames 0 and 2 are visible: only step 2->3 is compared."""
    truth = np.array([[[0, 0], [2, 0], [4, 0], [6, 0]]], float)
    held = truth.copy()
    held[0, 1] = held[0, 0]  # what the tracker reported while it lost the point
    vis = np.array([[True, False, True, True]])
    assert motion_fidelity_matched(truth, held, vis, (16, 16)) == 1.0
    # all steps visible, the held position would count (a 4 px step against the true 2 px)
    assert motion_fidelity_matched(truth, held, np.ones((1, 4), bool), (16, 16)) < 0.9


def test_matched_refuses_tracks_of_different_lengths_naming_both():
    from motionbench.metrics.motion_matched import motion_fidelity_matched

    ref = np.zeros((1, 4, 2))
    with pytest.raises(ValueError, match=r"track lengths differ \(3 vs 4 frames\); align them first"):
        motion_fidelity_matched(ref[:, :3], ref, np.ones((1, 4), bool), (8, 8))

def test_matched_is_a_registered_default_variant():
    from motionbench.metrics.scorer import FeatureOptions, build_scorer
    from motionbench.metrics.motion_fidelity import VARIANTS, MotionFidelity
    from motionbench.metrics.tracks import Tracks

    assert "matched" in VARIANTS and "dmt" in VARIANTS
    scorer = build_scorer(("motion_fidelity",), FeatureOptions(tracker="lk", grid=8))
    assert {"dmt", "matched"} <= {variant for _, variant, _ in scorer.outputs()}
    t = np.array([[[0, 0], [2, 1], [4, 2]]], float)
    tracks = Tracks(t, np.ones((1, 3), bool), (16, 16))
    assert MotionFidelity("matched")(generated_tracks=tracks, reference_tracks=tracks) == 1.0


def test_matched_reaches_auc_095_against_every_negative_with_true_tracks():
    from motionbench.metaeval import MetaevalConfig, run_metaeval

    result = run_metaeval(MetaevalConfig(trackers=("gt",), references=SMALL, resamples=0))
    matched = result.row("gt", "matched")
    assert set(matched.auc) == set(NEGATIVE_KINDS)
    assert matched.min_auc >= 0.95, {k: e.value for k, e in matched.auc.items()}
    assert matched.mean[POSITIVE] == 1.0  # appearance does not move it
    for pert in PERTURBATIONS:
        assert matched.spearman[pert].value < -0.9, pert
    # the DMT form is reported beside it, and its perfect copies lose to the identity subtraction
    assert result.row("gt", "dmt").mean[POSITIVE] < 1.0
    json.dumps(result.to_dict(), allow_nan=False)


def test_matched_scores_a_reference_point_that_goes_out_of_view_without_a_numpy_warning():
    """Only the steps between two visible reference frames count, and a point that leaves the view
    (visible, then not) is an ordinary input: it must not make numpy warn (a divide by zero)."""
    import warnings

    ref = np.array([[[0, 0], [2, 0], [4, 0]], [[20, 20], [20, 22], [20, 24]]], float)
    gen = ref.copy()
    gen[0, 2] = (2, 9)  # moves off the reference's path only on the step the reference cannot see
    vis = np.array([[True, True, False], [True, True, True]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert motion_fidelity_matched(gen, ref, vis, (64, 64)) == 1.0


def test_matched_scores_tracks_of_long_videos():
    """A 300-frame video (more frames than Python caches small ints for) is scored like a short one:
    the same motion scores 1, the mirrored motion (same starts, every step negated) -1."""
    rng = np.random.default_rng(0)
    ref = np.cumsum(rng.normal(size=(3, 300, 2)), axis=1) + np.array([[[10, 10]], [[30, 10]], [[10, 30]]])
    vis = np.ones(ref.shape[:2], bool)
    assert motion_fidelity_matched(ref.copy(), ref, vis, (48, 48)) == pytest.approx(1.0)
    mirrored = 2 * ref[:, :1] - ref
    assert motion_fidelity_matched(mirrored, ref, vis, (48, 48)) == pytest.approx(-1.0)
