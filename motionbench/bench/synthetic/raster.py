"""Drawing textured shapes with anti-aliased edges, and deciding which points they hide.

A :class:`Sprite` is a texture attached to a shape, both in the shape's local pixel coordinates.
A :class:`Pose` places it in each frame by a similarity transform (centre, angle, scale):
``screen = centre + scale * R(angle) @ local``. Drawing inverts that map for every pixel near the
shape: the texture is sampled bilinearly at the pixel's local position and the pixel's coverage
comes from the shape's signed distance (``clip(0.5 - distance, 0, 1)``), so edges are anti-aliased
and a surface point's pixels sit exactly where its track says, to sub-pixel precision.

Shapes are signed-distance functions in local pixels (negative inside); ``reach`` bounds the
shape (every inside point is within ``reach`` of the local origin).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np

from motionbench.bench.synthetic.clip import SynthClip

# A point this close (in pixels) to the edge of a surface drawn over it counts as hidden: its pixel
# mixes both surfaces.
OCCLUSION_MARGIN = 1.0


class Shape(Protocol):
    reach: float

    def sdf(self, u: np.ndarray, v: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class Disc:
    radius: float

    @property
    def reach(self) -> float:
        return self.radius

    def sdf(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        return np.hypot(u, v) - self.radius


@dataclass(frozen=True)
class RoundedBox:
    half: float
    corner: float

    @property
    def reach(self) -> float:
        return self.half * np.sqrt(2.0) + self.corner

    def sdf(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        qx, qy = np.abs(u) - self.half, np.abs(v) - self.half
        outside = np.hypot(np.maximum(qx, 0.0), np.maximum(qy, 0.0))
        return outside + np.minimum(np.maximum(qx, qy), 0.0) - self.corner


@dataclass(frozen=True)
class Polygon:
    """A regular polygon with ``sides`` sides and circumradius ``radius``."""

    sides: int
    radius: float
    phase: float = 0.0

    @property
    def reach(self) -> float:
        return self.radius

    def sdf(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        sector = 2 * np.pi / self.sides
        ang = np.arctan2(v, u) - self.phase
        # Angle relative to the nearest edge normal.
        rel = (ang % sector) - sector / 2
        return np.hypot(u, v) * np.cos(rel) - self.radius * np.cos(sector / 2)


@dataclass(frozen=True)
class Flower:
    """A rounded star: radius ``radius * (1 - depth) + radius * depth * (1 + cos(petals * a)) / 2``."""

    radius: float
    petals: int
    depth: float
    phase: float = 0.0

    @property
    def reach(self) -> float:
        return self.radius

    def sdf(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        a = np.arctan2(v, u) - self.phase
        amp = self.radius * self.depth / 2
        boundary = self.radius - amp + amp * np.cos(self.petals * a)
        slope = amp * self.petals * np.sin(self.petals * a)
        r = np.hypot(u, v)
        # First-order distance to a polar curve: radial gap divided by the boundary's obliqueness.
        return (r - boundary) / np.sqrt(1.0 + (slope / np.maximum(boundary, 1e-6)) ** 2)


@dataclass(frozen=True)
class Ellipse:
    a: float
    b: float

    @property
    def reach(self) -> float:
        return max(self.a, self.b)

    def sdf(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        k = np.hypot(u / self.a, v / self.b)
        grad = np.hypot(u / self.a**2, v / self.b**2)
        # First-order distance estimate, exact on the boundary where anti-aliasing happens.
        return k * (k - 1.0) / np.maximum(grad, 1e-6)


@dataclass(frozen=True)
class Capsule:
    """The points within ``radius`` of the segment from (0, 0) to (length, 0)."""

    length: float
    radius: float

    @property
    def reach(self) -> float:
        return self.length + self.radius

    def sdf(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        return np.hypot(u - np.clip(u, 0.0, self.length), v) - self.radius


@dataclass(frozen=True)
class Sprite:
    """A texture (float32 ``[h, w, 3]``) on a shape; ``origin`` is the texture pixel of local (0, 0)."""

    shape: Shape
    texture: np.ndarray
    origin: tuple[float, float]


@dataclass(frozen=True)
class Pose:
    """Per-frame similarity transforms: ``centre [T, 2]``, ``angle [T]`` (radians), ``scale [T]``."""

    centre: np.ndarray
    angle: np.ndarray
    scale: np.ndarray

    def apply(self, local: np.ndarray) -> np.ndarray:
        """Screen positions ``[N, T, 2]`` of local points ``[N, 2]``."""
        c, s = np.cos(self.angle), np.sin(self.angle)
        u, v = local[:, 0:1], local[:, 1:2]
        x = self.centre[None, :, 0] + self.scale[None] * (c[None] * u - s[None] * v)
        y = self.centre[None, :, 1] + self.scale[None] * (s[None] * u + c[None] * v)
        return np.stack([x, y], axis=-1)

    def to_local(self, t: int, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        c, s = np.cos(self.angle[t]), np.sin(self.angle[t])
        dx, dy = (x - self.centre[t, 0]) / self.scale[t], (y - self.centre[t, 1]) / self.scale[t]
        return c * dx + s * dy, -s * dx + c * dy


def interior_points(rng: np.random.Generator, shape: Shape, count: int, inset: float) -> np.ndarray:
    """``count`` points spread uniformly at least ``inset`` pixels inside ``shape``; ``[count, 2]``."""
    found: list[np.ndarray] = []
    total = 0
    r = shape.reach
    while total < count:
        cand = rng.uniform(-r, r, size=(4 * count, 2))
        if isinstance(shape, Capsule):
            cand[:, 0] = rng.uniform(-shape.radius, shape.length + shape.radius, size=4 * count)
        keep = cand[shape.sdf(cand[:, 0], cand[:, 1]) <= -inset]
        found.append(keep)
        total += len(keep)
    return np.concatenate(found)[:count]


def draw(canvas: np.ndarray, coverage: np.ndarray, sprite: Sprite, pose: Pose, t: int) -> None:
    """Paint ``sprite`` at its frame-``t`` pose onto ``canvas`` (float32 ``[H, W, 3]``) in place.

    ``coverage`` (float32 ``[H, W]``) accumulates how much of each pixel is covered by sprites.
    """
    import cv2

    height, width = canvas.shape[:2]
    cx, cy = pose.centre[t]
    reach = pose.scale[t] * sprite.shape.reach + 2.0
    x0, x1 = max(int(np.floor(cx - reach)), 0), min(int(np.ceil(cx + reach)) + 1, width)
    y0, y1 = max(int(np.floor(cy - reach)), 0), min(int(np.ceil(cy + reach)) + 1, height)
    if x0 >= x1 or y0 >= y1:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float64)
    u, v = pose.to_local(t, xx, yy)
    alpha = np.clip(0.5 - pose.scale[t] * sprite.shape.sdf(u, v), 0.0, 1.0).astype(np.float32)
    if not alpha.any():
        return
    ox, oy = sprite.origin
    sample = cv2.remap(
        sprite.texture,
        (u + ox).astype(np.float32),
        (v + oy).astype(np.float32),
        interpolation=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REFLECT_101,
    )
    region = canvas[y0:y1, x0:x1]
    region += alpha[..., None] * (sample - region)
    cov = coverage[y0:y1, x0:x1]
    cov += alpha * (1.0 - cov)


@dataclass(frozen=True)
class Layer:
    """A moving surface: what it looks like, where it is, and which of its points are tracked.

    Attributes:
        sprite: the look (texture and shape) of this rendering.
        pose: the motion.
        depth: float ``[T]``; in each frame, layers are drawn from the largest depth to the smallest.
        occluder: the shape used to decide what this layer hides. It must not depend on the look, so
            that visibility is the same for every appearance; it should contain every look's shape.
        points: ``[n, 2]`` tracked points in local pixels.
        label: the label of its points (>= 1).
    """

    sprite: Sprite
    pose: Pose
    depth: np.ndarray
    occluder: Shape
    points: np.ndarray
    label: int


def compose(
    background: np.ndarray,
    layers: Sequence[Layer],
    background_points: np.ndarray,
    fps: float,
    label_names: tuple[str, ...],
) -> SynthClip:
    """Render ``layers`` over a static ``background`` (float32 ``[H, W, 3]``) and build the ground truth.

    Args:
        background_points: ``[m, 2]`` static screen points on the background (label 0).
    """
    num_frames = len(layers[0].depth)
    height, width = background.shape[:2]
    frames = np.empty((num_frames, height, width, 3), np.uint8)
    foreground = np.empty((num_frames, height, width), bool)

    tracks = [np.repeat(background_points[:, None, :].astype(np.float64), num_frames, axis=1)]
    labels = [np.zeros(len(background_points), np.int64)]
    for layer in layers:
        tracks.append(layer.pose.apply(layer.points))
        labels.append(np.full(len(layer.points), layer.label, np.int64))
    owner = np.concatenate([np.full(len(tr), i - 1) for i, tr in enumerate(tracks)])  # -1 = background
    all_tracks = np.concatenate(tracks, axis=0)
    x, y = all_tracks[..., 0], all_tracks[..., 1]
    visibility = (x >= 0) & (x <= width - 1) & (y >= 0) & (y <= height - 1)

    depths = np.stack([layer.depth for layer in layers])  # [L, T]
    for t in range(num_frames):
        canvas = background.copy()
        coverage = np.zeros((height, width), np.float32)
        order = np.argsort(-depths[:, t], kind="stable")
        for rank, k in enumerate(order):
            layer = layers[k]
            draw(canvas, coverage, layer.sprite, layer.pose, t)
            # Layer k hides the background and every layer drawn before it.
            behind = (owner == -1) | np.isin(owner, order[:rank])
            if behind.any():
                u, v = layer.pose.to_local(t, x[behind, t], y[behind, t])
                hidden = layer.pose.scale[t] * layer.occluder.sdf(u, v) < OCCLUSION_MARGIN
                idx = np.nonzero(behind)[0]
                visibility[idx[hidden], t] = False
        frames[t] = np.clip(np.rint(canvas), 0, 255).astype(np.uint8)
        foreground[t] = coverage > 0.5

    return SynthClip(
        frames=frames,
        tracks=all_tracks.astype(np.float32),
        visibility=visibility,
        fps=float(fps),
        labels=np.concatenate(labels),
        label_names=label_names,
        foreground=foreground,
    )
