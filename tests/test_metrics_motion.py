"""Motion fidelity: the formula against a hand-computed example and a literal transcription of the
public DMT code, the alignment policy, and behaviour on clips with known motion (LK and ground truth)."""

from __future__ import annotations

import numpy as np
import pytest

from motionbench.metrics.api import GroundTruthTracks, ScoringItem
from motionbench.metrics.scorer import FeatureOptions, build_scorer
from motionbench.metrics.motion_fidelity import VARIANTS, motion_fidelity, motion_fidelity_dmt, motion_fidelity_symmetric
from motionbench.metrics.trackers import LKTracker
from motionbench.metrics.tracks import Tracks, TracksError, align_tracks, load_tracks, save_tracks
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


def _path(xs, ys, size: tuple[int, int]) -> Tracks:
    """One track through the points (xs[t], ys[t]) of a video of ``size``."""
    t = np.stack([np.asarray(xs, float), np.asarray(ys, float)], -1)[None]
    return Tracks(t, np.ones(t.shape[:2], bool), size)


def test_alignment_resamples_both_to_the_shorter_video():
    # a 9-frame generated video (x = t^2) against a 5-frame reference: both come out 5 frames long,
    # the longer one read at the evenly spaced times 0, 2, 4, 6, 8 of its 9 frames
    t = np.arange(9.0)
    gen, ref = _path(t ** 2, t, (128, 128)), _path([0, 1, 3, 6, 10], [5] * 5, (128, 128))
    g, r = align_tracks(gen, ref)
    assert g.num_frames == r.num_frames == 5
    np.testing.assert_allclose(g.tracks[0, :, 0], [0, 4, 16, 36, 64])
    np.testing.assert_allclose(g.tracks[0, :, 1], [0, 2, 4, 6, 8])
    np.testing.assert_allclose(r.tracks[0], ref.tracks[0])  # the shorter side is left exactly as it was
    r, g = align_tracks(ref, gen)[::-1]  # the reference the longer one: the same rule
    assert g.num_frames == r.num_frames == 5
    np.testing.assert_allclose(r.tracks[0, :, 0], [0, 4, 16, 36, 64])


def test_alignment_puts_generated_tracks_in_the_references_pixels():
    # the same motion rendered at twice the width and four times the height
    ref = _path([4, 6, 9, 13], [2, 3, 5, 8], (32, 16))
    gen = _path([8, 12, 18, 26], [8, 12, 20, 32], (64, 64))
    g, r = align_tracks(gen, ref)
    assert g.size == r.size == (32, 16)
    np.testing.assert_allclose(g.tracks, ref.tracks)
    assert r is ref
    # so the magnitude-aware form sees the same motion: exactly 1 (unscaled it would be 0.8 or lower)
    assert motion_fidelity(gen, ref, "matched") == pytest.approx(1.0, abs=1e-12)
    assert motion_fidelity(_path([8, 12, 18, 26], [8, 12, 20, 32], (32, 16)), ref, "matched") < 0.8


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


LK12 = FeatureOptions(tracker="lk", grid=12)


def test_reference_tracks_are_computed_once_and_cached_on_disk(tmp_path):
    ref_frames, _ = camera_clip("zigzag")
    ref = Clip(ref_frames, 8.0)
    items = _items(3)
    s1 = build_scorer(("motion_fidelity",), LK12)
    out1 = s1.score_sample(ref, items, cache_dir=tmp_path)
    assert s1.provider("reference_tracks").tracker_runs == 1 + len(items)  # once per video, all variants share it
    assert len(list((tmp_path / "tracks").glob("*.npz"))) == 1
    s2 = build_scorer(("motion_fidelity",), LK12)
    out2 = s2.score_sample(ref, items, cache_dir=tmp_path)
    assert s2.provider("reference_tracks").tracker_runs == len(items)  # reference side read from the cache
    for it in items:
        assert [v.value for v in out1[it.job]] == [v.value for v in out2[it.job]]
        assert {v.variant for v in out1[it.job]} == set(VARIANTS)
        assert all(v.status == "ok" and v.value > 0.8 for v in out1[it.job])
    # another box is another cache entry
    s2.score_sample(ref, items[:1], box=(10, 10, 80, 80), cache_dir=tmp_path)
    assert len(list((tmp_path / "tracks").glob("*.npz"))) == 2


