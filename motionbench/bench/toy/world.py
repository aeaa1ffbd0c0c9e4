"""Rendering the toy world: small flat-coloured clips in the four categories, with ground truth.

The toy world is MotionBench's sanity world (in the spirit of Moving MNIST): clips small enough
(32 x 32 pixels, 33 frames at 8 fps by default) that models the project trains itself can generate
them on a CPU, and simple enough that a colour detector and a tracker read them exactly.

* ``toy_single_object``: a coloured circle, square or triangle on a flat background, moving along
  a straight line or a circular arc;
* ``toy_multi_object``: two such shapes, each on its own straight path (one may pass over the other);
* ``toy_human``: a stick figure (one colour) walking, jumping or waving;
* ``toy_camera``: a camera panning over, or zooming into or out of, a plane of checks or dots.

Motion comes from the seed (direction, speed, start, the figure's build) and the ``path`` /
``action`` parameter; the look (colours, shapes, background, pattern) from the parameters that
name it, exactly as its caption does (:mod:`motionbench.bench.toy.vocab`). ``appearance=k > 0``
swaps in another look drawn from the look stream, keeping every bit of the tracks and visibility
(tracked points lie inside every shape's core). :func:`render_look` renders a motion in any
:class:`~motionbench.bench.toy.vocab.Look`: the ideal output of a transfer to that look's caption.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from motionbench.bench.synthetic.clip import SynthClip
from motionbench.bench.synthetic.human import Body, action_angles, skeleton
from motionbench.bench.synthetic.params import Choice, Number, ParamSpec
from motionbench.bench.synthetic.raster import Capsule, Disc, Layer, Polygon, Pose, RoundedBox, Shape, Sprite, compose, interior_points
from motionbench.bench.toy.vocab import BACKGROUNDS, COLOURS, PATTERNS, SHAPES, Look, Thing, all_looks

DEFAULT_NUM_FRAMES = 33
DEFAULT_SIZE = (32, 32)
DEFAULT_FPS = 8.0

OBJECT_PATHS = ("line", "arc")
ACTIONS = ("walk", "jump", "wave")
CAMERA_PATHS = ("pan", "zoom_in", "zoom_out")
_COLOUR = tuple(COLOURS)
_BG = tuple(BACKGROUNDS)
_SPEED = Number(0.5, 2.0, 1.0, "multiplies how fast things move")
SINGLE_PARAMS: dict[str, ParamSpec] = {
    "path": Choice(OBJECT_PATHS, "line", "the object's path: a straight line or a circular arc (direction from the seed)"),
    "speed": _SPEED,
    "colour": Choice(_COLOUR, "red", "the object's colour"),
    "shape": Choice(SHAPES, "circle", "the object's shape"),
    "background": Choice(_BG, "gray", "the flat background"),
}
MULTI_PARAMS: dict[str, ParamSpec] = {
    "speed": _SPEED,
    "colour": Choice(_COLOUR, "red", "the first object's colour"),
    "shape": Choice(SHAPES, "circle", "the first object's shape"),
    "colour2": Choice(_COLOUR, "blue", "the second object's colour"),
    "shape2": Choice(SHAPES, "square", "the second object's shape"),
    "background": Choice(_BG, "gray", "the flat background"),
}
HUMAN_PARAMS: dict[str, ParamSpec] = {
    "action": Choice(ACTIONS, "walk", "walk (strides across the frame), jump (hops in place), wave (raises an arm and waves)"),
    "speed": _SPEED,
    "colour": Choice(_COLOUR, "green", "the figure's colour"),
    "background": Choice(_BG, "gray", "the flat background"),
}
CAMERA_PARAMS: dict[str, ParamSpec] = {
    "path": Choice(CAMERA_PATHS, "pan", "pan (slides the view; direction from the seed), zoom_in, zoom_out"),
    "speed": _SPEED,
    "pattern": Choice(PATTERNS, "checks", "the plane's pattern"),
    "colour": Choice(_COLOUR, "red", "the checks' first colour, or the dots' colour"),
    "colour2": Choice(_COLOUR, "yellow", "the checks' second colour, or the ground under the dots"),
}

REACH = 0.19  # object reach as a fraction of the frame side (6 px at 32 px)
CORE = 0.32  # tracked points lie within this fraction of the reach: inside every shape, >= 1 px from its edge
FIGURE_HEIGHT = 0.72


def look_from_params(generator: str, params: Mapping[str, Any]) -> Look:
    """The look named by a toy generator's (resolved) parameters."""
    if generator == "toy_camera":
        return Look("camera", pattern=params["pattern"], colours=(params["colour"], params["colour2"]))
    if generator == "toy_human":
        return Look("human", (Thing(params["colour"], "figure"),), background=params["background"])
    if generator == "toy_multi_object":
        return Look("multi_object", (Thing(params["colour"], params["shape"]), Thing(params["colour2"], params["shape2"])),
                    background=params["background"])
    return Look("single_object", (Thing(params["colour"], params["shape"]),), background=params["background"])


