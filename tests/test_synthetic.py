"""Behaviour of the synthetic generators: determinism, look/motion separation, ground truth vs pixels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from motionbench.bench.clips import load_sample
from motionbench.bench.manifest import load_manifest
from motionbench.bench.synthetic import (
    GENERATORS,
    check_params,
    describe_params,
    render,
)
from motionbench.errors import ConfigError

MANIFEST = Path(__file__).resolve().parents[1] / "data" / "manifest.yaml"

# One representative motion per generator, plus the hardest variants (perspective, scale, fast limbs).
CASES = [
    ("camera", {"path": "pan"}),
    ("camera", {"path": "orbit"}),
    ("camera", {"path": "zoom_out"}),
    ("single_object", {"path": "spiral", "scale_change": 0.5, "spin": 0.2}),
    ("multi_object", {"pattern": "crossing", "count": 3}),
    ("multi_object", {"pattern": "orbit", "count": 2}),
    ("human", {"action": "walk"}),
    ("human", {"action": "jump"}),
]
IDS = [f"{g}-{'-'.join(str(v) for v in p.values())}" for g, p in CASES]


def _patch(frame: np.ndarray, xy: np.ndarray, radius: int = 4) -> np.ndarray:
    import cv2

    side = 2 * radius + 1
    return cv2.getRectSubPix(frame.astype(np.float32), (side, side), (float(xy[0]), float(xy[1]))).ravel()


def _ncc(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / (np.sqrt((a * a).sum() * (b * b).sum()) + 1e-6))


def _interior(xy: np.ndarray, size: int = 128, margin: float = 6.0) -> bool:
    return bool(np.all(xy >= margin) and np.all(xy <= size - 1 - margin))


@pytest.mark.parametrize("generator,params", CASES, ids=IDS)
def test_same_arguments_give_identical_bits(generator, params):
    a = render(generator, seed=4, params=params, num_frames=5)
    b = render(generator, seed=4, params=params, num_frames=5)
    assert np.array_equal(a.frames, b.frames)
    assert np.array_equal(a.tracks, b.tracks)
    assert np.array_equal(a.visibility, b.visibility)


@pytest.mark.parametrize("generator", GENERATORS)
def test_different_seed_gives_different_motion(generator):
    a = render(generator, seed=1, num_frames=9)
    b = render(generator, seed=2, num_frames=9)
    # Compare the motion itself (displacements from the first frame), not where the points start.
    da = a.tracks - a.tracks[:, :1]
    db = b.tracks - b.tracks[:, :1]
    n = min(len(da), len(db))
    assert np.abs(da[:n] - db[:n]).mean() > 1.0


@pytest.mark.parametrize("generator,params", CASES, ids=IDS)
def test_new_appearance_keeps_motion_bitwise_and_changes_the_look(generator, params):
    ref = render(generator, seed=7, params=params)
    for appearance in (1, 2):
        other = render(generator, seed=7, params=params, appearance=appearance)
        assert np.array_equal(ref.tracks, other.tracks)
        assert np.array_equal(ref.visibility, other.visibility)
        assert np.array_equal(ref.labels, other.labels)
        diff = np.abs(ref.frames.astype(np.int16) - other.frames.astype(np.int16)).mean()
        assert diff > 25.0, f"appearance {appearance} looks too much like the reference (mean abs diff {diff:.1f})"


@pytest.mark.parametrize("generator", ["single_object", "multi_object", "human"])
def test_tracked_points_lie_on_their_surface_in_every_look(generator):
    """Object shapes change with the look (disc, square, hexagon, flower...); the points stay on them."""
    for appearance in range(6):
        clip = render(generator, seed=11, appearance=appearance, num_frames=5)
        on_object = (clip.labels > 0)[:, None] & clip.visibility
        n, t = np.nonzero(on_object)
        cols = np.rint(clip.tracks[n, t, 0]).astype(int)
        rows = np.rint(clip.tracks[n, t, 1]).astype(int)
        assert clip.foreground[t, rows, cols].all(), f"appearance {appearance}: a tracked point off its surface"
        background = (clip.labels == 0)[:, None] & clip.visibility
        n, t = np.nonzero(background)
        cols = np.rint(clip.tracks[n, t, 0]).astype(int)
        rows = np.rint(clip.tracks[n, t, 1]).astype(int)
        assert not clip.foreground[t, rows, cols].any(), f"appearance {appearance}: a visible background point under an object"


@pytest.mark.parametrize("generator,params", CASES, ids=IDS)
def test_ground_truth_tracks_follow_the_pixels(generator, params):
    """A visible point's texture at frame t reappears at its track position in t+1, not elsewhere."""
    clip = render(generator, seed=3, params=params)
    true_ncc, stale_ncc, true_ssd, off_ssd = [], [], [], []
    rng = np.random.default_rng(0)
    for t in range(clip.frames.shape[0] - 1):
        for n in range(clip.num_points):
            a, b = clip.tracks[n, t], clip.tracks[n, t + 1]
            if not (clip.visibility[n, t] and clip.visibility[n, t + 1] and _interior(a) and _interior(b)):
                continue
            ref = _patch(clip.frames[t], a)
            here = _patch(clip.frames[t + 1], b)
            # Sub-pixel check: 1.5 px away from the true position must match worse.
            shift = rng.normal(size=2)
            shifted = _patch(clip.frames[t + 1], b + 1.5 * shift / np.linalg.norm(shift))
            true_ssd.append(np.mean((ref - here) ** 2))
            off_ssd.append(np.mean((ref - shifted) ** 2))
            if np.linalg.norm(b - a) >= 2.0:
                true_ncc.append(_ncc(ref, here))
                stale_ncc.append(_ncc(ref, _patch(clip.frames[t + 1], a)))
    assert len(true_ncc) > 50, "too few moving visible points to check"
    floor = 0.85 if generator == "human" else 0.97  # thin limbs: patches straddle the background
    assert np.median(true_ncc) > floor
    assert np.median(true_ncc) > np.median(stale_ncc) + 0.05
    assert np.median(true_ssd) < 0.5 * np.median(off_ssd)


