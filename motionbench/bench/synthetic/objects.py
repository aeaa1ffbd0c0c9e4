"""Generators ``single_object`` and ``multi_object``: textured objects moving over a textured background.

Each object is a flat textured shape moving by a similarity transform (translation along a path,
rotation, optional scale change). Its look changes with ``appearance`` (texture, colours and shape:
disc, rounded square, hexagon, pentagon, flower, ellipse), its motion does not. Every look's shape
fits inside the disc of radius ``R`` (the object's *reach*) and contains the disc of radius ``0.68 R``;
tracked points lie within ``0.58 R`` of the centre, so they are on the object in every look, and an
object hides what lies under its reach disc. The reference look (``appearance=0``) draws that disc
itself, so its visibility is exact; other looks keep the same (then slightly conservative) labels.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from motionbench.bench.synthetic.params import Choice, Number, ParamSpec
from motionbench.bench.synthetic.raster import (
    Disc,
    Ellipse,
    Flower,
    Layer,
    Polygon,
    Pose,
    RoundedBox,
    Shape,
    Sprite,
    compose,
    interior_points,
)
from motionbench.bench.synthetic.clip import SynthClip
from motionbench.bench.synthetic.textures import make_texture, palette

SINGLE_PATHS = ("curve", "zigzag", "bounce", "spiral", "figure8")
SINGLE_PARAMS: dict[str, ParamSpec] = {
    "path": Choice(SINGLE_PATHS, "curve", "the trajectory of the object's centre"),
    "speed": Number(0.25, 3.0, 1.0, "multiplies how fast the object moves along its path"),
    "scale_change": Number(-0.6, 1.5, 0.0, "relative size change per 2 s (0.5: grows 1.5x; -0.5: halves)"),
    "spin": Number(-1.0, 1.0, 0.1, "rotation in turns per second (positive: clockwise on screen)"),
}
MULTI_PATTERNS = ("crossing", "overtake", "orbit")
MULTI_PARAMS: dict[str, ParamSpec] = {
    "count": Number(2, 4, 3, "number of objects", integer=True),
    "pattern": Choice(
        MULTI_PATTERNS,
        "crossing",
        "how the first two objects occlude: paths cross, one overtakes the other, or one orbits the other"
        " (passing in front and behind)",
    ),
    "speed": Number(0.25, 3.0, 1.0, "multiplies every object's speed"),
}

POINT_RADIUS = 0.58  # tracked points lie within this fraction of the reach
_CROSS_TIME = 1.0  # seconds: the first pair meets in the middle of the default 2-second clip


def _reflect(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Fold ``x`` into [lo, hi] as if bouncing off both ends."""
    span = hi - lo
    y = np.mod(x - lo, 2 * span)
    return lo + np.where(y > span, 2 * span - y, y)


def _triangle(x: np.ndarray) -> np.ndarray:
    """A triangle wave of period 1 in [-1, 1]."""
    return 4.0 * np.abs(np.mod(x + 0.25, 1.0) - 0.5) - 1.0


def _curve(rng: np.random.Generator, t: np.ndarray, centre: np.ndarray, half: np.ndarray, speed: float) -> np.ndarray:
    """A smooth wandering path: two sinusoids per axis with random rates and phases."""
    out = []
    for axis in range(2):
        w = rng.uniform(0.35, 0.65)
        rates = rng.uniform(0.9, 2.0, 2) * speed * rng.choice([-1.0, 1.0], 2)
        phases = rng.uniform(0, 2 * np.pi, 2)
        wave = w * np.sin(rates[0] * t + phases[0]) + (1 - w) * np.sin(rates[1] * t + phases[1])
        out.append(centre[axis] + half[axis] * wave)
    return np.stack(out, axis=-1)