def test_gt_tracker_uses_ground_truth_and_skips_without_it():
    ref_frames, gt = camera_clip("zigzag")
    scorer = build_scorer(("motion_fidelity",), FeatureOptions(tracker="gt", grid=16))
    gtt = GroundTruthTracks(gt.tracks, gt.visibility)
    out = scorer.score_sample(Clip(ref_frames, 8.0), _items(1), ground_truth=gtt)
    assert all(v.status == "ok" and v.value > 0.8 for v in out["m0"])
    assert out["m0"][0].backend.startswith("reference=gt;generated=lk:")
    out = scorer.score_sample(Clip(ref_frames, 8.0), _items(1))
    assert all(v.status == "skipped" and v.value is None and "--tracker lk" in v.reason for v in out["m0"])


def test_missing_cotracker_is_skipped_with_the_command_and_auto_falls_back_to_lk(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("MOTIONBENCH_COTRACKER_REPO", raising=False)
    scorer = build_scorer(("motion_fidelity",), FeatureOptions(tracker="cotracker3"))
    out = scorer.score_sample(Clip(camera_clip("line")[0], 8.0), _items(1))
    assert all(v.status == "skipped" and v.value is None and "motionbench download cotracker" in v.reason for v in out["m0"])
    auto = build_scorer(("motion_fidelity",), FeatureOptions(tracker="auto"))
    assert auto.backends()["motion_fidelity"].startswith("lk:") and "grid=55" in auto.backends()["motion_fidelity"]


def test_a_static_generated_video_scores_a_defined_low_number():
    ref_frames, _ = camera_clip("zigzag")
    static = Clip(camera_clip("static", seed=3)[0], 8.0)
    out = build_scorer(("motion_fidelity",), LK12).score_sample(
        Clip(ref_frames, 8.0), [ScoringItem("s", static, "p")])
    assert [v.value for v in out["s"]] == [0.0] * len(VARIANTS)


def _tracks(array: np.ndarray, visible: bool = True) -> Tracks:
    return Tracks(array, np.full(array.shape[:2], visible), (64, 48))


def test_motion_fidelity_computes_the_variant_it_is_asked_for():
    # the hand-computed examples above, through the entry point the metric uses
    gen, ref = _tracks(GEN), _tracks(REF)
    assert motion_fidelity(gen, ref, "dmt") == pytest.approx(0.5)
    assert motion_fidelity(gen, ref, "symmetric") == pytest.approx(0.75)
    from motionbench.metrics.motion_matched import motion_fidelity_matched

    matched = motion_fidelity_matched(GEN, REF, np.ones(REF.shape[:2], bool), (64, 48))
    assert motion_fidelity(gen, ref, "matched") == pytest.approx(matched)
    assert matched not in (pytest.approx(0.5), pytest.approx(0.75))
    with pytest.raises(ValueError, match="unknown motion fidelity variant 'best'"):
        motion_fidelity(gen, ref, "best")


def test_matched_with_no_visible_reference_step_is_an_input_error_not_a_nan_score():
    from motionbench.metrics.base import MetricInputError
    from motionbench.metrics.motion_fidelity import MotionFidelity

    gen, hidden = _tracks(GEN), _tracks(REF, visible=False)
    with pytest.raises(MetricInputError, match="invisible at every step"):
        MotionFidelity("matched")(generated_tracks=gen, reference_tracks=hidden)
    # the other forms ignore visibility and score the same tracks
    assert MotionFidelity("dmt")(generated_tracks=gen, reference_tracks=hidden) == pytest.approx(0.5)
    assert MotionFidelity("symmetric")(generated_tracks=gen, reference_tracks=hidden) == pytest.approx(0.75)



def test_only_the_matched_variant_blames_invisible_reference_points_for_an_undefined_score():
    from motionbench.metrics.motion_fidelity import MotionFidelity

    # finite coordinates whose step overflows float64: no direction, so dmt and symmetric are NaN (which
    # the scorer reports as "gave nan"), with every reference point visible, so not the visibility error
    wild = GEN.copy()
    wild[0, 1], wild[0, 2] = (-1e308, 0.0), (1e308, 0.0)
    gen, ref = _tracks(wild), _tracks(REF)
    for variant in ("dmt", "symmetric"):
        with np.errstate(over="ignore", invalid="ignore"):
            assert np.isnan(MotionFidelity(variant)(generated_tracks=gen, reference_tracks=ref))

def test_tracks_of_different_lengths_are_refused_with_both_frame_counts():
    from motionbench.metrics.motion_fidelity import similarity_matrix

    # counts unlike any other size of the arrays (points, coordinates), so only the frame counts match
    with pytest.raises(ValueError, match=r"track lengths differ \(5 vs 6 frames\); align them first"):
        similarity_matrix(np.zeros((3, 5, 2)), np.zeros((4, 6, 2)))


def test_track_arrays_of_the_wrong_shape_are_refused_naming_the_shapes():
    vis = np.ones((2, 3), bool)
    with pytest.raises(TracksError, match=r"tracks must be \[N, T, 2\] \(x, y\), got shape \(2, 3, 1, 2\)"):
        Tracks(np.zeros((2, 3, 1, 2)), vis, (8, 8))  # four axes, even with 2 at the end
    with pytest.raises(TracksError, match=r"visibility must be \[N, T\] = \(2, 3\), got \(3, 2\)"):
        Tracks(np.zeros((2, 3, 2)), vis.T, (8, 8))
    with pytest.raises(TracksError, match="at least 2 frames to have motion, got 1"):
        Tracks(np.zeros((3, 1, 2)), np.ones((3, 1), bool), (8, 8))
    t = Tracks(np.zeros((5, 3, 2)), np.ones((5, 3), bool), (8, 8))
    assert (t.num_points, t.num_frames) == (5, 3)


def test_inside_keeps_tracks_starting_in_the_box_edges_included():
    starts = [(2, 3), (6, 9), (4, 5), (1.9, 5), (6.1, 5), (4, 2.9), (4, 9.1), (0, 0)]  # box (2, 3)-(6, 9)
    arr = np.repeat(np.asarray(starts, float)[:, None], 2, axis=1)
    arr[:, 1] += 1.0  # the second frame is outside for some: only the first frame decides
    vis = np.ones(arr.shape[:2], bool)
    vis[0, 1] = False
    inner = Tracks(arr, vis, (16, 16)).inside((2, 3, 6, 9))
    assert inner.tracks[:, 0].tolist() == [[2, 3], [6, 9], [4, 5]]
    assert inner.visibility.tolist() == [[True, False], [True, True], [True, True]]
    with pytest.raises(TracksError, match=r"no track starts inside the box \(10, 10, 12, 12\); is the box in "
                                          r"this video's pixels \(16, 16\)\?"):
        Tracks(arr, vis, (16, 16)).inside((10, 10, 12, 12))


def test_coordinate_extent_holds_every_coordinate_of_all_files(tmp_path):
    from motionbench.metrics.tracks import coordinate_extent, read_track_file

    np.savez(tmp_path / "a.npz", tracks=np.array([[[0.0, 0.0], [4.2, 1.0]]]))
    np.savez(tmp_path / "b.npz", tracks=np.array([[[3.0, 7.0], [2.0, 6.5]]]))
    a, b = read_track_file(tmp_path / "a.npz"), read_track_file(tmp_path / "b.npz")
    assert coordinate_extent(a, b) == (6, 8)  # ceil(4.2) + 1, ceil(7) + 1
    assert coordinate_extent() == (1, 1)


def test_a_corrupt_track_file_is_a_clear_error(tmp_path):
    path = tmp_path / "torn.npz"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(TracksError, match=rf"{path}: cannot be read as an .npz track file"):
        load_tracks(path, size=(8, 8))


def test_tracks_resample_down_to_two_frames_keeping_the_ends():
    from motionbench.metrics.tracks import resample_time

    t = Tracks(GEN, np.ones(GEN.shape[:2], bool), (8, 8))
    two = resample_time(t, 2)
    assert np.allclose(two.tracks, GEN[:, [0, -1]])
    with pytest.raises(TracksError, match=r"cannot resample tracks to 1 frame\(s\); need at least 2"):
        resample_time(t, 1)


def test_resampling_interpolates_between_the_frames_around_each_time_and_hides_times_next_to_hidden_frames():
    from motionbench.metrics.tracks import resample_time

    # 4 frames read at 3 evenly spaced times 0, 1.5, 3: the middle one halfway between frames 1 and 2
    arr = np.array([[[0, 0], [10, 2], [30, 4], [60, 6]],
                    [[5, 5], [5, 5], [5, 5], [5, 5]]], float)
    vis = np.array([[True, True, True, True],
                    [True, False, False, True]])  # the second point hidden on the two middle frames
    out = resample_time(Tracks(arr, vis, (64, 64)), 3)
    np.testing.assert_allclose(out.tracks[0], [[0, 0], [20, 3], [60, 6]])
    # a resampled time is visible only when both source frames around it are (time 0 sits between
    # frames 0 and 1, so the hidden frame 1 hides it too)
    assert out.visibility.dtype == bool
    assert out.visibility.tolist() == [[True, True, True], [False, False, True]]


def test_alignment_scales_up_the_tracks_of_a_smaller_generated_video():
    ref = _path([4, 6, 9, 13], [2, 3, 5, 8], (32, 16))
    gen = _path([2, 3, 4.5, 6.5], [0.5, 0.75, 1.25, 2], (16, 4))  # the same motion at half width, a quarter height
    g, r = align_tracks(gen, ref)
    assert g.size == (32, 16)
    np.testing.assert_allclose(g.tracks, ref.tracks)
    assert motion_fidelity(gen, ref, "matched") == pytest.approx(1.0, abs=1e-12)


def test_load_tracks_takes_the_pixel_size_by_keyword_and_it_overrides_the_files_own(tmp_path):
    sized = save_tracks(tmp_path / "t.npz", Tracks(GEN, np.ones(GEN.shape[:2], bool), (32, 24)))
    assert load_tracks(path=sized).size == (32, 24)
    assert load_tracks(sized, size=(64, 48)).size == (64, 48)
    np.savez(tmp_path / "bare.npz", tracks=GEN)
    assert load_tracks(path=tmp_path / "bare.npz", size=(8, 8)).size == (8, 8)
    with pytest.raises(TracksError, match=r"bare.npz: has no 'size' entry"):
        load_tracks(tmp_path / "bare.npz")
    with pytest.raises(TypeError):
        load_tracks(sized, (64, 48))  # keyword only: a bare tuple after the path says nothing about what it is


def test_a_variant_named_by_a_string_built_at_run_time_is_the_variant_computed():
    """The variant comes from a config file or the command line (a string made at run time, not the
    literal in the code), and must still select the matched form and its undefined-score error."""
    from motionbench.metrics.base import MetricInputError
    from motionbench.metrics.motion_fidelity import MotionFidelity
    from motionbench.metrics.motion_matched import motion_fidelity_matched

    import sys

    variant = "motion_fidelity/matched".split("/")[1]
    assert variant == "matched" and variant is not sys.intern("matched")  # equal, but another object
    gen, ref = _tracks(GEN), _tracks(REF)
    expected = motion_fidelity_matched(GEN, REF, np.ones(REF.shape[:2], bool), (64, 48))
    assert motion_fidelity(gen, ref, variant) == pytest.approx(expected)
    with pytest.raises(MetricInputError, match="invisible at every step"):
        MotionFidelity(variant)(generated_tracks=gen, reference_tracks=_tracks(REF, visible=False))


def test_tracks_of_long_videos_are_compared_step_by_step():
    """A 300-frame video (more steps than Python caches small ints for) is scored like a short one."""
    rng = np.random.default_rng(0)
    ref = np.cumsum(rng.normal(size=(3, 300, 2)), axis=1)
    assert motion_fidelity(_tracks(ref), _tracks(ref), "symmetric") == pytest.approx(1.0)
    assert motion_fidelity(_tracks(-ref), _tracks(ref), "symmetric") < 0.5  # mirrored: no track moves alike


def test_following_the_reference_scores_higher_and_the_metric_says_so():
    """Reports rank by ``higher_is_better``: it must agree with the score, where following the
    reference's motion scores above moving against it."""
    from motionbench.metrics.motion_fidelity import MotionFidelity

    pan = tracks_from_steps([[(1, 0), (2, 0)]] * 3) + np.array([[[0, 0]], [[10, 0]], [[20, 0]]])
    for variant in VARIANTS:
        metric = MotionFidelity(variant)
        same = metric(generated_tracks=_tracks(pan), reference_tracks=_tracks(pan))
        reversed_ = metric(generated_tracks=_tracks(pan[:, ::-1]), reference_tracks=_tracks(pan))
        assert same > reversed_, variant
        assert metric.higher_is_better is True


def test_tracks_are_saved_into_folders_that_do_not_exist_yet(tmp_path):
    t = Tracks(GEN, np.ones(GEN.shape[:2], bool), (32, 24))
    path = save_tracks(tmp_path / "cache" / "run" / "t.npz", t)
    assert path.is_file()
    assert np.allclose(load_tracks(path).tracks, GEN)


def test_a_displacement_of_exactly_static_eps_is_motion():
    """Shorter than STATIC_EPS is no motion (a zero unit vector); exactly STATIC_EPS already moves."""
    from motionbench.metrics.motion_fidelity import STATIC_EPS, unit_displacements

    assert STATIC_EPS == 1e-3
    track = np.array([[[0.0, 0.0], [1e-3, 0.0], [1e-3, 5e-4], [1e-3, 5e-4 - 1e-3]]])  # steps of 1e-3, 5e-4, 1e-3
    np.testing.assert_array_equal(unit_displacements(track), [[[1.0, 0.0], [0.0, 0.0], [0.0, -1.0]]])
    one_px = np.array([[[0.0, 0.0], [1.0, 0.0], [1.0, 0.0], [1.0, -1.0]]])  # the same directions, 1 px
    assert motion_fidelity_symmetric(track, one_px) == pytest.approx(2 / 3)  # (1 + 0 + 1) / 3 steps


def test_a_generated_track_longer_than_the_reference_is_refused_too():
    from motionbench.metrics.motion_fidelity import similarity_matrix

    with pytest.raises(ValueError, match=r"track lengths differ \(6 vs 5 frames\); align them first"):
        similarity_matrix(np.zeros((3, 6, 2)), np.zeros((4, 5, 2)))


def test_dmt_and_symmetric_named_by_strings_built_at_run_time_are_computed():
    """Variants read from a config (strings equal to, but not the same object as, the literals) select
    their own form: the hand-computed 0.5 (dmt) and 0.75 (symmetric) of GEN against REF."""
    import sys

    gen, ref = _tracks(GEN), _tracks(REF)
    for name, expected in (("dmt", 0.5), ("symmetric", 0.75)):
        variant = f"motion_fidelity/{name}".split("/")[1]
        assert variant == name and variant is not sys.intern(name)
        assert motion_fidelity(gen, ref, variant) == pytest.approx(expected)


def test_rescaling_to_the_tracks_own_size_returns_them_as_they_are():
    """Already in the asked pixels (the size as a tuple or a list): the same Tracks, not a scaled copy."""
    from motionbench.metrics.tracks import rescale

    t = Tracks(np.array([[[1.0, 2.0], [3.0, 4.0]]], np.float32), np.ones((1, 2), bool), (64, 48))
    assert rescale(t, (64, 48)) is t and rescale(t, [64, 48]) is t
    doubled = rescale(t, (128, 96))
    np.testing.assert_array_equal(doubled.tracks, [[[2.0, 4.0], [6.0, 8.0]]])
    assert doubled.size == (128, 96) and doubled.visibility is t.visibility