# The tracking generators texture every region so a point tracker has something to follow; the toy
# world's flat colours are deliberate (a colour is a word of its captions) and are tested in test_toy_world.
TEXTURED = tuple(g for g in GENERATORS if not g.startswith("toy_"))


@pytest.mark.parametrize("generator", TEXTURED)
def test_every_region_is_textured(generator):
    clip = render(generator, seed=5, num_frames=5, appearance=1)
    grey = clip.frames.astype(np.float32).mean(axis=-1)  # [T, H, W]
    blocks = grey.reshape(grey.shape[0], 16, 8, 16, 8)
    local_std = blocks.std(axis=(2, 4))
    assert local_std.min() > 3.0, f"a flat 8x8 block (std {local_std.min():.2f})"
    assert np.median(local_std) > 8.0


def test_human_limbs_move_relative_to_each_other():
    clip = render("human", seed=1, params={"action": "walk"})
    names = clip.label_names
    groups = {name: np.nonzero(clip.labels == names.index(name))[0] for name in ("torso", "near_forearm", "near_shin", "far_shin")}
    spreads = []
    for a, b in (("torso", "near_forearm"), ("torso", "near_shin"), ("near_shin", "far_shin")):
        pa, pb = clip.tracks[groups[a]][:, None], clip.tracks[groups[b]][None]  # all pairs
        dist = np.linalg.norm(pa - pb, axis=-1)  # [na, nb, T]
        spreads.append(float((dist.max(axis=-1) - dist.min(axis=-1)).mean()))
    # A rigid sprite would keep every distance constant; limbs swing by several pixels.
    assert min(spreads) > 3.0, spreads
    # Within one part, distances stay fixed: each part is rigid.
    part = clip.tracks[groups["near_shin"][:2]]
    within = np.linalg.norm(part[0] - part[1], axis=-1)
    assert within.max() - within.min() < 1e-3


def test_human_actions_move_the_expected_limbs():
    def motion_of(clip, name):
        idx = clip.labels == clip.label_names.index(name)
        return np.linalg.norm(np.diff(clip.tracks[idx], axis=1), axis=-1).sum(axis=1).mean()

    wave = render("human", seed=1, params={"action": "wave"})
    assert motion_of(wave, "near_forearm") > 5 * motion_of(wave, "near_shin")
    walk = render("human", seed=1, params={"action": "walk"})
    torso_x = walk.tracks[walk.labels == walk.label_names.index("torso"), :, 0].mean(axis=0)
    assert abs(torso_x[-1] - torso_x[0]) > 20.0  # it walks across the frame


