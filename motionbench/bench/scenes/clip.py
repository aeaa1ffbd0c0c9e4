"""Seeded scenes (a textured room, boxes, a ball, one moving object) and their clips.

:func:`make_scene` builds a scene from a seed: a closed room (so every ray of every camera that
stays inside hits a surface and depth is finite everywhere), one or two static boxes and a static
ball on the floor, and a moving object (a ball or a spinning box) crossing in front of them.
:func:`render_clip` films it with a static source camera at the world origin looking down +z, and
:meth:`SceneClip.target` draws the same scene along any :class:`~motionbench.recapture.CameraPath`
(its exact re-rendering: frames, depth, labels).

Textures come from :func:`motionbench.bench.synthetic.textures.make_texture`, sampled so that
their finest feature is about half a scene unit (several pixels at the default sizes), so
resampling them is nearly lossless and any error a re-rendering makes is its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motionbench.bench.scenes.primitives import Quad, Sphere, box_faces
from motionbench.bench.scenes.scene import Scene, SceneObject, View
from motionbench.bench.synthetic.textures import make_texture, palette
from motionbench.errors import ConfigError
from motionbench.recapture.cameras import intrinsics as make_intrinsics
from motionbench.recapture.cameras import invert_rigid
from motionbench.recapture.trajectory import CameraPath, frame_times

TEXELS_PER_UNIT = 24.0
MIN_FEATURE_TEXELS = 12.0
#: The room: x in [-ROOM_X, ROOM_X], floor at +FLOOR_Y (y points down), back wall at BACK_Z.
ROOM_X, FLOOR_Y, CEILING_Y, BACK_Z, FRONT_Z = 5.0, 1.5, -3.5, 7.0, -4.0
DEFAULT_SIZE = (64, 64)
DEFAULT_NUM_FRAMES = 17
DEFAULT_FPS = 8.0
SCENE_STREAM = 7  # keeps scene streams apart from the 2-D generators' streams
#: Four neighbouring depths within this ratio are one surface (steep, not a silhouette).
GRAZING_RATIO = 1.25


def _texture(rng: np.random.Generator, width_units: float, height_units: float) -> np.ndarray:
    w = max(8, int(round(width_units * TEXELS_PER_UNIT)))
    h = max(8, int(round(height_units * TEXELS_PER_UNIT)))
    return make_texture(rng, h, w, min_feature=MIN_FEATURE_TEXELS) / 255.0


def _wall(rng: np.random.Generator, centre, u, v) -> Quad:
    u, v = np.asarray(u, float), np.asarray(v, float)
    return Quad(np.asarray(centre, float), u, v, _texture(rng, 2 * np.linalg.norm(u), 2 * np.linalg.norm(v)))


def _ball(rng: np.random.Generator, centre, radius: float) -> Sphere:
    n = 6
    dirs = rng.normal(size=(n, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    # Spatial frequency in cycles per unit of the unit sphere: features of about radius / 2.
    waves = dirs * rng.uniform(2.0, 4.0, size=(n, 1))
    return Sphere(np.asarray(centre, float), float(radius), waves, rng.uniform(0, 2 * np.pi, n), palette(rng) / 255.0)


def _box(rng: np.random.Generator, half) -> tuple[Quad, ...]:
    half = np.asarray(half, float)
    faces = box_faces(half, [np.zeros((1, 1, 3), np.float32)])
    return tuple(Quad(q.centre, q.u, q.v, _texture(rng, 2 * np.linalg.norm(q.u), 2 * np.linalg.norm(q.v))) for q in faces)


def make_scene(seed: int, *, appearance: int = 0, moving: str = "auto") -> Scene:
    """A seeded room scene (see the module docstring).

    Args:
        seed: fixes the layout and motion.
        appearance: 0 = the reference look; other values change only the textures.
        moving: ``ball``, ``box``, ``none`` (a fully static scene) or ``auto`` (drawn from the seed).

    Raises:
        ConfigError: unknown ``moving``.
    """
    if moving not in ("auto", "ball", "box", "none"):
        raise ConfigError(f"moving object {moving!r} is not one of: auto, ball, box, none")
    layout = np.random.default_rng(np.random.SeedSequence([seed, SCENE_STREAM, 0]))
    look = np.random.default_rng(np.random.SeedSequence([seed, SCENE_STREAM, 1, appearance]))
    cx, cz = 0.0, 0.5 * (BACK_Z + FRONT_Z)
    hx, hy, hz = ROOM_X, 0.5 * (FLOOR_Y - CEILING_Y), 0.5 * (BACK_Z - FRONT_Z)
    cy = 0.5 * (FLOOR_Y + CEILING_Y)
    room = (
        _wall(look, (cx, cy, BACK_Z), (hx, 0, 0), (0, hy, 0)),
        _wall(look, (cx, cy, FRONT_Z), (-hx, 0, 0), (0, hy, 0)),
        _wall(look, (-ROOM_X, cy, cz), (0, 0, -hz), (0, hy, 0)),
        _wall(look, (ROOM_X, cy, cz), (0, 0, hz), (0, hy, 0)),
        _wall(look, (cx, FLOOR_Y, cz), (hx, 0, 0), (0, 0, hz)),
        _wall(look, (cx, CEILING_Y, cz), (hx, 0, 0), (0, 0, -hz)),
    )
    objects = [SceneObject("background", 0, room)]
    statics = []
    for _ in range(int(layout.integers(1, 3))):
        half = layout.uniform([0.35, 0.35, 0.35], [0.7, 0.9, 0.6])
        x = layout.uniform(-1.6, 1.6)
        z = layout.uniform(3.6, 5.2)
        statics.append(SceneObject("background", 0, _box(look, half), path=np.array([[x, FLOOR_Y - half[1], z]])))
    r_ball = layout.uniform(0.35, 0.55)
    statics.append(SceneObject("background", 0, (_ball(look, (0, 0, 0), r_ball),),
                               path=np.array([[layout.uniform(-1.8, 1.8), FLOOR_Y - r_ball, layout.uniform(4.0, 5.5)]])))
    objects += statics
    kind = moving if moving != "auto" else ("ball", "box")[int(layout.integers(2))]
    if kind != "none":
        z = layout.uniform(2.4, 3.0)
        y = layout.uniform(-0.2, 0.6)
        direction = layout.choice([-1.0, 1.0])
        start, end = np.array([-0.9 * direction, y, z]), np.array([0.9 * direction, y - 0.2, z + 0.2])
        if kind == "ball":
            prims = (_ball(look, (0, 0, 0), layout.uniform(0.3, 0.42)),)
            spin = 0.0
        else:
            prims = _box(look, layout.uniform([0.25, 0.25, 0.25], [0.4, 0.4, 0.4]))
            spin = float(layout.uniform(40, 90) * direction)
        objects.append(SceneObject(kind, 1, prims, path=np.stack([start, end]), spin_deg=spin))
    return Scene(tuple(objects))


@dataclass(frozen=True)
class SceneClip:
    """A scene filmed by the source camera, able to re-render itself along any camera path.

    Attributes:
        scene: the scene.
        source: the source view (static camera at the origin looking down +z).
        fps: frames per second.
        seed: the scene's seed.
    """

    scene: Scene
    source: View
    fps: float
    seed: int

    @property
    def intrinsics(self) -> np.ndarray:
        """The source camera's ``K`` ``[3, 3]``."""
        return self.source.intrinsics[0]

    def target(self, path: CameraPath | str, *, pivot: float | None = None) -> View:
        """The exact re-rendering along ``path`` (pivot: the path's, else ``pivot``, else the default)."""
        from motionbench.recapture.depth import default_pivot

        path = CameraPath.parse(path)
        n = self.source.num_frames
        src = path.source_frames(n)
        d = path.resolve_pivot(pivot if pivot is not None else default_pivot(self.source.depth[0]))
        rel = path.relative_extrinsics(n, d)
        extrinsics = np.einsum("tij,tjk->tik", rel, self.source.extrinsics[src])
        return self.scene.render(extrinsics, path.intrinsics(self.intrinsics, n), self.source.times[src], self.source.size)

    def seen_from_source(self, path: CameraPath | str, view: View, *, depth_tolerance: float = 0.05) -> np.ndarray:
        """The true visibility mask of a re-rendering: bool ``[T, H, W]``, True where the target
        pixel's surface point is seen by the source frame it is lifted from.

        Each target pixel's exact surface point is projected into that source frame; it is seen
        when it lands inside the frame and lies on the surface the source shows there (depth
        agreement within ``depth_tolerance``, relative; see :func:`_depth_agrees`). False pixels
        are the disocclusions and the parts outside the source's view: exactly what a
        re-rendering method has to invent. (A surface the source never saw that hides background
        it did see, e.g. a ball's far side coming round, is False here; a warp cannot know it is
        there and shows the background through it.)
        """
        path = CameraPath.parse(path)
        src = path.source_frames(self.source.num_frames)
        w, h = view.size
        seen = np.zeros((view.num_frames, h, w), bool)
        jj, ii = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
        pix = np.stack([jj.ravel(), ii.ravel(), np.ones(h * w)], 1)
        for f in range(view.num_frames):
            s = int(src[f])
            cam = (pix @ np.linalg.inv(view.intrinsics[f]).T) * view.depth[f].reshape(-1, 1).astype(np.float64)
            to_src = self.source.extrinsics[s] @ invert_rigid(view.extrinsics[f])
            p = cam @ to_src[:3, :3].T + to_src[:3, 3]
            z = p[:, 2]
            uv = (p @ self.source.intrinsics[s].T)[:, :2] / np.maximum(z, 1e-9)[:, None]
            inside = (z > 1e-6) & (uv[:, 0] >= -0.5) & (uv[:, 0] < w - 0.5) & (uv[:, 1] >= -0.5) & (uv[:, 1] < h - 0.5)
            seen[f] = (inside & _depth_agrees(self.source.depth[s], uv, z, depth_tolerance)).reshape(h, w)
        return seen


