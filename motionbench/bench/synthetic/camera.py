"""Generator ``camera``: a static textured plane seen through a moving camera.

The scene is a textured plane larger than anything the camera sees. Each frame is the plane warped
by a homography ``H_t`` (plane -> screen): similarities for pan, tilt, zoom and roll, and a true
perspective camera circling the scene for ``orbit``. Tracked points are fixed points of the plane,
projected by ``H_t``; they are hidden only when they leave the frame. Nothing in the scene moves, so
``foreground`` is empty.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from motionbench.bench.synthetic.clip import SynthClip
from motionbench.bench.synthetic.params import Choice, Number, ParamSpec
from motionbench.bench.synthetic.raster import Disc, Polygon, Pose, RoundedBox, Sprite, draw
from motionbench.bench.synthetic.textures import make_texture
from motionbench.errors import ConfigError

PATHS = ("pan", "tilt", "zoom_in", "zoom_out", "rotate", "pan_zoom", "orbit")
PARAMS: dict[str, ParamSpec] = {
    "path": Choice(
        PATHS,
        "pan",
        "pan/tilt slide the view sideways/up-down, zoom_in/zoom_out scale it, rotate rolls it,"
        " pan_zoom combines a slide with a zoom, orbit circles a tilted camera around the scene's centre",
    ),
    "speed": Number(0.25, 3.0, 1.0, "multiplies the camera's speed"),
}
MAX_SCENE_SIDE = 4096  # pixels; beyond this the clip is too long or fast for its path


def _translate(dx: float, dy: float) -> np.ndarray:
    return np.array([[1.0, 0.0, dx], [0.0, 1.0, dy], [0.0, 0.0, 1.0]])


def _about(point: np.ndarray, linear: np.ndarray) -> np.ndarray:
    """The 2-D linear map ``linear`` applied about ``point``, as a 3x3 matrix."""
    m = np.eye(3)
    m[:2, :2] = linear
    return _translate(*point) @ m @ _translate(*(-point))


def _rotation(a: float) -> np.ndarray:
    return np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])


def _orbit_homography(size: tuple[int, int], target: np.ndarray, tilt: float, azimuth: float) -> np.ndarray:
    """Plane (z = 0) -> screen homography of a drone camera circling ``target``.

    The camera sits ``tilt`` off the plane's normal at azimuth ``azimuth``, looks at ``target`` and
    keeps the far side of the plane at the top of the frame, so circling turns the ground around
    the target and shifts its perspective.
    """
    width, height = size
    focal = 1.2 * min(width, height)
    k = np.array([[focal, 0.0, (width - 1) / 2], [0.0, focal, (height - 1) / 2], [0.0, 0.0, 1.0]])
    aim = np.array([target[0], target[1], 0.0])
    toward = np.array([np.cos(azimuth), np.sin(azimuth), 0.0])  # from the target towards the camera, in the plane
    # At distance `focal` a frontal camera shows the plane at scale 1.
    centre = aim + focal * (np.sin(tilt) * toward - np.array([0.0, 0.0, np.cos(tilt)]))
    z = (aim - centre) / np.linalg.norm(aim - centre)
    x = np.cross(toward, z)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    rot = np.stack([x, y, z])
    h = k @ np.stack([rot[:, 0], rot[:, 1], -rot @ centre], axis=1)
    return h / h[2, 2]


def camera_matrices(path: str, rng: np.random.Generator, t: np.ndarray, size: tuple[int, int], speed: float) -> np.ndarray:
    """``[T, 3, 3]`` homographies from world (the screen at t = 0 for the similarity paths) to screen."""
    width, height = size
    side = min(width, height)
    centre = np.array([(width - 1) / 2, (height - 1) / 2])
    fixed = centre + rng.uniform(-0.15, 0.15, 2) * side  # the point zoom and roll keep in place
    sign = rng.choice([-1.0, 1.0])
    mats = []
    if path in ("pan", "tilt", "pan_zoom"):
        # Within 5 degrees of the axis: a pan is sideways and a tilt up-down, two distinct motions.
        a = rng.uniform(-np.pi / 36, np.pi / 36) + (np.pi / 2 if path == "tilt" else 0.0) + (np.pi if sign < 0 else 0.0)
        direction = np.array([np.cos(a), np.sin(a)])
    if path == "orbit":
        tilt = rng.uniform(np.radians(20), np.radians(30))
        azimuth0 = rng.uniform(0, 2 * np.pi)
        target = centre + rng.uniform(-0.1, 0.1, 2) * side
    for ti in t:
        if path in ("pan", "tilt"):
            m = _translate(*(-0.25 * side * speed * ti * direction))
        elif path in ("zoom_in", "zoom_out"):
            rate = 0.25 * speed * (1.0 if path == "zoom_in" else -1.0)
            m = _about(fixed, np.exp(rate * ti) * np.eye(2))
        elif path == "rotate":
            m = _about(fixed, _rotation(sign * np.radians(25.0) * speed * ti))
        elif path == "pan_zoom":
            zoom = _about(fixed, np.exp(sign * 0.18 * speed * ti) * np.eye(2))
            m = _translate(*(-0.18 * side * speed * ti * direction)) @ zoom
        elif path == "orbit":
            m = _orbit_homography(size, target, tilt, azimuth0 + sign * np.radians(45.0) * speed * ti)
        else:
            raise ValueError(path)
        mats.append(m)
    return np.stack(mats)


def _apply(h: np.ndarray, pts: np.ndarray) -> np.ndarray:
    homog = pts @ h[:2, :2].T + h[:2, 2]
    w = pts @ h[2, :2] + h[2, 2]
    return homog / w[..., None]


def _scene(look: np.random.Generator, height: int, width: int, min_feature: float) -> np.ndarray:
    """A textured plane with textured landmarks scattered over it."""
    scene = make_texture(look, height, width, min_feature=min_feature)
    coverage = np.zeros((height, width), np.float32)
    count = max(1, int(width * height / (32.0 * min_feature / 3.0) ** 2))
    for _ in range(count):
        reach = look.uniform(6.0, 16.0) * min_feature / 3.0
        kind = int(look.integers(3))
        shape = (Disc(reach), RoundedBox(0.65 * reach, 0.1 * reach), Polygon(int(look.integers(3, 7)), reach))[kind]
        size = int(np.ceil(2 * reach)) + 6
        tex = make_texture(look, size, size, min_feature=min_feature)
        pose = Pose(
            np.array([[look.uniform(0, width), look.uniform(0, height)]]),
            np.array([look.uniform(0, 2 * np.pi)]),
            np.ones(1),
        )
        draw(scene, coverage, Sprite(shape, tex, ((size - 1) / 2, (size - 1) / 2)), pose, 0)
    return scene


def render(
    params: Mapping[str, Any],
    *,
    motion: np.random.Generator,
    look: np.random.Generator,
    num_frames: int,
    size: tuple[int, int],
    fps: float,
    appearance: int,
) -> SynthClip:
    import cv2

    width, height = size
    t = np.arange(num_frames) / fps
    world_to_screen = camera_matrices(params["path"], motion, t, size, params["speed"])
    screen_to_world = np.linalg.inv(world_to_screen)

    # The plane region ever seen, and how much the view ever shrinks the plane (for alias-free texture).
    gx, gy = np.meshgrid(np.linspace(-1, width, 6), np.linspace(-1, height, 6))
    probe = np.stack([gx.ravel(), gy.ravel()], axis=-1)
    seen = np.stack([_apply(h, probe) for h in screen_to_world])
    stretch = max(
        float(np.linalg.norm(np.stack([_apply(h, probe + d) for h in screen_to_world]) - seen, axis=-1).max())
        for d in (np.array([1.0, 0.0]), np.array([0.0, 1.0]))
    )
    pad = 8.0
    lo = seen.reshape(-1, 2).min(axis=0) - pad
    hi = seen.reshape(-1, 2).max(axis=0) + pad
    scene_w, scene_h = int(np.ceil(hi[0] - lo[0])), int(np.ceil(hi[1] - lo[1]))
    if max(scene_w, scene_h) > MAX_SCENE_SIDE:
        raise ConfigError(
            f"camera path {params['path']!r} at speed {params['speed']} over {num_frames} frames at {fps} fps"
            f" sweeps a {scene_w}x{scene_h}-pixel scene (limit {MAX_SCENE_SIDE}); lower speed or num_frames"
        )
    texture_to_screen = world_to_screen @ _translate(*lo)

    # Tracked points: a grid over the first frame, plus points first seen in the middle and last frames.
    inset = 4.0
    gx, gy = np.meshgrid(np.linspace(inset, width - 1 - inset, 10), np.linspace(inset, height - 1 - inset, 10))
    starts = [(0, np.stack([gx.ravel(), gy.ravel()], axis=-1))]
    for ti in sorted({num_frames // 2, num_frames - 1} - {0}):
        starts.append((ti, motion.uniform([inset, inset], [width - 1 - inset, height - 1 - inset], size=(30, 2))))
    points = np.concatenate([_apply(np.linalg.inv(texture_to_screen[ti]), p) for ti, p in starts])
    tracks = np.stack([_apply(h, points) for h in texture_to_screen], axis=1)
    x, y = tracks[..., 0], tracks[..., 1]
    visibility = (x >= 0) & (x <= width - 1) & (y >= 0) & (y <= height - 1)

    # Warp at twice the resolution, then average 2x2 blocks: anti-aliasing where the view shrinks the
    # scene. Output pixel x covers supersampled pixels 2x and 2x+1, centred on 2x + 0.5.
    scene = _scene(look, scene_h, scene_w, max(3.0, 1.5 * stretch))
    to_fine = np.array([[2.0, 0.0, 0.5], [0.0, 2.0, 0.5], [0.0, 0.0, 1.0]])
    frames = np.empty((num_frames, height, width, 3), np.uint8)
    for i, h in enumerate(texture_to_screen):
        fine = cv2.warpPerspective(
            scene, to_fine @ h, (2 * width, 2 * height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
        )
        coarse = cv2.resize(fine, (width, height), interpolation=cv2.INTER_AREA)  # exact 2x2 means
        frames[i] = np.clip(np.rint(coarse), 0, 255).astype(np.uint8)
    return SynthClip(
        frames=frames,
        tracks=tracks.astype(np.float32),
        visibility=visibility,
        fps=float(fps),
        labels=np.zeros(len(points), np.int64),
        label_names=("scene",),
        foreground=np.zeros((num_frames, height, width), bool),
    )