def _single_path(path: str, rng: np.random.Generator, t: np.ndarray, width: int, height: int, reach: float, speed: float) -> np.ndarray:
    lo = np.array([reach + 2.0, reach + 2.0])
    hi = np.array([width - reach - 3.0, height - reach - 3.0])
    centre, half = (lo + hi) / 2, (hi - lo) / 2
    direction = rng.choice([-1.0, 1.0])
    if path == "curve":
        return _curve(rng, t, centre + rng.uniform(-0.1, 0.1, 2) * half, 0.8 * half, speed)
    if path == "zigzag":
        x0 = centre[0] - direction * rng.uniform(0.5, 0.8) * half[0]
        x = _reflect(x0 + direction * 0.3 * width * speed * t, lo[0], hi[0])
        period = rng.uniform(0.6, 0.8)
        y = centre[1] + rng.uniform(0.6, 0.85) * half[1] * _triangle(speed * t / period + rng.uniform(0, 1))
        return np.stack([x, y], axis=-1)
    if path == "bounce":
        x0 = centre[0] - direction * rng.uniform(0.5, 0.8) * half[0]
        x = _reflect(x0 + direction * 0.25 * width * speed * t, lo[0], hi[0])
        phase = np.mod(speed * t / rng.uniform(0.8, 1.0) + rng.uniform(0, 1), 1.0)
        y = hi[1] - rng.uniform(0.75, 0.95) * 2 * half[1] * 4 * phase * (1 - phase)
        return np.stack([x, y], axis=-1)
    if path == "spiral":
        r_max = 0.95 * half.min()
        # Out then back in: the radius follows a slow triangle wave, the angle turns steadily.
        r = r_max * (0.15 + 0.85 * (0.5 + 0.5 * _triangle(speed * t / 3.0 + rng.uniform(-0.3, 0.0))))
        a = rng.uniform(0, 2 * np.pi) + direction * 2 * np.pi * 0.6 * speed * t
        c = centre + rng.uniform(-0.05, 0.05, 2) * half
        return np.stack([c[0] + r * np.cos(a), c[1] + r * np.sin(a)], axis=-1)
    if path == "figure8":
        a = rng.uniform(0, 2 * np.pi) + direction * 2 * np.pi * speed * t / 3.2
        return np.stack([centre[0] + 0.85 * half[0] * np.sin(a), centre[1] + 0.7 * half[1] * np.sin(2 * a)], axis=-1)
    raise ValueError(path)


def _look_shape(look: np.random.Generator, reach: float, appearance: int) -> Shape:
    """The object's silhouette: the reach disc for the reference look, another shape otherwise."""
    if appearance == 0:
        return Disc(reach)
    kind = int(look.integers(5))
    phase = look.uniform(0, 2 * np.pi)
    if kind == 0:
        return RoundedBox(0.6 * reach, 0.1 * reach)
    if kind == 1:
        return Polygon(6, 0.98 * reach, phase)
    if kind == 2:
        return Polygon(5, 0.98 * reach, phase)
    if kind == 3:
        return Flower(reach, int(look.integers(4, 7)), 0.32, phase)
    return Ellipse(reach, 0.72 * reach)


def _object_sprite(look: np.random.Generator, reach: float, appearance: int, hue: float, min_feature: float) -> Sprite:
    size = int(np.ceil(2 * reach)) + 6
    texture = make_texture(look, size, size, min_feature=min_feature, colours=palette(look, 3, hue=hue))
    return Sprite(_look_shape(look, reach, appearance), texture, ((size - 1) / 2, (size - 1) / 2))


def _background(look: np.random.Generator, width: int, height: int) -> np.ndarray:
    return make_texture(look, height, width, min_feature=3.0)


def _grid_points(width: int, height: int, per_side: int, inset: float) -> np.ndarray:
    xs = np.linspace(inset, width - 1 - inset, per_side)
    ys = np.linspace(inset, height - 1 - inset, per_side)
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx.ravel(), gy.ravel()], axis=-1)


def render_single(
    params: Mapping[str, Any],
    *,
    motion: np.random.Generator,
    look: np.random.Generator,
    num_frames: int,
    size: tuple[int, int],
    fps: float,
    appearance: int,
) -> SynthClip:
    width, height = size
    t = np.arange(num_frames) / fps
    reach = 0.15 * min(width, height)
    centre = _single_path(params["path"], motion, t, width, height, reach, params["speed"])
    scale = np.clip((1.0 + params["scale_change"]) ** (t / 2.0), 0.25, 4.0)
    angle = motion.uniform(0, 2 * np.pi) + 2 * np.pi * params["spin"] * t
    points = interior_points(motion, Disc(POINT_RADIUS * reach), 64, 0.0)
    background_points = _grid_points(width, height, 6, 5.0)

    # Textures must stay coarse enough for the smallest on-screen size.
    min_feature = 2.5 / min(1.0, float(scale.min()))
    background = _background(look, width, height)
    sprite = _object_sprite(look, reach, appearance, look.random(), min_feature)
    layer = Layer(sprite, Pose(centre, angle, scale), np.zeros(num_frames), Disc(reach), points, 1)
    return compose(background, [layer], background_points, fps, ("background", "object1"))