def _depth_agrees(depth: np.ndarray, uv: np.ndarray, z: np.ndarray, tolerance: float,
                  slope: float = GRAZING_RATIO) -> np.ndarray:
    """Whether points at pixel positions ``uv`` ``[N, 2]`` with depth ``z`` lie on the surface ``depth`` shows.

    True when any of: the bilinearly interpolated depth agrees within ``tolerance`` (relative;
    smooth surfaces); one of the four surrounding pixels does (silhouettes, where the interpolated
    depth mixes two surfaces and the pixel grid cannot say which one the point is on); or the four
    pixels span less than ``slope`` (max/min: one steep surface seen at a grazing angle, not a
    silhouette) and ``z`` lies within their range.
    """
    h, w = depth.shape
    x = np.clip(uv[:, 0], 0, w - 1)
    y = np.clip(uv[:, 1], 0, h - 1)
    x0 = np.clip(np.floor(x).astype(int), 0, max(w - 2, 0))
    y0 = np.clip(np.floor(y).astype(int), 0, max(h - 2, 0))
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    fx, fy = x - x0, y - y0
    corners = np.stack([depth[y0, x0], depth[y0, x1], depth[y1, x0], depth[y1, x1]])
    lerp = (corners[0] * (1 - fx) * (1 - fy) + corners[1] * fx * (1 - fy) + corners[2] * (1 - fx) * fy
            + corners[3] * fx * fy)
    agree = np.abs(lerp - z) <= tolerance * z
    agree |= (np.abs(corners - z) <= tolerance * z).any(axis=0)
    lo, hi = corners.min(axis=0), corners.max(axis=0)
    agree |= (hi < slope * lo) & (z >= lo * (1 - tolerance)) & (z <= hi * (1 + tolerance))
    return agree


def render_clip(seed: int, *, num_frames: int = DEFAULT_NUM_FRAMES, size: tuple[int, int] = DEFAULT_SIZE,
                fps: float = DEFAULT_FPS, fov_deg: float = 60.0, appearance: int = 0, moving: str = "auto") -> SceneClip:
    """Film :func:`make_scene` ``(seed)`` with a static camera at the origin (``num_frames`` over scene time 0..1)."""
    if num_frames < 1:
        raise ConfigError(f"a scene clip needs at least 1 frame, got {num_frames}")
    scene = make_scene(seed, appearance=appearance, moving=moving)
    w, h = size
    k = make_intrinsics(w, h, fov_deg=fov_deg)
    source = scene.render(np.broadcast_to(np.eye(4), (num_frames, 4, 4)), k, frame_times(num_frames), size)
    return SceneClip(scene=scene, source=source, fps=float(fps), seed=int(seed))
