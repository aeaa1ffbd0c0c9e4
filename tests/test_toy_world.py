"""The toy world: seeded clips, looks and captions, ground truth, the held-out split, the readers."""

from __future__ import annotations

import numpy as np
import pytest

from motionbench.bench.synthetic import render
from motionbench.bench.toy import (
    CATEGORIES, TOY_GENERATORS, Look, Thing, all_looks, caption, look_from_params, params_for_look, parse_caption,
    render_look, words,
)
from motionbench.bench.toy.detect import colour_counts, look_matches, smooth_motion
from motionbench.bench.toy.world import object_area
from motionbench.errors import ConfigError

GEOMETRY = dict(num_frames=33, size=(32, 32), fps=8.0)
MOTIONS = {"toy_camera": [{"path": p} for p in ("pan", "zoom_in", "zoom_out")],
           "toy_single_object": [{"path": p} for p in ("line", "arc")],
           "toy_multi_object": [{}],
           "toy_human": [{"action": a} for a in ("walk", "jump", "wave")]}


@pytest.mark.parametrize("generator", TOY_GENERATORS)
def test_same_seed_same_clip_and_new_look_keeps_ground_truth(generator):
    for params in MOTIONS[generator]:
        a = render(generator, seed=5, params=params, **GEOMETRY)
        b = render(generator, seed=5, params=params, **GEOMETRY)
        other = render(generator, seed=5, params=params, appearance=1, **GEOMETRY)
        assert a.frames.shape == (33, 32, 32, 3)
        np.testing.assert_array_equal(a.frames, b.frames)
        np.testing.assert_array_equal(a.tracks, other.tracks)
        np.testing.assert_array_equal(a.visibility, other.visibility)
        assert not np.array_equal(a.frames, other.frames)
        # A different seed is a different motion.
        c = render(generator, seed=6, params=params, **GEOMETRY)
        assert np.abs(c.tracks - a.tracks).max() > 1.0


def test_captions_round_trip_and_name_no_motion():
    for category in CATEGORIES:
        for look in all_looks(category, "all"):
            text = caption(look)
            assert parse_caption(text) == look
            assert not set(text.split()) & {"left", "right", "up", "down", "moving", "walking", "pan", "zoom"}
    assert caption(Look("single_object", (Thing("orange", "square"),), background="gray")) == \
        "an orange square on a gray background"
    with pytest.raises(ConfigError, match="not a toy-world caption"):
        parse_caption("a red circle moving left")
    with pytest.raises(ConfigError, match="colour 'pink'"):
        Look("single_object", (Thing("pink", "circle"),), background="gray").validate()


def test_held_out_split_is_disjoint_and_uses_training_words():
    train_words = set()
    for category in CATEGORIES:
        train, held = all_looks(category, "train"), all_looks(category, "held_out")
        assert train and held and not set(train) & set(held)
        assert len(train) + len(held) == len(all_looks(category, "all"))
        train_words |= {w for lk in train for w in caption(lk).split()}
    assert train_words == set(words())


def test_params_name_the_look_they_render():
    for generator in TOY_GENERATORS:
        look = all_looks(look_from_params(generator, _resolved(generator)).category, "held_out")[0]
        params = {**MOTIONS[generator][0], **params_for_look(generator, look)}
        assert look_from_params(generator, _resolved(generator, params)) == look
        clip = render(generator, seed=3, params=params, **GEOMETRY)
        assert look_matches(clip.frames, look).ok, (generator, look, colour_counts(clip.frames))


def _resolved(generator, params=None):
    from motionbench.bench.synthetic.params import resolve
    from motionbench.bench.toy import PARAMS

    return resolve(generator, PARAMS[generator], params or {})


def test_object_tracks_sit_on_the_object_pixels():
    params = {"path": "arc", "colour": "blue", "shape": "triangle", "background": "black"}
    clip = render("toy_single_object", seed=9, params=params, **GEOMETRY)
    obj = (clip.labels == 1)[:, None] & clip.visibility
    xy = np.rint(clip.tracks).astype(int)
    n, t = np.nonzero(obj)
    pixels = clip.frames[t, xy[n, t, 1], xy[n, t, 0]].astype(float)
    assert np.linalg.norm(pixels - [45, 90, 230], axis=-1).max() < 20  # every tracked point shows the object's blue
    # ... and the object really moves.
    assert np.linalg.norm(clip.tracks[clip.labels == 1, -1] - clip.tracks[clip.labels == 1, 0], axis=-1).min() > 5