def _multi_paths(pattern: str, count: int, rng: np.random.Generator, t: np.ndarray, width: int, height: int, reaches: np.ndarray, speed: float):
    """Centres ``[count, T, 2]``, depths ``[count, T]`` and scales ``[count, T]``."""
    num = len(t)
    side = min(width, height)
    m = float(reaches.max()) + 2.0
    lo, hi = np.array([m, m]), np.array([width - m - 1.0, height - m - 1.0])
    mid, half = (lo + hi) / 2, (hi - lo) / 2
    centres = np.zeros((count, num, 2))
    depths = np.zeros((count, num))
    scales = np.ones((count, num))
    meet = mid + rng.uniform(-0.15, 0.15, 2) * half
    dt = (t - _CROSS_TIME)[:, None]
    if pattern == "crossing":
        a = rng.uniform(0, 2 * np.pi)
        b = a + rng.choice([-1.0, 1.0]) * rng.uniform(np.pi / 3, 2 * np.pi / 3)
        v = 0.3 * side * speed
        for k, ang in enumerate((a, b)):
            d = np.array([np.cos(ang), np.sin(ang)])
            p = meet + d * v * rng.uniform(0.85, 1.15) * dt
            centres[k] = np.stack([_reflect(p[:, 0], lo[0], hi[0]), _reflect(p[:, 1], lo[1], hi[1])], axis=-1)
        depths[0], depths[1] = 0.0, 1.0
    elif pattern == "overtake":
        a = rng.uniform(-np.pi / 6, np.pi / 6) + rng.choice([0.0, np.pi])
        d = np.array([np.cos(a), np.sin(a)])
        normal = np.array([-d[1], d[0]])
        offset = rng.choice([-1.0, 1.0]) * 0.3 * reaches[1] * normal
        for k, v in enumerate((0.38 * side * speed, 0.14 * side * speed)):
            p = meet + (offset if k == 0 else 0.0) + d * v * dt
            centres[k] = np.stack([_reflect(p[:, 0], lo[0], hi[0]), _reflect(p[:, 1], lo[1], hi[1])], axis=-1)
        depths[0], depths[1] = 0.0, 1.0
    elif pattern == "orbit":
        hub = _curve(rng, t, meet, 0.15 * half, speed)
        rho = 2.4 * reaches[1]
        # The orbit is a circle seen at a slant: an ellipse on screen, in front in its lower half.
        phi = rng.uniform(0, 2 * np.pi) + rng.choice([-1.0, 1.0]) * np.pi * speed * t
        centres[1] = hub
        centres[0] = hub + rho * np.stack([np.cos(phi), 0.4 * np.sin(phi)], axis=-1)
        depths[1] = 1.0
        depths[0] = 1.0 - np.sin(phi)
        scales[0] = 1.0 + 0.15 * np.sin(phi)
    else:
        raise ValueError(pattern)
    for k in range(2, count):
        centres[k] = _curve(rng, t, mid + rng.uniform(-0.2, 0.2, 2) * half, 0.75 * half, speed)
        depths[k] = rng.uniform(-0.5, 2.5)
    return centres, depths, scales


def render_multi(
    params: Mapping[str, Any],
    *,
    motion: np.random.Generator,
    look: np.random.Generator,
    num_frames: int,
    size: tuple[int, int],
    fps: float,
    appearance: int,
) -> SynthClip:
    width, height = size
    count = params["count"]
    t = np.arange(num_frames) / fps
    reaches = 0.11 * min(width, height) * motion.uniform(0.9, 1.15, count)
    centres, depths, scales = _multi_paths(params["pattern"], count, motion, t, width, height, reaches, params["speed"])
    spins = motion.uniform(-0.12, 0.12, count)
    angles = motion.uniform(0, 2 * np.pi, count)[:, None] + 2 * np.pi * spins[:, None] * t[None]
    points = [interior_points(motion, Disc(POINT_RADIUS * r), 32, 0.0) for r in reaches]
    background_points = _grid_points(width, height, 6, 5.0)

    background = _background(look, width, height)
    hue0 = look.random()
    layers = []
    for k in range(count):
        # Spread the objects' hues around the colour wheel so they are told apart at a glance.
        sprite = _object_sprite(look, reaches[k], appearance, (hue0 + k / count) % 1.0, 2.5 / min(1.0, float(scales[k].min())))
        pose = Pose(centres[k], angles[k], scales[k])
        layers.append(Layer(sprite, pose, depths[k], Disc(reaches[k]), points[k], k + 1))
    names = ("background",) + tuple(f"object{k + 1}" for k in range(count))
    return compose(background, layers, background_points, fps, names)
