"""Generator ``human``: an articulated figure seen from the side, animated by forward kinematics.

The body is twelve textured parts (torso, head, and upper/lower arms, thighs, shins and feet on the
near and far side), each a capsule or disc attached to its parent joint. Per frame, an action gives
the joint angles; forward kinematics places every joint from the pelvis outwards (shoulder -> elbow
-> wrist, hip -> knee -> ankle -> toe), and the pelvis is set so the lowest foot touches the ground
(plus a flight height while jumping; standing actions keep the near ankle planted). Parts are drawn
far side first, so a point is hidden exactly where a part drawn later covers it. Body proportions,
facing and timing come from the seed; ``appearance`` only re-dresses the figure and the room.

Angle convention: limb angles are measured from straight down, positive towards the facing side.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from motionbench.bench.synthetic.clip import SynthClip
from motionbench.bench.synthetic.params import Choice, Number, ParamSpec
from motionbench.bench.synthetic.raster import Capsule, Disc, Layer, Pose, Shape, Sprite, compose, interior_points
from motionbench.bench.synthetic.textures import PATTERNS, make_texture, palette

ACTIONS = ("walk", "jump", "wave", "squat")
PARAMS: dict[str, ParamSpec] = {
    "action": Choice(
        ACTIONS,
        "walk",
        "walk (strides across the frame), jump (crouch, take off, land), wave (raises an arm and waves),"
        " squat (bends down and up with feet planted)",
    ),
    "speed": Number(0.25, 3.0, 1.0, "multiplies the action's tempo (and walking speed)"),
}

# Label order (label k = PARTS[k - 1]) and the garment each part wears.
PARTS = (
    "torso", "head",
    "near_upper_arm", "near_forearm", "far_upper_arm", "far_forearm",
    "near_thigh", "near_shin", "near_foot", "far_thigh", "far_shin", "far_foot",
)  # fmt: skip
_GARMENT = {
    "torso": "top", "head": "skin", "upper_arm": "top", "forearm": "skin",
    "thigh": "bottom", "shin": "bottom", "foot": "shoes",
}  # fmt: skip
# Back to front.
_DRAW_ORDER = (
    "far_thigh", "far_shin", "far_foot", "far_upper_arm", "far_forearm",
    "torso", "head", "near_thigh", "near_shin", "near_foot", "near_upper_arm", "near_forearm",
)  # fmt: skip


@dataclass(frozen=True)
class Body:
    """Segment lengths and radii in pixels."""

    torso: float
    torso_r: float
    neck: float
    head_r: float
    upper_arm: float
    arm_r: float
    forearm: float
    forearm_r: float
    thigh: float
    thigh_r: float
    shin: float
    shin_r: float
    foot: float
    foot_r: float

    @classmethod
    def sample(cls, rng: np.random.Generator, height: float) -> "Body":
        j = lambda: height * rng.uniform(0.95, 1.05)  # noqa: E731 - per-segment proportion jitter
        return cls(
            torso=0.30 * j(), torso_r=0.095 * j(), neck=0.025 * j(), head_r=0.09 * j(),
            upper_arm=0.17 * j(), arm_r=0.048 * j(), forearm=0.16 * j(), forearm_r=0.042 * j(),
            thigh=0.23 * j(), thigh_r=0.064 * j(), shin=0.23 * j(), shin_r=0.052 * j(),
            foot=0.075 * j(), foot_r=0.035 * j(),
        )  # fmt: skip


def _smooth(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _keyframes(phase: np.ndarray, keys: list[tuple[float, dict[str, float]]]) -> dict[str, np.ndarray]:
    """Interpolate periodic keyframes (phase in [0, 1)) with an ease-in-out between neighbours."""
    stops = np.array([k for k, _ in keys] + [1.0])
    names = keys[0][1].keys()
    values = {n: np.array([v[n] for _, v in keys] + [keys[0][1][n]]) for n in names}
    seg = np.clip(np.searchsorted(stops, phase, side="right") - 1, 0, len(keys) - 1)
    frac = _smooth((phase - stops[seg]) / (stops[seg + 1] - stops[seg]))
    return {n: v[seg] * (1 - frac) + v[seg + 1] * frac for n, v in values.items()}


_STAND = dict(lean=0.05, sh=0.1, el=0.2, hip=0.0, kn=0.05, toe=0.0)
_JUMP = [
    (0.00, _STAND),
    (0.22, dict(lean=0.55, sh=-0.7, el=0.3, hip=1.0, kn=1.6, toe=0.0)),
    (0.34, dict(lean=0.15, sh=2.6, el=0.2, hip=-0.05, kn=0.0, toe=0.6)),
    (0.50, dict(lean=0.2, sh=2.3, el=0.4, hip=0.5, kn=0.9, toe=0.3)),
    (0.66, dict(lean=0.15, sh=1.4, el=0.3, hip=0.1, kn=0.15, toe=0.3)),
    (0.80, dict(lean=0.45, sh=0.6, el=0.4, hip=0.8, kn=1.3, toe=0.0)),
]
_TAKEOFF, _LANDING = 0.34, 0.66


def _walk_angles(t: np.ndarray, freq: float, phase0: float, swing: float) -> dict[str, np.ndarray]:
    """A walking gait. Each leg carries weight while its hip swings back (``cos(phase) < 0``) and
    steps while it swings forward; ``stance_n`` marks when the near leg carries the weight."""
    ph = 2 * np.pi * freq * t + phase0
    out = {}
    for side, p in (("n", ph), ("f", ph + np.pi)):
        stepping = np.clip(np.cos(p), 0, 1)
        out[f"hip_{side}"] = swing * np.sin(p)
        # The knee bends most as the stepping leg passes under the body (lifting the foot clear) and
        # stays nearly straight while the leg carries weight; the foot lies flat on the ground.
        out[f"kn_{side}"] = 0.1 + 0.75 * stepping**2
        out[f"toe_{side}"] = 0.35 * stepping * np.clip(-np.sin(p), 0, 1)
        out[f"sh_{side}"] = -0.9 * swing * np.sin(p)
        out[f"el_{side}"] = 0.25 + 0.35 * np.clip(-np.sin(p), 0, 1)
    out["stance_n"] = (np.cos(ph) <= 0).astype(np.float64)
    out["lean"] = np.full(len(t), 0.08)
    out["head"] = 0.05 * np.sin(2 * ph)
    return out


def action_angles(action: str, rng: np.random.Generator, t: np.ndarray, speed: float, body: Body) -> dict[str, np.ndarray]:
    """Joint angles per frame, plus ``lift`` (flight height, px), ``travel`` (px along the facing),
    ``planted`` (keep the near ankle in place) and, for walking, ``travel_1s`` (the travel at 1 s)."""
    num = len(t)
    zero = np.zeros(num)
    amp = rng.uniform(0.9, 1.1)
    out: dict[str, np.ndarray] = {}
    if action == "walk":
        freq, phase0, swing = 0.6 * speed, rng.uniform(0, 2 * np.pi), 0.35 * amp
        out.update(_walk_angles(t, freq, phase0, swing))
        # The pelvis advances exactly as far as the stance foot pushes back, so the foot on the
        # ground never slides. Integrated on a fixed fine time grid, so it does not depend on fps.
        dt = 1.0 / 240.0
        fine = np.arange(0.0, max(float(t.max()), 1.0) + 2 * dt, dt)
        legs = _walk_angles(fine, freq, phase0, swing)
        ahead = {}
        for side in ("n", "f"):
            shin = legs[f"hip_{side}"] - legs[f"kn_{side}"]
            ahead[side] = body.thigh * np.sin(legs[f"hip_{side}"]) + body.shin * np.sin(shin)
        push = np.where(legs["stance_n"][:-1] > 0.5, np.diff(ahead["n"]), np.diff(ahead["f"]))
        travel = np.concatenate([[0.0], -np.cumsum(push)])
        out["travel"] = np.interp(t, fine, travel)
        out["travel_1s"] = np.full(num, np.interp(1.0, fine, travel))
        out["lift"], out["planted"] = zero, zero
    elif action == "jump":
        period = 1.5 / speed
        phase = np.mod(t / period + rng.uniform(0.0, 0.08), 1.0)
        k = _keyframes(phase, _JUMP)
        for side, d in (("n", 0.0), ("f", 0.12)):
            out[f"hip_{side}"] = k["hip"] * amp - d
            out[f"kn_{side}"] = k["kn"] * amp
            out[f"sh_{side}"] = k["sh"] + d
            out[f"el_{side}"] = k["el"]
            out[f"toe_{side}"] = k["toe"]
        out["lean"], out["head"] = k["lean"], -0.3 * k["lean"]
        air = np.clip((phase - _TAKEOFF) / (_LANDING - _TAKEOFF), 0, 1)
        out["lift"] = 0.25 * (body.thigh + body.shin) * 2.0 * amp * 4 * air * (1 - air)
        out["travel"], out["planted"] = zero, np.ones(num)
    elif action == "wave":
        start = rng.uniform(0.05, 0.25)
        raised = _smooth((t - start) * speed / 0.6)
        wave = np.sin(2 * np.pi * 1.6 * speed * (t - start) + rng.uniform(-0.5, 0.5))
        sway = np.sin(2 * np.pi * 0.5 * speed * t + rng.uniform(0, 2 * np.pi))
        out["sh_n"] = 0.1 + 2.55 * amp * raised
        out["el_n"] = 0.2 + raised * (0.35 + 0.55 * wave)
        out["sh_f"] = 0.15 + 0.06 * sway
        out["el_f"] = np.full(num, 0.25)
        for side, s in (("n", 1.0), ("f", -1.0)):
            out[f"hip_{side}"] = 0.04 * s * sway
            out[f"kn_{side}"] = 0.06 + 0.05 * s * sway
            out[f"toe_{side}"] = zero
        out["lean"] = 0.03 + 0.04 * sway
        out["head"] = 0.15 * raised
        out["lift"], out["travel"], out["planted"] = zero, zero, np.ones(num)
    elif action == "squat":
        period = 2.2 / speed
        depth = (0.5 - 0.5 * np.cos(2 * np.pi * (t / period + rng.uniform(0.0, 0.1)))) * amp
        for side, d in (("n", 0.0), ("f", 0.1)):
            out[f"hip_{side}"] = 1.35 * depth - d
            out[f"kn_{side}"] = 2.3 * depth - d
            out[f"sh_{side}"] = 0.1 + 1.45 * depth + d
            out[f"el_{side}"] = np.full(num, 0.15)
            out[f"toe_{side}"] = zero
        out["lean"] = 0.08 + 0.6 * depth
        out["head"] = -0.4 * depth
        out["lift"], out["travel"], out["planted"] = zero, zero, np.ones(num)
    else:
        raise ValueError(action)
    return out


def _direction(angle: np.ndarray, facing: float) -> np.ndarray:
    """Unit vectors ``[T, 2]`` for limb angles measured from straight down, positive towards ``facing``."""
    return np.stack([facing * np.sin(angle), np.cos(angle)], axis=-1)


def _heading(vec: np.ndarray) -> np.ndarray:
    return np.arctan2(vec[:, 1], vec[:, 0])


def skeleton(body: Body, ang: dict[str, np.ndarray], facing: float, anchor_x: float, ground_y: float) -> dict[str, tuple[Shape, Pose]]:
    """Forward kinematics: the shape and per-frame pose of every part."""
    num = len(ang["lean"])
    one = np.ones(num)
    up = np.stack([facing * np.sin(ang["lean"]), -np.cos(ang["lean"])], axis=-1)
    torso_down = -ang["lean"]  # the torso's downward axis, as a limb angle
    chains = {}
    for side in ("n", "f"):
        thigh = _direction(ang[f"hip_{side}"], facing) * body.thigh
        shin_angle = ang[f"hip_{side}"] - ang[f"kn_{side}"]
        shin = _direction(shin_angle, facing) * body.shin
        upper_angle = torso_down + ang[f"sh_{side}"]
        chains[side] = (thigh, shin, shin_angle, upper_angle)
    # Far-side joints sit slightly behind the near ones, as seen from the side.
    far_shift = np.array([-facing * 0.25 * body.thigh_r, -0.1 * body.thigh_r])

    # Pelvis: the lowest foot on the ground (minus any flight); standing actions keep the near ankle still.
    reach_down = np.maximum(
        chains["n"][0][:, 1] + chains["n"][1][:, 1], chains["f"][0][:, 1] + chains["f"][1][:, 1] + far_shift[1]
    )
    pelvis_y = ground_y - body.foot_r - reach_down - ang["lift"]
    planted_x = anchor_x - (chains["n"][0][:, 0] + chains["n"][1][:, 0])
    pelvis_x = np.where(ang["planted"] > 0.5, planted_x, anchor_x + facing * ang["travel"])
    pelvis = np.stack([pelvis_x, pelvis_y], axis=-1)

    parts: dict[str, tuple[Shape, Pose]] = {}
    neck = pelvis + up * body.torso
    parts["torso"] = (Capsule(body.torso, body.torso_r), Pose(pelvis, _heading(up), one))
    head_up = np.stack([facing * np.sin(ang["lean"] + ang["head"]), -np.cos(ang["lean"] + ang["head"])], axis=-1)
    head_centre = neck + head_up * (body.neck + body.head_r)
    parts["head"] = (Disc(body.head_r), Pose(head_centre, _heading(head_up), one))
    for side, name in (("n", "near"), ("f", "far")):
        thigh, shin, shin_angle, upper_angle = chains[side]
        hip = pelvis + (far_shift if side == "f" else 0.0)
        shoulder = pelvis + up * (body.torso - 0.6 * body.torso_r) + (far_shift if side == "f" else 0.0)
        upper = _direction(upper_angle, facing)
        fore_angle = upper_angle + ang[f"el_{side}"]
        fore = _direction(fore_angle, facing)
        knee, ankle = hip + thigh, hip + thigh + shin
        foot = _direction(np.pi / 2 + ang[f"toe_{side}"], facing)
        parts[f"{name}_upper_arm"] = (Capsule(body.upper_arm, body.arm_r), Pose(shoulder, _heading(upper), one))
        parts[f"{name}_forearm"] = (
            Capsule(body.forearm, body.forearm_r),
            Pose(shoulder + upper * body.upper_arm, _heading(fore), one),
        )
        parts[f"{name}_thigh"] = (Capsule(body.thigh, body.thigh_r), Pose(hip, _heading(thigh), one))
        parts[f"{name}_shin"] = (Capsule(body.shin, body.shin_r), Pose(knee, _heading(shin), one))
        parts[f"{name}_foot"] = (Capsule(body.foot, body.foot_r), Pose(ankle, _heading(foot), one))
    return parts


def _part_texture(look: np.random.Generator, shape: Shape, colours: np.ndarray, pattern: str, shade: float) -> tuple[np.ndarray, tuple[float, float]]:
    if isinstance(shape, Capsule):
        h = int(np.ceil(2 * shape.radius)) + 6
        w = int(np.ceil(shape.length + 2 * shape.radius)) + 6
        origin = (shape.radius + 3.0, (h - 1) / 2)
    else:
        h = w = int(np.ceil(2 * shape.reach)) + 6
        origin = ((w - 1) / 2, (h - 1) / 2)
    return make_texture(look, h, w, min_feature=2.5, pattern=pattern, colours=colours * shade), origin


def _room(look: np.random.Generator, width: int, height: int, floor_y: float) -> np.ndarray:
    wall = make_texture(look, height, width, min_feature=3.0)
    floor = make_texture(look, height, width, min_feature=3.0)
    yy = np.arange(height, dtype=np.float32)[:, None, None]
    blend = 0.5 + 0.5 * np.tanh((yy - floor_y) / 1.5)
    return wall * (1 - blend) + floor * blend


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
    width, height = size
    t = np.arange(num_frames) / fps
    body = Body.sample(motion, 0.68 * height)
    facing = float(motion.choice([-1.0, 1.0]))
    ground_y = 0.93 * height
    ang = action_angles(params["action"], motion, t, params["speed"], body)
    if params["action"] == "walk":
        # Centre the stride on the frame at t = 1 s (the middle of the default clip).
        anchor_x = width / 2 - facing * ang["travel_1s"][0] + motion.uniform(-0.04, 0.04) * width
    else:
        anchor_x = width / 2 + motion.uniform(-0.08, 0.08) * width
    parts = skeleton(body, ang, facing, anchor_x, ground_y)
    points = {}
    for name in PARTS:
        shape = parts[name][0]
        area = 2 * shape.radius * shape.length + np.pi * shape.radius**2 if isinstance(shape, Capsule) else np.pi * shape.reach**2
        inset = 0.35 * (shape.radius if isinstance(shape, Capsule) else shape.reach)
        # About one point per 14 px^2 at 128 px, the same count at any frame size.
        density = 14.0 * (height / 128.0) ** 2
        points[name] = interior_points(motion, shape, int(np.clip(round(area / density), 4, 30)), min(inset, 1.5))
    background_points = np.stack(
        np.meshgrid(np.linspace(5, width - 6, 6), np.linspace(5, height - 6, 6)), axis=-1
    ).reshape(-1, 2)

    background = _room(look, width, height, ground_y - 0.12 * height)
    garments = {
        g: (palette(look, 3), PATTERNS[int(look.integers(len(PATTERNS)))]) for g in ("top", "bottom", "skin", "shoes")
    }
    layers = []
    for depth, name in enumerate(reversed(_DRAW_ORDER)):
        shape, pose = parts[name]
        colours, pattern = garments[_GARMENT[name.removeprefix("near_").removeprefix("far_")]]
        texture, origin = _part_texture(look, shape, colours, pattern, 0.75 if name.startswith("far_") else 1.0)
        layers.append(
            Layer(Sprite(shape, texture, origin), pose, np.full(num_frames, float(depth)), shape, points[name], PARTS.index(name) + 1)
        )
    # Report points in label order, whatever the drawing order.
    layers.sort(key=lambda layer: layer.label)
    return compose(background, layers, background_points, fps, ("background",) + PARTS)