def _rgb(name: str) -> np.ndarray:
    return np.array(COLOURS[name], np.float32)


def _flat(shape: Shape, colour: np.ndarray) -> Sprite:
    side = int(np.ceil(2 * shape.reach)) + 6
    texture = np.broadcast_to(colour, (side, side, 3)).astype(np.float32).copy()
    return Sprite(shape, texture, ((side - 1) / 2, (side - 1) / 2))


def object_shape(name: str, reach: float) -> Shape:
    """The silhouette of a named shape that fits the disc of radius ``reach`` (triangle points up)."""
    if name == "circle":
        return Disc(0.9 * reach)
    if name == "square":
        return RoundedBox(0.66 * reach, 0.04 * reach)
    if name == "triangle":
        return Polygon(3, reach, -np.pi / 2)
    raise ValueError(name)


def _fit(path: np.ndarray, lo: np.ndarray, hi: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Shrink ``path`` ([T, 2]) about its centre until it fits in the box, then place it at random."""
    pmin, pmax = path.min(axis=0), path.max(axis=0)
    extent = np.maximum(pmax - pmin, 1e-9)
    scale = min(1.0, float(np.min((hi - lo) / extent)))
    mid = (pmin + pmax) / 2
    path = mid + (path - mid) * scale
    pmin, pmax = path.min(axis=0), path.max(axis=0)
    slack_lo, slack_hi = lo - pmin, hi - pmax
    return path + rng.uniform(slack_lo, np.maximum(slack_lo, slack_hi))


def object_path(kind: str, rng: np.random.Generator, t: np.ndarray, size: tuple[int, int], reach: float,
                speed: float) -> np.ndarray:
    """Centre positions ``[T, 2]`` of an object on a ``line`` or ``arc`` path inside the frame."""
    width, height = size
    side = min(width, height)
    v = rng.uniform(3.5, 5.5) * speed * side / 32.0  # pixels per second
    theta = rng.uniform(0, 2 * np.pi)
    if kind == "line":
        path = v * t[:, None] * np.array([np.cos(theta), np.sin(theta)])[None]
    elif kind == "arc":
        rho = rng.uniform(0.35, 0.6) * side
        turn = rng.choice([-1.0, 1.0]) * v / rho
        a = theta + turn * t
        path = rho * np.stack([np.cos(a), np.sin(a)], axis=-1)
    else:
        raise ValueError(kind)
    lo = np.array([reach + 1.0, reach + 1.0])
    hi = np.array([width - 2.0 - reach, height - 2.0 - reach])
    return _fit(path, lo, hi, rng)


def _background(name: str, size: tuple[int, int]) -> np.ndarray:
    width, height = size
    return np.broadcast_to(np.array(BACKGROUNDS[name], np.float32), (height, width, 3)).copy()


def _grid(size: tuple[int, int], per_side: int, inset: float) -> np.ndarray:
    width, height = size
    gx, gy = np.meshgrid(np.linspace(inset, width - 1 - inset, per_side), np.linspace(inset, height - 1 - inset, per_side))
    return np.stack([gx.ravel(), gy.ravel()], axis=-1)


def _objects(look: Look, centres: list[np.ndarray], depths: list[float], points: list[np.ndarray], reach: float,
             size: tuple[int, int], fps: float) -> SynthClip:
    num_frames = len(centres[0])
    layers = []
    for k, (thing, centre, depth, pts) in enumerate(zip(look.things, centres, depths, points)):
        pose = Pose(centre, np.zeros(num_frames), np.ones(num_frames))
        sprite = _flat(object_shape(thing.shape, reach), _rgb(thing.colour))
        layers.append(Layer(sprite, pose, np.full(num_frames, depth), Disc(reach), pts, k + 1))
    names = ("background",) + tuple(f"object{k + 1}" for k in range(len(layers)))
    return compose(_background(look.background, size), layers, _grid(size, 5, 3.0), fps, names)


def _single(params: Mapping[str, Any], motion: np.random.Generator, num_frames: int, size: tuple[int, int], fps: float):
    t = np.arange(num_frames) / fps
    reach = REACH * min(size)
    centre = object_path(params["path"], motion, t, size, reach, params["speed"])
    points = interior_points(motion, Disc(CORE * reach), 24, 0.0)

    def draw(look: Look) -> SynthClip:
        return _objects(look, [centre], [0.0], [points], reach, size, fps)
    return draw


def _multi(params: Mapping[str, Any], motion: np.random.Generator, num_frames: int, size: tuple[int, int], fps: float):
    t = np.arange(num_frames) / fps
    reach = 0.9 * REACH * min(size)
    centres = [object_path("line", motion, t, size, reach, params["speed"]) for _ in range(2)]
    depths = list(motion.permutation(2).astype(float))
    points = [interior_points(motion, Disc(CORE * reach), 16, 0.0) for _ in range(2)]

    def draw(look: Look) -> SynthClip:
        return _objects(look, centres, depths, points, reach, size, fps)
    return draw


_DRAW_ORDER = ("far_thigh", "far_shin", "far_upper_arm", "far_forearm", "torso", "head",
               "near_thigh", "near_shin", "near_upper_arm", "near_forearm")
_PARTS = ("torso", "head", "near_upper_arm", "near_forearm", "far_upper_arm", "far_forearm",
          "near_thigh", "near_shin", "far_thigh", "far_shin")


def stick_body(rng: np.random.Generator, height: float) -> Body:
    """A stick figure's proportions: the articulated body's segment lengths, with thin limbs."""
    base = Body.sample(rng, height)
    return Body(torso=base.torso, torso_r=0.07 * height, neck=base.neck, head_r=0.12 * height,
                upper_arm=base.upper_arm, arm_r=0.05 * height, forearm=base.forearm, forearm_r=0.05 * height,
                thigh=base.thigh, thigh_r=0.055 * height, shin=base.shin, shin_r=0.055 * height,
                foot=base.foot, foot_r=0.04 * height)


def _human(params: Mapping[str, Any], motion: np.random.Generator, num_frames: int, size: tuple[int, int], fps: float):
    width, height = size
    t = np.arange(num_frames) / fps
    body = stick_body(motion, FIGURE_HEIGHT * height)
    facing = float(motion.choice([-1.0, 1.0]))
    ground_y = 0.94 * height
    # The articulated figure's walk covers ~9 px/s at 32 px; the toy clip lasts 4 s, so its tempo is halved.
    tempo = params["speed"] * (0.5 if params["action"] == "walk" else 1.0)
    ang = action_angles(params["action"], motion, t, tempo, body)
    if params["action"] == "walk":
        mid = np.interp(t[-1] / 2, t, ang["travel"])
        anchor_x = width / 2 - facing * mid + motion.uniform(-0.04, 0.04) * width
    else:
        anchor_x = width / 2 + motion.uniform(-0.12, 0.12) * width
    parts = skeleton(body, ang, facing, anchor_x, ground_y)
    points = {}
    for name in _PARTS:
        shape = parts[name][0]
        count = 8 if name in ("torso", "head") else 4
        inset = 0.5 * (shape.radius if isinstance(shape, Capsule) else shape.reach)
        points[name] = interior_points(motion, shape, count, inset)

    def draw(look: Look) -> SynthClip:
        colour = _rgb(look.things[0].colour)
        layers = []
        for depth, name in enumerate(reversed(_DRAW_ORDER)):
            shape, pose = parts[name]
            shade = 0.8 if name.startswith("far_") else 1.0
            layers.append(Layer(_flat(shape, colour * shade), pose, np.full(num_frames, float(depth)), shape,
                                points[name], _PARTS.index(name) + 1))
        layers.sort(key=lambda layer: layer.label)
        return compose(_background(look.background, size), layers, _grid(size, 5, 3.0), fps, ("background",) + _PARTS)
    return draw


def _similarities(path: str, rng: np.random.Generator, t: np.ndarray, size: tuple[int, int], speed: float) -> np.ndarray:
    """``[T, 3, 3]`` world -> screen maps (the world is the screen at t = 0)."""
    width, height = size
    side = min(width, height)
    mats = np.tile(np.eye(3), (len(t), 1, 1))
    if path == "pan":
        v = rng.uniform(3.5, 5.5) * speed * side / 32.0
        theta = rng.uniform(0, 2 * np.pi)
        mats[:, 0, 2] = -v * t * np.cos(theta)
        mats[:, 1, 2] = -v * t * np.sin(theta)
    elif path in ("zoom_in", "zoom_out"):
        rate = 0.15 * speed * (1.0 if path == "zoom_in" else -1.0)
        fixed = np.array([(width - 1) / 2, (height - 1) / 2]) + rng.uniform(-0.15, 0.15, 2) * side
        s = np.exp(rate * t)
        mats[:, 0, 0] = mats[:, 1, 1] = s
        mats[:, 0, 2] = fixed[0] * (1 - s)
        mats[:, 1, 2] = fixed[1] * (1 - s)
    else:
        raise ValueError(path)
    return mats


def _camera(params: Mapping[str, Any], motion: np.random.Generator, num_frames: int, size: tuple[int, int], fps: float):
    width, height = size
    side = min(width, height)
    t = np.arange(num_frames) / fps
    mats = _similarities(params["path"], motion, t, size, params["speed"])
    inv = np.linalg.inv(mats)
    cell = 0.2 * side
    dot_r, spacing = 0.07 * side, 0.3 * side
    offset = motion.uniform(0, cell, 2)
    jitter = motion.integers(0, 2**31)
    starts = _grid(size, 8, 2.0)
    tracks = np.einsum("tij,nj->nti", mats[:, :2, :2], starts) + mats[None, :, :2, 2]
    x, y = tracks[..., 0], tracks[..., 1]
    visibility = (x >= 0) & (x <= width - 1) & (y >= 0) & (y <= height - 1)
    ss = 3  # supersampling per axis
    sub = (np.arange(ss) + 0.5) / ss - 0.5
    px = (np.arange(width)[:, None] + sub[None]).ravel()
    py = (np.arange(height)[:, None] + sub[None]).ravel()
    gx, gy = np.meshgrid(px, py)

    def dots_mask(wx: np.ndarray, wy: np.ndarray) -> np.ndarray:
        # One dot per lattice cell, wholly inside it, placed by a hash of the cell: an endless,
        # irregular plane that needs no storage.
        ci, cj = np.floor(wx / spacing), np.floor(wy / spacing)
        h = np.sin(ci * 12.9898 + cj * 78.233 + jitter % 1000) * 43758.5453
        h2 = np.sin(ci * 39.346 + cj * 11.135 + jitter % 977) * 24634.6345
        room = spacing - 2 * dot_r
        cx = ci * spacing + dot_r + room * (h - np.floor(h))
        cy = cj * spacing + dot_r + room * (h2 - np.floor(h2))
        return (wx - cx) ** 2 + (wy - cy) ** 2 <= dot_r ** 2

    def draw(look: Look) -> SynthClip:
        a, b = _rgb(look.colours[0]), _rgb(look.colours[1])
        frames = np.empty((num_frames, height, width, 3), np.uint8)
        for i in range(num_frames):
            h = inv[i]
            wx = h[0, 0] * gx + h[0, 1] * gy + h[0, 2]
            wy = h[1, 0] * gx + h[1, 1] * gy + h[1, 2]
            if look.pattern == "checks":
                first = ((np.floor((wx - offset[0]) / cell) + np.floor((wy - offset[1]) / cell)) % 2) == 0
            else:
                first = dots_mask(wx, wy)
            frac = first.reshape(height, ss, width, ss).mean(axis=(1, 3))[..., None]
            frames[i] = np.clip(np.rint(frac * a + (1 - frac) * b), 0, 255).astype(np.uint8)
        return SynthClip(frames=frames, tracks=tracks.astype(np.float32), visibility=visibility, fps=float(fps),
                         labels=np.zeros(len(starts), np.int64), label_names=("scene",),
                         foreground=np.zeros((num_frames, height, width), bool))
    return draw


_MOTIONS = {"toy_single_object": _single, "toy_multi_object": _multi, "toy_human": _human, "toy_camera": _camera}
_CATEGORY = {"toy_single_object": "single_object", "toy_multi_object": "multi_object", "toy_human": "human",
             "toy_camera": "camera"}
PARAMS = {"toy_camera": CAMERA_PARAMS, "toy_single_object": SINGLE_PARAMS, "toy_multi_object": MULTI_PARAMS,
          "toy_human": HUMAN_PARAMS}


def category_of(generator: str) -> str:
    return _CATEGORY[generator]


def render_look(generator: str, params: Mapping[str, Any], look: Look, *, motion: np.random.Generator,
                num_frames: int, size: tuple[int, int], fps: float) -> SynthClip:
    """The motion of (``params``, ``motion``) rendered in ``look`` (which must be of the generator's category)."""
    if look.category != _CATEGORY[generator]:
        raise ValueError(f"a {look.category} look cannot dress a {generator} clip")
    look.validate()
    return _MOTIONS[generator](params, motion, num_frames, size, fps)(look)


def make_renderer(generator: str):
    """A renderer with the signature of the synthetic generators (see :mod:`motionbench.bench.synthetic`)."""

    def render(params: Mapping[str, Any], *, motion: np.random.Generator, look: np.random.Generator,
               num_frames: int, size: tuple[int, int], fps: float, appearance: int) -> SynthClip:
        named = look_from_params(generator, params)
        if appearance:
            pool = [lk for lk in all_looks(_CATEGORY[generator], "all") if lk != named]
            named = pool[int(look.integers(len(pool)))]
        return render_look(generator, params, named, motion=motion, num_frames=num_frames, size=size, fps=fps)

    render.__name__ = f"render_{generator}"
    return render


TOY_GENERATORS: tuple[str, ...] = tuple(PARAMS)


def params_for_look(generator: str, look: Look) -> dict[str, Any]:
    """The generator parameters that name ``look`` (the inverse of :func:`look_from_params`)."""
    look.validate()
    if look.category != _CATEGORY[generator]:
        raise ValueError(f"a {look.category} look cannot dress a {generator} clip")
    if generator == "toy_camera":
        return {"pattern": look.pattern, "colour": look.colours[0], "colour2": look.colours[1]}
    first = look.things[0]
    params: dict[str, Any] = {"colour": first.colour, "background": look.background}
    if generator != "toy_human":
        params["shape"] = first.shape
    if generator == "toy_multi_object":
        params.update(colour2=look.things[1].colour, shape2=look.things[1].shape)
    return params


def generator_of(category: str) -> str:
    """The toy generator of a category."""
    for gen, cat in _CATEGORY.items():
        if cat == category:
            return gen
    raise ValueError(category)


def object_area(shape: str, size: tuple[int, int] = DEFAULT_SIZE) -> float:
    """Pixel area of a single object of ``shape`` in a frame of ``size``."""
    reach = REACH * min(size)
    if shape == "circle":
        return float(np.pi * (0.9 * reach) ** 2)
    if shape == "square":
        return float((2 * 0.66 * reach) ** 2)
    if shape == "triangle":
        return float(3 * np.sqrt(3) / 4 * reach ** 2)
    raise ValueError(shape)
