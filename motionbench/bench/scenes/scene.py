"""A scene of textured primitives that can be drawn exactly from any camera at any time.

:class:`Scene` holds objects (each a group of primitives with a path through the scene's time
``s`` in ``[0, 1]``); :meth:`Scene.render` casts one ray through every pixel centre of every
requested camera and keeps the nearest hit, so colour (averaged over a few rays per pixel), depth
and the label of what was hit (at the pixel centre) are exact for any camera: no rasterisation
approximations, no holes. Label 0 is the static background; label k >= 1 names a moving object.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from motionbench.bench.scenes.primitives import Placement, Primitive, hit_distance, surface_colour, to_local
from motionbench.errors import ConfigError
from motionbench.recapture.cameras import invert_rigid, rot_y
from motionbench.metrics.tracks import Tracks

#: Pixels rendered per chunk of rays (bounds memory for large frames).
RAY_CHUNK = 1 << 16
#: Rays per pixel side by default (2: four rays per pixel).
SUPERSAMPLE = 2
#: Ray arithmetic precision: float32 keeps depth to ~1e-7 relative, ample for scenes of ~10 units.
DTYPE = torch.float32


@dataclass(frozen=True)
class SceneObject:
    """Primitives that move together.

    Attributes:
        name: a label name (``"background"`` for label 0).
        label: 0 for the static background, k >= 1 for moving objects.
        primitives: in the object's local frame.
        path: ``[K, 3]`` positions of the local origin at evenly spaced scene times (linear between);
            one row for a fixed position.
        spin_deg: rotation about the local vertical (y) axis over the whole clip, degrees.
    """

    name: str
    label: int
    primitives: tuple[Primitive, ...]
    path: np.ndarray = field(default_factory=lambda: np.zeros((1, 3)))
    spin_deg: float = 0.0

    def placement(self, s: float) -> Placement:
        path = np.asarray(self.path, dtype=np.float64).reshape(-1, 3)
        if len(path) == 1:
            pos = path[0]
        else:
            x = float(np.clip(s, 0.0, 1.0)) * (len(path) - 1)
            i = min(int(np.floor(x)), len(path) - 2)
            pos = path[i] + (x - i) * (path[i + 1] - path[i])
        return Placement(rotation=rot_y(self.spin_deg * float(s)), translation=pos)


@dataclass(frozen=True)
class View:
    """The scene seen by ``T`` cameras.

    Attributes:
        frames: uint8 ``[T, H, W, 3]``.
        depth: float32 ``[T, H, W]``, z in each camera's frame (every pixel hits something).
        labels: int16 ``[T, H, W]``, the object label hit by each pixel.
        extrinsics: world-to-camera ``[T, 4, 4]``.
        intrinsics: ``[T, 3, 3]``.
        times: scene time of each frame ``[T]``.
    """

    frames: np.ndarray
    depth: np.ndarray
    labels: np.ndarray
    extrinsics: np.ndarray
    intrinsics: np.ndarray
    times: np.ndarray

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return int(self.frames.shape[2]), int(self.frames.shape[1])

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])


@dataclass(frozen=True)
class Scene:
    objects: tuple[SceneObject, ...]

    @property
    def label_names(self) -> tuple[str, ...]:
        names = {o.label: o.name for o in self.objects}
        return tuple(names.get(k, f"object{k}") for k in range(max(names) + 1))

    def render(self, extrinsics: np.ndarray, intrinsics: np.ndarray, times: np.ndarray,
               size: tuple[int, int], *, supersample: int = SUPERSAMPLE) -> View:
        """Draw the scene from each camera at each scene time (see the module docstring).

        Args:
            extrinsics: world-to-camera ``[T, 4, 4]``.
            intrinsics: ``[3, 3]`` or ``[T, 3, 3]``.
            times: scene times ``[T]`` in ``[0, 1]``.
            size: (width, height).
            supersample: rays per pixel side: colour is the mean of ``supersample**2`` rays spread
                evenly over the pixel (anti-aliased edges, as a camera integrates light); depth and
                label are those of one more ray through the pixel centre (the point a pixel is
                lifted from).

        Raises:
            ConfigError: mismatched counts, or a pixel whose ray hits nothing (the scene must
                enclose every camera).
        """
        extrinsics = np.asarray(extrinsics, dtype=np.float64).reshape(-1, 4, 4)
        n = len(extrinsics)
        intrinsics = np.broadcast_to(np.asarray(intrinsics, dtype=np.float64), (n, 3, 3))
        times = np.asarray(times, dtype=np.float64).reshape(-1)
        if len(times) != n:
            raise ConfigError(f"render: {n} cameras but {len(times)} times")
        w, h = size
        frames = np.empty((n, h, w, 3), np.uint8)
        depth = np.empty((n, h, w), np.float32)
        labels = np.empty((n, h, w), np.int16)
        if supersample < 1:
            raise ConfigError(f"render: supersample must be at least 1, got {supersample}")
        ss = int(supersample)
        offsets = (np.arange(ss) + 0.5) / ss - 0.5
        # Sub-pixel rays, grouped per pixel: ray index = pixel * ss^2 + sub-sample.
        jj, ii = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
        oy, ox = np.meshgrid(offsets, offsets, indexing="ij")
        # The last ray of each pixel goes through its centre.
        ox, oy = np.append(ox.ravel(), 0.0), np.append(oy.ravel(), 0.0)
        per_pixel = ss * ss + 1
        px = (jj.reshape(-1, 1) + ox.reshape(1, -1)).ravel()
        py = (ii.reshape(-1, 1) + oy.reshape(1, -1)).ravel()
        pix = np.stack([px, py, np.ones_like(px)], axis=1)
        n_rays = len(pix)
        for f in range(n):
            c2w = invert_rigid(extrinsics[f])
            dirs_cam = pix @ np.linalg.inv(intrinsics[f]).T  # z = 1: ray parameter = depth
            dirs = torch.from_numpy(c2w[:3, :3] @ dirs_cam.T).to(DTYPE)  # [3, N]
            origin = torch.from_numpy(c2w[:3, 3:]).to(DTYPE).expand_as(dirs)
            best_t = torch.full((n_rays,), float("inf"), dtype=DTYPE)
            best_c = torch.zeros((3, n_rays), dtype=DTYPE)
            best_l = torch.zeros((n_rays,), dtype=torch.int16)
            for obj in self.objects:
                place = obj.placement(times[f])
                for start in range(0, n_rays, RAY_CHUNK):
                    sl = slice(start, start + RAY_CHUNK)
                    o, d = to_local(place, origin[:, sl], dirs[:, sl])
                    for prim in obj.primitives:
                        t = hit_distance(prim, o, d)
                        win = torch.nonzero(t < best_t[sl]).squeeze(1)
                        if win.numel() == 0:
                            continue
                        idx = win + start
                        best_t[idx] = t[win]
                        best_c[:, idx] = surface_colour(prim, o[:, win] + t[win] * d[:, win])
                        best_l[idx] = obj.label
            if not torch.isfinite(best_t).all():
                missed = int((~torch.isfinite(best_t)).sum())
                raise ConfigError(f"render: {missed} rays of camera {f} hit nothing; the camera has left the scene "
                                  "(use a smaller offset or a larger room)")
            colour = best_c.t().reshape(h * w, per_pixel, 3)[:, : ss * ss].mean(1)
            frames[f] = (colour.clamp(0, 1) * 255).round().to(torch.uint8).view(h, w, 3).numpy()
            depth[f] = best_t.view(h * w, per_pixel)[:, -1].reshape(h, w).numpy()
            labels[f] = best_l.view(h * w, per_pixel)[:, -1].reshape(h, w).numpy()
        return View(frames=frames, depth=depth, labels=labels, extrinsics=extrinsics.copy(),
                    intrinsics=np.array(intrinsics), times=times.copy())


def static_tracks(view: View, *, grid: int = 16, depth_tolerance: float = 0.01) -> Tracks:
    """Ground-truth tracks of static-background points seen in frame 0 of ``view``.

    A ``grid x grid`` lattice of frame-0 pixels on label 0 is lifted with the exact depth and
    projected into every frame; a point is visible where it lands inside the frame and its depth
    matches the rendered depth at the nearest pixel within ``depth_tolerance`` (relative).

    Raises:
        ConfigError: no background pixel on the lattice.
    """
    w, h = view.size
    xs = np.linspace(w / (2 * grid), w - 1 - w / (2 * grid), grid).round().astype(int)
    ys = np.linspace(h / (2 * grid), h - 1 - h / (2 * grid), grid).round().astype(int)
    px, py = (a.ravel() for a in np.meshgrid(xs, ys))
    keep = view.labels[0, py, px] == 0
    if not keep.any():
        raise ConfigError("static_tracks: no background pixel on the lattice of frame 0")
    px, py = px[keep], py[keep]
    z = view.depth[0, py, px].astype(np.float64)
    cam = (np.stack([px, py, np.ones_like(px)], 1).astype(np.float64) @ np.linalg.inv(view.intrinsics[0]).T) * z[:, None]
    world = (np.c_[cam, np.ones(len(cam))] @ invert_rigid(view.extrinsics[0]).T)[:, :3]
    n_frames = view.num_frames
    tracks = np.empty((len(world), n_frames, 2), np.float32)
    vis = np.zeros((len(world), n_frames), bool)
    for f in range(n_frames):
        pc = np.c_[world, np.ones(len(world))] @ view.extrinsics[f].T
        zc = pc[:, 2]
        uv = (pc[:, :3] @ view.intrinsics[f].T)[:, :2] / np.maximum(zc, 1e-9)[:, None]
        tracks[:, f] = uv
        col, row = np.round(uv[:, 0]).astype(int), np.round(uv[:, 1]).astype(int)
        inside = (zc > 1e-6) & (col >= 0) & (col < w) & (row >= 0) & (row < h)
        rendered = np.full(len(world), np.nan)
        rendered[inside] = view.depth[f, row[inside], col[inside]]
        vis[:, f] = inside & (np.abs(rendered - zc) <= depth_tolerance * zc)
    return Tracks(tracks, vis, (w, h))
