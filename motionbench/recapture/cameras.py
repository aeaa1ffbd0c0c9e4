"""Pinhole cameras: the conventions every part of the recapture task shares.

* **Axes** (OpenCV): x right, y down, z forward (the optical axis); depth is the z coordinate in
  the camera's frame (not the distance along the ray).
* **Pixels**: pixel ``(row i, column j)`` has its centre at ``(u, v) = (j, i)``; an image of width
  ``W`` spans ``u`` in ``[-0.5, W - 0.5]``, so the principal point of a centred camera is
  ``((W - 1) / 2, (H - 1) / 2)``.
* **Intrinsics** ``K`` ``[3, 3]`` map camera coordinates to homogeneous pixels.
* **Extrinsics** are world-to-camera rigid transforms ``[4, 4]``: ``X_cam = R X_world + t``.
  Camera-to-world poses (``c2w``) are their inverses.

Camera matrices are small float64 numpy arrays; the per-pixel work (:mod:`.splat`) is torch.
"""

from __future__ import annotations

import numpy as np

from motionbench.errors import ConfigError

#: Horizontal field of view assumed for real clips whose intrinsics are unknown (degrees).
DEFAULT_FOV_DEG = 60.0


def intrinsics(width: int, height: int, *, fov_deg: float = DEFAULT_FOV_DEG) -> np.ndarray:
    """A centred pinhole ``K`` with square pixels and horizontal field of view ``fov_deg``.

    Raises:
        ConfigError: a non-positive size or a field of view outside (1, 179) degrees.
    """
    if width < 1 or height < 1:
        raise ConfigError(f"camera size must be positive, got {width}x{height}")
    if not 1.0 < fov_deg < 179.0:
        raise ConfigError(f"field of view {fov_deg} degrees is outside (1, 179)")
    focal = (width / 2.0) / np.tan(np.radians(fov_deg) / 2.0)
    return np.array([[focal, 0.0, (width - 1) / 2.0], [0.0, focal, (height - 1) / 2.0], [0.0, 0.0, 1.0]])


def scale_intrinsics(k: np.ndarray, zoom: float) -> np.ndarray:
    """``K`` with its focal lengths multiplied by ``zoom`` about the same principal point."""
    out = np.array(k, dtype=np.float64, copy=True)
    out[..., 0, 0] *= zoom
    out[..., 1, 1] *= zoom
    return out


def rot_x(deg: float) -> np.ndarray:
    a = np.radians(deg)
    c, s = np.cos(a), np.sin(a)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def rot_y(deg: float) -> np.ndarray:
    a = np.radians(deg)
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def rot_z(deg: float) -> np.ndarray:
    a = np.radians(deg)
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def rigid(rotation: np.ndarray, translation: np.ndarray) -> np.ndarray:
    """``[4, 4]`` from a rotation ``[3, 3]`` and a translation ``[3]``."""
    m = np.eye(4)
    m[:3, :3] = rotation
    m[:3, 3] = translation
    return m


def invert_rigid(m: np.ndarray) -> np.ndarray:
    """Inverse of rigid transforms ``[..., 4, 4]`` (exact: transpose the rotation)."""
    m = np.asarray(m, dtype=np.float64)
    r = m[..., :3, :3]
    t = m[..., :3, 3]
    out = np.zeros_like(m)
    rt = np.swapaxes(r, -1, -2)
    out[..., :3, :3] = rt
    out[..., :3, 3] = -np.einsum("...ij,...j->...i", rt, t)
    out[..., 3, 3] = 1.0
    return out


def look_at(eye: np.ndarray, target: np.ndarray, up: np.ndarray = np.array([0.0, -1.0, 0.0])) -> np.ndarray:
    """World-to-camera extrinsics of a camera at ``eye`` looking at ``target``.

    ``up`` is the world direction that should appear up in the image (OpenCV: ``-y``).

    Raises:
        ConfigError: ``eye`` equals ``target`` or the view direction is parallel to ``up``.
    """
    eye, target, up = (np.asarray(v, dtype=np.float64) for v in (eye, target, up))
    forward = target - eye
    norm = np.linalg.norm(forward)
    if norm < 1e-12:
        raise ConfigError("look_at: the camera position equals its target")
    z = forward / norm
    x = np.cross(z, up)  # image right = forward x up (with up = -y, as image rows grow downwards)
    if np.linalg.norm(x) < 1e-9:
        raise ConfigError("look_at: the view direction is parallel to the up vector")
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    rot = np.stack([x, y, z])  # rows: camera axes in world coordinates
    return rigid(rot, -rot @ eye)


def rotation_angle_deg(r: np.ndarray) -> float:
    """Geodesic angle of a rotation matrix (degrees), robust to rounding."""
    c = (np.trace(r) - 1.0) / 2.0
    return float(np.degrees(np.arccos(np.clip(c, -1.0, 1.0))))
