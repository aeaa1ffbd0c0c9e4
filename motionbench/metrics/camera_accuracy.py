"""Camera accuracy of a re-rendering: does its camera follow the target path?

The camera of a generated video is estimated from point tracks on its *static background*:
frame-0 track positions are lifted to 3-D with a depth map of frame 0 (exact for synthetic
scenes; the source's estimated depth for real clips, whose paths start at the source camera), and
each later frame's camera is solved by RANSAC PnP from those 3-D points and the tracked 2-D
positions (OpenCV ``solvePnPRansac``, then a Levenberg-Marquardt refinement on the inliers). PnP
with known depth recovers rotations *and* metric translations, pure rotations included (an
essential matrix would be degenerate there).

Errors per frame t >= 1 against the target's relative camera ``E_t E_0^-1`` (frame-0 camera to
frame-t camera):

* rotation error: the geodesic angle of ``R_est R_true^T``, degrees;
* translation error: ``|t_est - t_true|`` divided by ``scale`` (the pivot distance by default),
  so it reads as a fraction of the scene's size.

Reported as means over the frames that could be solved (RotErr/TransErr in the camera-control
literature are often *sums* over frames, which grow with clip length; means are comparable across
lengths). A frame with fewer than ``min_points`` visible static tracks is not solved and is
counted in ``frames_failed``.

:class:`CameraAccuracyMetric` is the registered metric (``camera_accuracy``, variants ``rotation``
and ``translation``): tracks of the generated video from the configured tracker (the
``generated_tracks`` feature), the path's truth from the scene (``target_camera``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motionbench.errors import ConfigError
from motionbench.metrics.base import Metric
from motionbench.metrics.tracks import Tracks
from motionbench.recapture.cameras import invert_rigid, rigid, rotation_angle_deg

MIN_POINTS = 8
RANSAC_PIXELS = 2.0


@dataclass(frozen=True)
class CameraAccuracy:
    """Mean rotation (degrees) and translation (fraction of ``scale``) errors over solved frames.

    ``per_frame_*`` are ``[T]`` (frame 0 is 0 by construction; unsolved frames NaN).
    """

    rotation_error_deg: float
    translation_error: float
    per_frame_rotation_deg: np.ndarray
    per_frame_translation: np.ndarray
    frames_solved: int
    frames_failed: int
    points: int


def _bilinear(depth: np.ndarray, xy: np.ndarray) -> np.ndarray:
    h, w = depth.shape
    x = np.clip(xy[:, 0], 0, w - 1)
    y = np.clip(xy[:, 1], 0, h - 1)
    x0 = np.clip(np.floor(x).astype(int), 0, max(w - 2, 0))
    y0 = np.clip(np.floor(y).astype(int), 0, max(h - 2, 0))
    fx, fy = x - x0, y - y0
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    return (depth[y0, x0] * (1 - fx) * (1 - fy) + depth[y0, x1] * fx * (1 - fy) + depth[y1, x0] * (1 - fx) * fy
            + depth[y1, x1] * fx * fy)


def estimate_cameras(tracks: Tracks, depth0: np.ndarray, intrinsics: np.ndarray, *, static0: np.ndarray | None = None,
                     min_points: int = MIN_POINTS, ransac_pixels: float = RANSAC_PIXELS) -> tuple[np.ndarray, np.ndarray, int]:
    """Frame-0-to-frame-t cameras ``[T, 4, 4]`` from tracks, frame-0 depth and intrinsics.

    Args:
        tracks: tracks seeded on frame 0 (pixels of the video being scored).
        depth0: ``[H, W]`` depth of frame 0 in its camera.
        intrinsics: ``[3, 3]`` or ``[T, 3, 3]`` (a zooming path changes them per frame).
        static0: optional bool ``[H, W]``: only tracks starting on True pixels are used.

    Returns:
        (poses, solved ``bool [T]``, number of static tracks used).

    Raises:
        ConfigError: shapes that do not fit, or fewer than ``min_points`` usable tracks.
    """
    n, t = tracks.tracks.shape[:2]
    depth0 = np.asarray(depth0, dtype=np.float64)
    if depth0.shape != (tracks.size[1], tracks.size[0]):
        raise ConfigError(f"depth0 has shape {depth0.shape} but the tracks refer to a {tracks.size[0]}x{tracks.size[1]} video")
    ks = np.broadcast_to(np.asarray(intrinsics, dtype=np.float64), (t, 3, 3))
    start = tracks.tracks[:, 0].astype(np.float64)
    keep = tracks.visibility[:, 0].copy()
    if static0 is not None:
        static0 = np.asarray(static0, bool)
        col = np.clip(np.round(start[:, 0]).astype(int), 0, depth0.shape[1] - 1)
        row = np.clip(np.round(start[:, 1]).astype(int), 0, depth0.shape[0] - 1)
        keep &= static0[row, col]
    z = _bilinear(depth0, start)
    keep &= np.isfinite(z) & (z > 0)
    if keep.sum() < min_points:
        raise ConfigError(f"camera accuracy needs at least {min_points} static tracks on frame 0, got {int(keep.sum())}")
    rays = np.c_[start, np.ones(n)] @ np.linalg.inv(ks[0]).T
    world = rays * z[:, None]
    poses = np.tile(np.eye(4), (t, 1, 1))
    solved = np.zeros(t, bool)
    solved[0] = True
    import cv2

    for f in range(1, t):
        use = keep & tracks.visibility[:, f]
        if use.sum() < min_points:
            continue
        obj = np.ascontiguousarray(world[use], dtype=np.float64)
        img = np.ascontiguousarray(tracks.tracks[use, f], dtype=np.float64)
        ok, rvec, tvec, inliers = cv2.solvePnPRansac(obj, img, ks[f], None, reprojectionError=ransac_pixels,
                                                     iterationsCount=200, confidence=0.999, flags=cv2.SOLVEPNP_EPNP)
        if not ok or inliers is None or len(inliers) < min_points:
            continue
        idx = inliers[:, 0]
        ok, rvec, tvec = cv2.solvePnP(obj[idx], img[idx], ks[f], None, rvec, tvec, useExtrinsicGuess=True,
                                      flags=cv2.SOLVEPNP_ITERATIVE)
        if not ok:
            continue
        poses[f] = rigid(cv2.Rodrigues(rvec)[0], tvec.reshape(3))
        solved[f] = True
    return poses, solved, int(keep.sum())


def target_relative_cameras(extrinsics: np.ndarray) -> np.ndarray:
    """``E_t E_0^-1`` ``[T, 4, 4]`` of world-to-camera extrinsics ``[T, 4, 4]``."""
    extrinsics = np.asarray(extrinsics, dtype=np.float64)
    return extrinsics @ invert_rigid(extrinsics[0])


def camera_accuracy(tracks: Tracks, depth0: np.ndarray, intrinsics: np.ndarray, target_extrinsics: np.ndarray, *,
                    scale: float, static0: np.ndarray | None = None, min_points: int = MIN_POINTS,
                    ransac_pixels: float = RANSAC_PIXELS) -> CameraAccuracy:
    """Rotation and translation error of the video's camera against the target path.

    Args:
        tracks: tracks of the generated video seeded on frame 0.
        depth0: depth of the video's frame 0 (in the target's frame-0 camera).
        intrinsics: the target intrinsics, ``[3, 3]`` or ``[T, 3, 3]``.
        target_extrinsics: the target path's world-to-camera extrinsics ``[T, 4, 4]`` (for a path
            relative to a static source camera: ``CameraPath.relative_extrinsics``).
        scale: translation errors are divided by it (e.g. the pivot distance).
        static0: bool ``[H, W]`` of static pixels on frame 0 (None: all; RANSAC rejects movers).

    Raises:
        ConfigError: see :func:`estimate_cameras`; no frame could be solved; bad ``scale``.

    Example::

        tracks = LKTracker(grid=24).track(video)
        acc = camera_accuracy(tracks, truth.depth[0], truth.intrinsics, truth.extrinsics, scale=pivot)
    """
    if not (np.isfinite(scale) and scale > 0):
        raise ConfigError(f"camera accuracy: scale must be a positive distance, got {scale!r}")
    poses, solved, points = estimate_cameras(tracks, depth0, intrinsics, static0=static0, min_points=min_points,
                                             ransac_pixels=ransac_pixels)
    truth = target_relative_cameras(target_extrinsics)
    if len(truth) != len(poses):
        raise ConfigError(f"target path has {len(truth)} frames but the tracks have {len(poses)}")
    t = len(poses)
    rot = np.full(t, np.nan)
    trans = np.full(t, np.nan)
    for f in range(t):
        if solved[f]:
            rot[f] = rotation_angle_deg(poses[f, :3, :3] @ truth[f, :3, :3].T)
            trans[f] = float(np.linalg.norm(poses[f, :3, 3] - truth[f, :3, 3]) / scale)
    later = np.arange(t) >= 1
    good = solved & later
    if t > 1 and not good.any():
        raise ConfigError(f"camera accuracy: no frame after the first could be solved (fewer than {min_points} "
                          "static tracks stayed visible)")
    return CameraAccuracy(
        rotation_error_deg=float(np.mean(rot[good])) if good.any() else 0.0,
        translation_error=float(np.mean(trans[good])) if good.any() else 0.0,
        per_frame_rotation_deg=rot, per_frame_translation=trans,
        frames_solved=int(good.sum()), frames_failed=int((later & ~solved).sum()), points=points,
    )


@dataclass(frozen=True)
class TargetCamera:
    """What camera accuracy needs of a target path (the ``target_camera`` feature of scene samples).

    Attributes:
        extrinsics: world-to-camera ``[T, 4, 4]`` of the target path.
        intrinsics: ``[T, 3, 3]`` target intrinsics.
        depth0: ``[H, W]`` exact depth of the target's frame 0.
        static0: bool ``[H, W]``: the static background on the target's frame 0.
        scale: the path's pivot distance (translation errors are divided by it).
    """

    extrinsics: np.ndarray
    intrinsics: np.ndarray
    depth0: np.ndarray
    static0: np.ndarray
    scale: float


CONVENTION = ("camera of the generated video solved per frame by RANSAC PnP (OpenCV EPnP, 2 px, then "
              "Levenberg-Marquardt on the inliers) from its tracks (the configured tracker, grid seeded on frame 0) "
              "that start on the target's static background, lifted with the exact depth of the target's frame 0; "
              "against the target's frame-0-to-frame-t cameras; variant rotation = geodesic angle of R_est R_true^T "
              "in degrees, variant translation = |t_est - t_true| / pivot distance; mean over the solved frames "
              "t >= 1 (not a sum over frames); a frame with fewer than 8 such visible tracks is not solved; "
              "3-D scene samples only")


def camera_accuracy_score(generated_tracks: Tracks, target_camera: TargetCamera, variant: str) -> float:
    """``camera_accuracy`` of one video: ``rotation`` (degrees) or ``translation`` (pivot distances).

    Raises:
        ConfigError: too few static tracks, no frame solved, or a video whose size is not the target's.
    """
    acc = camera_accuracy(generated_tracks, target_camera.depth0, target_camera.intrinsics, target_camera.extrinsics,
                          scale=target_camera.scale, static0=target_camera.static0)
    return acc.rotation_error_deg if variant == "rotation" else acc.translation_error


class CameraAccuracyMetric(Metric):
    """Whether a re-rendering's camera follows its target path (lower is better)."""

    name = "camera_accuracy"
    summary = "Recapture: rotation and translation error of the camera solved from background tracks"
    higher_is_better = False
    version = "1"
    convention = CONVENTION
    needs = ("generated_tracks", "target_camera")
    variants = ("rotation", "translation")

    def __call__(self, generated_tracks: Tracks, target_camera: TargetCamera) -> float:  # type: ignore[override]
        return camera_accuracy_score(generated_tracks, target_camera, self.variant)
