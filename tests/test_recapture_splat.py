"""Synthetic 3-D scenes drawn from any camera, and splatting checked against their exact views."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from motionbench.bench.scenes import Quad, Scene, SceneClip, SceneObject, Sphere, render_clip
from motionbench.errors import ConfigError
from motionbench.recapture.cameras import intrinsics
from motionbench.recapture.splat import double_reprojection, forward_splat
from motionbench.recapture.trajectory import CameraPath
from motionbench.recapture.warp import warp_along_path


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    err = (a.astype(np.float64) - b.astype(np.float64))[mask]
    return 10 * np.log10(255.0 ** 2 / max(float((err ** 2).mean()), 1e-10))


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = (a | b).sum()
    return float((a & b).sum() / union) if union else 1.0


@pytest.fixture(scope="module")
def clip96():
    return render_clip(0, num_frames=3, size=(96, 96))


def wall(z: float = 5.0, half: float = 20.0, seed: int = 0) -> SceneObject:
    rng = np.random.default_rng(seed)
    tex = np.clip(rng.random((8, 8, 3)), 0, 1).astype(np.float32)
    return SceneObject("background", 0, (Quad(np.array([0, 0, z]), np.array([half, 0, 0]), np.array([0, half, 0]), tex),))


def test_renders_are_seeded_and_the_identity_path_is_the_source(clip96):
    again = render_clip(0, num_frames=3, size=(96, 96))
    assert np.array_equal(again.source.frames, clip96.source.frames)
    other_look = render_clip(0, num_frames=3, size=(96, 96), appearance=1)
    assert not np.array_equal(other_look.source.frames, clip96.source.frames)
    assert np.array_equal(other_look.source.depth, clip96.source.depth)  # appearance changes the look only
    same = clip96.target("identity")
    assert np.array_equal(same.frames, clip96.source.frames) and np.array_equal(same.depth, clip96.source.depth)
    assert (clip96.source.labels == 1).any(), "the moving object is in view"
    moved = clip96.source.labels[0] != clip96.source.labels[-1]
    assert moved.any()


def test_depth_is_the_z_of_the_nearest_surface():
    ball = SceneObject("ball", 1, (Sphere(np.zeros(3), 0.5, np.array([[1.0, 0, 0]]), np.zeros(1),
                                          np.array([[0, 0, 0], [1, 1, 1.0]])),), path=np.array([[0.0, 0.0, 3.0]]))
    scene = Scene((wall(5.0), ball))
    k = intrinsics(33, 33)
    view = scene.render(np.eye(4)[None], k, np.zeros(1), (33, 33), supersample=1)
    assert view.depth[0, 16, 16] == pytest.approx(2.5, abs=1e-5)  # the ball's front, straight ahead
    assert view.labels[0, 16, 16] == 1 and view.labels[0, 0, 0] == 0
    assert view.depth[0, 0, 0] == pytest.approx(5.0, abs=1e-5)  # z, not the distance along the ray
    with pytest.raises(ConfigError, match="hit nothing"):
        Scene((ball,)).render(np.eye(4)[None], k, np.zeros(1), (33, 33))


def test_splat_with_the_identity_camera_returns_the_source_exactly(clip96):
    w = warp_along_path(clip96.source.frames, clip96.source.depth, clip96.intrinsics, "identity")
    assert w.visible.all()
    assert np.array_equal(w.frames, clip96.source.frames)
    assert np.allclose(w.depth, clip96.source.depth, rtol=1e-5)


@pytest.mark.parametrize("spec", ["turn:yaw=10", "turn:yaw=-8,pitch=6"])
def test_splat_along_a_pure_rotation_matches_the_exact_view(clip96, spec):
    truth = clip96.target(spec)
    seen = clip96.seen_from_source(spec, truth)
    w = warp_along_path(clip96.source.frames, clip96.source.depth, clip96.intrinsics, spec)
    assert (~seen).mean() > 0.05, "the rotation must bring unseen parts into view"
    assert psnr(w.frames, truth.frames, w.visible) > 30.0
    assert iou(~w.visible, ~seen) > 0.9


def test_splat_marks_the_disocclusions_of_a_sideways_move(clip96):
    spec = "pan:x=0.2"
    truth = clip96.target(spec)
    seen = clip96.seen_from_source(spec, truth)
    w = warp_along_path(clip96.source.frames, clip96.source.depth, clip96.intrinsics, spec)
    inside = np.zeros_like(seen)
    inside[:, 8:-8, 8:-8] = True  # disocclusions away from the frame border, next to objects
    assert (~seen & inside).sum() > 50
    assert iou(~w.visible, ~seen) > 0.9
    assert psnr(w.frames, truth.frames, w.visible & seen) > 28.0


def test_zoom_in_leaves_no_cracks_inside_a_surface():
    scene = Scene((wall(5.0),))
    k = intrinsics(48, 48)
    src = scene.render(np.eye(4)[None], k, np.zeros(1), (48, 48))
    w = warp_along_path(src.frames, src.depth, k, "zoom:zoom=1.8")  # each source pixel spans 1.8 x 1.8
    assert w.visible[-1].all()


def test_the_z_buffer_keeps_the_nearer_surface():
    h = w = 16
    img = torch.zeros(1, 3, h, w)
    img[:, 0, :, :8] = 255  # red, near (left half)
    img[:, 2, :, 8:] = 255  # blue, far (right half)
    depth = torch.full((1, 1, h, w), 10.0)
    depth[..., :8] = 2.0
    k = torch.from_numpy(intrinsics(w, h))[None]
    # Move the camera left: near points shift right in the image far more than far ones.
    shift = torch.eye(4, dtype=torch.float64)[None].clone()
    shift[0, 0, 3] = 0.4
    out = forward_splat(img, depth, k, k, shift)
    red_right = out.image[0, 0, :, 8:] > 128
    assert red_right.any(), "the near half must move over the far half"
    assert (out.image[0, 2, :, 8:][red_right] < 64).all(), "where they overlap the near surface wins"


def test_double_reprojection_returns_the_source_where_nothing_is_occluded():
    clip = render_clip(3, num_frames=1, size=(128, 128), moving="none")
    spec = CameraPath.parse("turn:yaw=10")
    img = torch.from_numpy(clip.source.frames.copy()).permute(0, 3, 1, 2).float()
    depth = torch.from_numpy(clip.source.depth.copy()).unsqueeze(1)
    k = torch.from_numpy(clip.intrinsics)[None]
    rel = torch.from_numpy(spec.relative_extrinsics(2, 4.0)[-1:])
    back = double_reprojection(img, depth, k, rel)
    kept = back.visible[0, 0].numpy() > 0.5
    # A pure rotation occludes nothing: the only loss is what leaves the target's frame.
    cols, rows = np.meshgrid(np.arange(128.0), np.arange(128.0))
    pix = np.stack([cols, rows, np.ones_like(cols)], -1) @ np.linalg.inv(clip.intrinsics).T
    cam = pix @ rel[0, :3, :3].numpy().T
    uv = cam @ clip.intrinsics.T
    u = uv[..., 0] / uv[..., 2]
    leaves = (u < -0.5) | (u >= 127.5)
    assert leaves.mean() > 0.1
    assert iou(~kept, leaves) > 0.9
    got = back.image[0].permute(1, 2, 0).numpy()
    # Two bilinear resamplings (there and back) blur the texture slightly: about 2 dB below one trip.
    assert psnr(got[None], clip.source.frames, kept[None]) > 28.0
    same = double_reprojection(img, depth, k, torch.eye(4, dtype=torch.float64)[None])
    assert torch.equal(same.image, img) and bool((same.visible == 1).all())


def test_double_reprojection_loses_what_the_new_view_cannot_see():
    clip = render_clip(0, num_frames=1, size=(96, 96))
    there = CameraPath.parse("frozen:x=0.12,pivot=5")
    target = clip.target(there)
    # The source pixels the target camera sees: the same visibility test with the roles swapped.
    reverse = SceneClip(clip.scene, target, clip.fps, clip.seed)
    expected_lost = ~reverse.seen_from_source("frozen:x=-0.12,pivot=5", clip.source)[0]
    img = torch.from_numpy(clip.source.frames.copy()).permute(0, 3, 1, 2).float()
    depth = torch.from_numpy(clip.source.depth.copy()).unsqueeze(1)
    back = double_reprojection(img, depth, torch.from_numpy(clip.intrinsics)[None],
                               torch.from_numpy(there.relative_extrinsics(1)))
    lost = back.visible[0, 0].numpy() < 0.5
    interior = np.zeros_like(lost)
    interior[4:-4, 4:-4] = True
    assert (expected_lost & interior).sum() > 300, "objects hide background from the moved camera"
    assert iou(lost, expected_lost) > 0.9