def test_camera_tracks_follow_the_pattern():
    """A patch around a tracked scene point looks the same in the first and the last frame where it is seen."""
    clip = render("toy_camera", seed=4, params={"path": "pan", "pattern": "dots"}, **GEOMETRY)
    assert np.abs(clip.tracks[:, -1] - clip.tracks[:, 0]).max() > 8  # the view slides
    errors, shuffled = [], []
    for n in range(clip.num_points):
        seen = np.nonzero(clip.visibility[n])[0]
        if len(seen) < 10:
            continue
        a, b = seen[0], seen[-1]
        (xa, ya), (xb, yb) = np.rint(clip.tracks[n, a]).astype(int), np.rint(clip.tracks[n, b]).astype(int)
        if min(xa, ya, xb, yb) < 2 or max(xa, ya, xb, yb) > 29:
            continue
        pa = clip.frames[a, ya - 2:ya + 3, xa - 2:xa + 3].astype(float)
        pb = clip.frames[b, yb - 2:yb + 3, xb - 2:xb + 3].astype(float)
        errors.append(np.abs(pa - pb).mean())
        shuffled.append(np.abs(pa - clip.frames[b, ya - 2:ya + 3, xa - 2:xa + 3].astype(float)).mean())
    assert len(errors) >= 8
    assert np.median(errors) < 0.25 * np.median(shuffled)


def test_render_look_is_the_ideal_transfer():
    """The reference's motion rendered in a prompt's look: same tracks, the prompt's colours."""
    ref = render("toy_single_object", seed=21, params={"path": "line", "colour": "white", "shape": "triangle"},
                 **GEOMETRY)
    look = parse_caption("a green square on a gray background")
    from motionbench.bench.synthetic.streams import motion_rng
    from motionbench.bench.synthetic import GENERATORS

    ideal = render_look("toy_single_object", _resolved("toy_single_object", {"path": "line"}), look,
                        motion=motion_rng(21, GENERATORS.index("toy_single_object")), **GEOMETRY)
    np.testing.assert_array_equal(ideal.tracks, ref.tracks)
    assert look_matches(ideal.frames, look).ok and not look_matches(ref.frames, look).ok


def test_smooth_motion_reader_accepts_paths_and_rejects_jumps_and_fades():
    clip = render("toy_single_object", seed=2, params={"path": "line", "shape": "square"}, **GEOMETRY)
    area = object_area("square")
    assert smooth_motion(clip.frames, "gray", area).ok()
    jumpy = clip.frames[np.r_[0:16, 28:33, 16:28]]
    assert not smooth_motion(jumpy, "gray", area).ok()
    faded = clip.frames.copy()
    faded[10] = faded[0, 0, 0]  # the object vanishes for a frame
    assert not smooth_motion(faded, "gray", area).present
    static = np.repeat(clip.frames[:1], 33, axis=0)
    assert not smooth_motion(static, "gray", area).ok()


def test_lk_reads_the_isoluminant_toy_object_only_with_chroma():
    """benchmarks/toy_tracking.py's ceiling on toy-object-line (a green circle on gray, one grey level):
    luma alone loses the object at the first step and scores 0; with chroma its 24 object points are
    followed (matched 1 each) while the dragged flat background keeps the score near one half."""
    from pathlib import Path

    from conftest import script_module
    from motionbench.metrics.trackers import LKTracker

    with script_module(Path(__file__).resolve().parents[1] / "benchmarks" / "toy_tracking.py", "toy_tracking") as tt:
        (_, luma), = tt.reference_scores(LKTracker(grid=16, chroma=0.0), samples=("toy-object-line",)).values()
        (category, colour), = tt.reference_scores(LKTracker(grid=16), samples=("toy-object-line",)).values()
    assert category == "single_object"
    assert luma < 0.05 and 0.45 < colour < 0.6


def test_toy_transfer_probe_scores_a_copy_of_the_path_1_and_the_reversed_path_minus_1():
    """benchmarks/toy_transfer.py's tracker-free path agreement, on the rendered reference itself."""
    from pathlib import Path

    from conftest import script_module
    from motionbench.bench.clips import render_synthetic
    from motionbench.bench.manifest import load_manifest

    sample = next(s for s in load_manifest("toy").samples if s.id == "toy-object-line")
    frames = render_synthetic(sample).clip.frames
    with script_module(Path(__file__).resolve().parents[1] / "benchmarks" / "toy_transfer.py", "toy_transfer") as tt:
        path = tt.centroids(frames)
        assert np.isfinite(path).all() and np.linalg.norm(path[-1] - path[0]) > 10  # the object travels
        assert tt.path_agreement(path, path) == pytest.approx(1.0)
        assert tt.path_agreement(path[::-1], path) == pytest.approx(-1.0, abs=0.05)
        assert abs(tt.path_agreement(np.repeat(path[:1], len(path), axis=0), path)) < 1e-9  # a still object: 0