def test_human_occlusion_hides_far_limbs_behind_the_torso():
    clip = render("human", seed=1, params={"action": "squat"})
    far = np.isin(clip.labels, [clip.label_names.index(n) for n in ("far_upper_arm", "far_thigh")])
    front = clip.labels == clip.label_names.index("near_forearm")
    assert (~clip.visibility[far]).mean() > 0.3
    assert clip.visibility[front].all()  # drawn last and inside the frame: never hidden


def test_multi_object_occlusion_hides_and_reveals_points():
    clip = render("multi_object", seed=2, params={"pattern": "crossing", "count": 2})
    back = clip.labels == 2  # object2 passes behind object1
    vis = clip.visibility[back]
    assert (~vis).any(), "no point of the back object was ever hidden"
    # Some points are hidden at one time and visible both before and after: they reappear.
    hidden_then_back = [
        np.any(v[: np.argmin(v)]) and np.any(v[np.argmin(v):]) for v in vis if not v.all()
    ]
    assert any(hidden_then_back)
    # Hidden points are really covered: their track position shows the front object's pixels.
    t_hidden = np.argmax((~vis).sum(axis=0))
    front = clip.tracks[clip.labels == 1, t_hidden].mean(axis=0)
    hidden_pts = clip.tracks[back][~vis[:, t_hidden], t_hidden]
    reach = 0.11 * 128 * 1.15
    assert np.all(np.linalg.norm(hidden_pts - front, axis=-1) < reach + 1.5)
    assert clip.foreground[t_hidden].any()


@pytest.mark.parametrize(
    "generator,params",
    [("multi_object", {"pattern": "crossing", "count": 2}), ("multi_object", {"pattern": "orbit", "count": 2}),
     ("human", {"action": "walk"}), ("human", {"action": "squat"})],
    ids=["crossing", "orbit", "walk", "squat"],
)
def test_visibility_agrees_with_pixels(generator, params):
    """Where a point is marked hidden, something else is drawn at its position; where visible, it is itself."""
    clip = render(generator, seed=1, params=params)
    stays, covered = [], []
    for n in range(clip.num_points):
        for t in range(clip.frames.shape[0] - 1):
            a, b = clip.tracks[n, t], clip.tracks[n, t + 1]
            if not clip.visibility[n, t] or not _interior(b, margin=3.0):
                continue
            err = np.abs(_patch(clip.frames[t], a, 2) - _patch(clip.frames[t + 1], b, 2)).mean()
            (stays if clip.visibility[n, t + 1] else covered).append(err)
    assert len(covered) >= 10, "expected points to become occluded"
    assert np.median(covered) > 4 * np.median(stays)


def test_orbit_pattern_swaps_depth_order():
    clip = render("multi_object", seed=3, params={"pattern": "orbit", "count": 2})
    hidden_1 = (~clip.visibility[clip.labels == 1]).any()
    hidden_2 = (~clip.visibility[clip.labels == 2]).any()
    assert hidden_1 and hidden_2, "the orbiting object should pass both in front of and behind its hub"


def test_background_points_are_static_and_camera_points_move():
    obj = render("single_object", seed=1)
    bg = obj.tracks[obj.labels == 0]
    assert np.array_equal(bg, np.repeat(bg[:, :1], bg.shape[1], axis=1))
    cam = render("camera", seed=1, params={"path": "pan"})
    assert np.median(np.linalg.norm(cam.tracks[:, -1] - cam.tracks[:, 0], axis=-1)) > 20.0
    assert not cam.foreground.any()


@pytest.mark.parametrize("generator,params", [("single_object", {"path": "zigzag"}), ("human", {"action": "walk"}), ("camera", {"path": "orbit"})])
def test_motion_is_defined_in_seconds(generator, params):
    """Half the frame rate over the same two seconds samples the same motion at every other frame."""
    slow = render(generator, seed=1, params=params, num_frames=9, fps=4.0)
    fast = render(generator, seed=1, params=params, num_frames=17, fps=8.0)
    if generator == "camera":  # some camera points are picked in the middle and last frames
        slow, fast = slow.tracks[:100], fast.tracks[:100]
    else:
        slow, fast = slow.tracks, fast.tracks
    np.testing.assert_allclose(slow, fast[:, ::2], atol=1e-3)


def test_walking_feet_do_not_slide():
    clip = render("human", seed=2, params={"action": "walk"}, num_frames=33, fps=16.0)
    foot = clip.tracks[clip.labels == clip.label_names.index("near_foot")].mean(axis=0)  # [T, 2]
    on_ground = foot[:, 1] > foot[:, 1].max() - 0.5
    still = np.abs(np.diff(foot[:, 0]))[on_ground[1:] & on_ground[:-1]]
    assert len(still) >= 5 and np.median(still) < 0.2  # planted while it carries the weight
    assert foot[:, 0].max() - foot[:, 0].min() > 30  # and yet the figure travels


def test_render_is_fast():
    import time

    for generator in GENERATORS:
        render(generator, seed=0)  # warm up imports
        start = time.process_time()  # CPU time: robust to other processes sharing the machine
        render(generator, seed=0)
        assert time.process_time() - start < 0.5  # 17 frames 128x128; typically under 0.1 s


def test_check_params_names_the_problem_and_the_allowed_values():
    assert check_params("camera", {"path": "pan", "speed": 2}) == []
    unknown = check_params("dolly", {})
    assert len(unknown) == 1 and "dolly" in unknown[0] and "single_object" in unknown[0]
    bad_key = check_params("human", {"acton": "walk"})
    assert "acton" in bad_key[0] and "action" in bad_key[0]
    bad_value = check_params("camera", {"path": "sideways"})
    assert "sideways" in bad_value[0] and "zoom_in" in bad_value[0]
    bad_number = check_params("multi_object", {"count": 9, "speed": "fast"})
    assert len(bad_number) == 2 and "[2, 4]" in bad_number[0]
    assert check_params("multi_object", {"count": 2.5})  # an integer param refuses fractions
    assert set(describe_params("single_object")) == {"path", "speed", "scale_change", "spin"}
    assert "zigzag" in describe_params("single_object")["path"]


def test_render_rejects_bad_arguments_with_clear_errors():
    with pytest.raises(ConfigError, match="allowed: camera"):
        render("dolly", seed=0)
    with pytest.raises(ConfigError, match="path"):
        render("camera", seed=0, params={"path": "sideways"})
    with pytest.raises(ConfigError, match="seed"):
        render("camera", seed=-1)
    with pytest.raises(ConfigError, match="size"):
        render("camera", seed=0, size=(8, 8))
    with pytest.raises(ConfigError, match="lower speed"):
        render("camera", seed=0, params={"path": "zoom_out", "speed": 3.0}, num_frames=200)


def test_shipped_manifest_covers_every_category_and_renders():
    manifest = load_manifest(MANIFEST)
    per_category = {c: [s for s in manifest.samples if s.category == c] for c in manifest.category_names()}
    assert set(per_category) == {"camera", "single_object", "multi_object", "human"}
    for category, samples in per_category.items():
        assert len(samples) >= 4, category
        for sample in samples:
            assert len(sample.prompts) >= 2 and len(set(sample.prompts)) == len(sample.prompts)
            source = sample.source
            assert check_params(source.generator, source.params) == [], sample.id
            clip = render(source.generator, seed=source.seed, params=source.params, num_frames=sample.frames.count,
                          size=sample.size, fps=sample.fps)
            assert clip.frames.shape == (81, 128, 128, 3)
            loaded = load_sample(sample)  # the path the runner takes
            assert np.array_equal(loaded.clip.frames, clip.frames)
            assert np.array_equal(loaded.ground_truth.tracks, clip.tracks)
            if category == "camera":
                assert sample.box is None
                continue
            # The box covers (nearly) all of the foreground across the clip.
            x0, y0, x1, y1 = (int(round(v)) for v in sample.box)
            fg = clip.foreground.sum()
            inside = clip.foreground[:, y0:y1, x0:x1].sum()
            assert inside >= 0.98 * fg, f"{sample.id}: box {sample.box} misses foreground"
            assert (x1 - x0) * (y1 - y0) < 0.95 * 128 * 128 or category == "multi_object"
