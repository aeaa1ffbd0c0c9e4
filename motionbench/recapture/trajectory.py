"""Target camera paths: a small documented format, validated, interpolated per frame.

A path says where the *new* camera is, relative to the *source* camera of each frame, as the
camera-redirection literature parameterises it (TrajectoryCrafter's ``(theta, phi, r, x, y)``,
interpolated over the frames), plus in-place turns, zoom and a time mode:

=========  =======  ==========================================================================
key        unit     meaning (positive values)
=========  =======  ==========================================================================
``phi``    degrees  orbit: the camera circles the pivot to the **right** (azimuth)
``theta``  degrees  arc: the camera circles the pivot **upwards** (elevation)
``r``      pivot    dolly: the camera moves **away** from the pivot by ``r`` pivot distances
                    (``-0.3`` is 30% closer; must stay above -0.9)
``x``      pivot    truck: the camera slides **right** by ``x`` pivot distances (keeps its aim)
``y``      pivot    pedestal: the camera slides **up** by ``y`` pivot distances
``yaw``    degrees  the camera turns **right** in place (after the orbit)
``pitch``  degrees  the camera tilts **up** in place
``zoom``   factor   focal-length multiplier (``1`` = the source's; ``2`` magnifies twice)
=========  =======  ==========================================================================

The *pivot* is the point ``pivot`` scene units ahead of the source camera on its optical axis.
``pivot: auto`` (the default) lets the caller choose it from depth: the median depth of the
central quarter of the first source frame (:func:`motionbench.recapture.depth.default_pivot`).

**Keys and interpolation.** A path is a list of keys, each at a normalised time ``at`` in
``[0, 1]`` (frame ``i`` of ``n`` is at ``i / (n - 1)``). Values between keys are interpolated per
frame, ``linear`` (default) or ``smooth`` (smoothstep: the camera starts and stops gently); before
the first key and after the last, values are held. A parameter a key leaves out is neutral
(0, or 1 for ``zoom``). One key holds the camera still at that offset for the whole clip.

**Time.** ``time: follow`` (default): output frame ``i`` shows source frame ``i`` (the output has
the source's frame count). ``time: freeze`` with ``freeze_at`` in ``[0, 1]`` is *bullet time*: every
output frame shows source frame ``round(freeze_at * (n - 1))`` while the camera moves.

**Relative to each source frame.** Offsets apply to the source camera of the same frame, as in
pipelines that lift each frame with its own depth and never estimate the source's motion: for a
static source camera (every embedded scene) this is a fixed world path.

**Short forms** (``KIND`` or ``KIND:key=value,...``; every ramp goes from the neutral pose at
``at = 0`` to the given values at ``at = 1``; the defaults below apply only when no value is given,
so ``orbit:theta=5`` ramps theta alone):

============  ============================================================
``identity``  the source camera itself (a sanity path: re-rendering is exact)
``orbit``     ``phi`` ramps to 30 (default)
``arc``       ``theta`` ramps to 15
``dolly``     ``r`` ramps to -0.3 (moves in)
``zoom``      ``zoom`` ramps to 1.5
``pan``       ``x`` ramps to 0.2 (a sideways slide, the literature's "pan")
``turn``      ``yaw`` ramps to 15 (a cinematographer's pan: rotation in place)
``bullet``    ``phi`` ramps to 30 with time frozen at ``at`` (default 0.5)
``frozen``    the camera held at a fixed offset (default ``phi=15``) the whole clip
============  ============================================================

For example ``orbit:phi=-20,theta=5``, ``bullet:phi=40,at=0``, ``frozen:x=0.1``. The long form
(YAML or JSON, e.g. in a manifest)::

    keys:
      - {at: 0.0}
      - {at: 0.5, phi: 20}
      - {at: 1.0, phi: 20, r: -0.2}
    interpolation: smooth
    time: follow
    pivot: auto

:meth:`CameraPath.to_dict` writes the long form; :meth:`CameraPath.parse` reads either and names
the field and value of anything wrong.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any, Literal, Mapping

import numpy as np

from motionbench.errors import ConfigError
from motionbench.recapture.cameras import rigid, rot_x, rot_y, scale_intrinsics

PARAMS = ("theta", "phi", "r", "x", "y", "yaw", "pitch", "zoom")
NEUTRAL = {p: (1.0 if p == "zoom" else 0.0) for p in PARAMS}
#: Allowed ranges (inclusive); beyond them the geometry degenerates (a camera behind its pivot,
#: looking straight down its own up axis, a zero focal length).
LIMITS: dict[str, tuple[float, float]] = {
    "theta": (-80.0, 80.0), "phi": (-180.0, 180.0), "r": (-0.9, 10.0), "x": (-5.0, 5.0), "y": (-5.0, 5.0),
    "yaw": (-80.0, 80.0), "pitch": (-80.0, 80.0), "zoom": (0.1, 10.0),
}
Interpolation = Literal["linear", "smooth"]
TimeMode = Literal["follow", "freeze"]
#: Short-form kinds: the parameters they ramp (with defaults) and their time mode.
KINDS: dict[str, dict[str, Any]] = {
    "identity": {"ramp": {}, "time": "follow"},
    "orbit": {"ramp": {"phi": 30.0}, "time": "follow"},
    "arc": {"ramp": {"theta": 15.0}, "time": "follow"},
    "dolly": {"ramp": {"r": -0.3}, "time": "follow"},
    "zoom": {"ramp": {"zoom": 1.5}, "time": "follow"},
    "pan": {"ramp": {"x": 0.2}, "time": "follow"},
    "turn": {"ramp": {"yaw": 15.0}, "time": "follow"},
    "bullet": {"ramp": {"phi": 30.0}, "time": "freeze"},
    "frozen": {"hold": {"phi": 15.0}, "time": "follow"},
}
_TOP_KEYS = ("keys", "kind", "interpolation", "time", "freeze_at", "pivot", "name")


@dataclass(frozen=True)
class CameraKey:
    """The camera offset at normalised time ``at`` (see the module docstring for each field)."""

    at: float
    theta: float = 0.0
    phi: float = 0.0
    r: float = 0.0
    x: float = 0.0
    y: float = 0.0
    yaw: float = 0.0
    pitch: float = 0.0
    zoom: float = 1.0

    def values(self) -> dict[str, float]:
        return {p: float(getattr(self, p)) for p in PARAMS}


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ConfigError(f"{where}: {value!r} is not a number")
    try:
        out = float(value)
    except ValueError:
        raise ConfigError(f"{where}: {value!r} is not a number") from None
    if not math.isfinite(out):
        raise ConfigError(f"{where}: {value!r} is not a finite number")
    return out


def _in_range(name: str, value: float, where: str) -> float:
    lo, hi = LIMITS[name]
    if not lo <= value <= hi:
        raise ConfigError(f"{where}: {name} = {value:g} is outside the allowed range [{lo:g}, {hi:g}]")
    return value


def _smoothstep(u: np.ndarray) -> np.ndarray:
    return u * u * (3.0 - 2.0 * u)


def frame_times(num_frames: int) -> np.ndarray:
    """Normalised time ``i / (n - 1)`` of each frame (``[0.0]`` for one frame)."""
    if num_frames < 1:
        raise ConfigError(f"a camera path needs at least 1 frame, got {num_frames}")
    return np.linspace(0.0, 1.0, num_frames) if num_frames > 1 else np.zeros(1)


@dataclass(frozen=True)
class CameraPath:
    """A target camera path (see the module docstring for the format).

    Attributes:
        keys: at least one key, ``at`` strictly increasing in ``[0, 1]``.
        interpolation: ``linear`` or ``smooth`` between keys.
        time: ``follow`` (frame i shows source frame i) or ``freeze`` (bullet time).
        freeze_at: the frozen source time for ``time = freeze``, in ``[0, 1]``.
        pivot: orbit-centre distance in scene units; ``None`` = chosen from depth by the caller.
        name: a label (the short form it came from, or the manifest's); not part of the geometry.
    """

    keys: tuple[CameraKey, ...]
    interpolation: Interpolation = "linear"
    time: TimeMode = "follow"
    freeze_at: float = 0.0
    pivot: float | None = None
    name: str = ""

    def __post_init__(self) -> None:
        self.validate()

    # -- validation ----------------------------------------------------------------------
    def validate(self, where: str = "camera path") -> None:
        """Raise :class:`ConfigError` naming the first bad field."""
        if not self.keys:
            raise ConfigError(f"{where}: keys is empty; give at least one key, e.g. keys: [{{at: 0, phi: 10}}]")
        previous = -1.0
        for i, key in enumerate(self.keys):
            kw = f"{where}: keys[{i}]"
            if not 0.0 <= key.at <= 1.0:
                raise ConfigError(f"{kw}: at = {key.at:g} is outside [0, 1]")
            if key.at <= previous:
                raise ConfigError(f"{kw}: at = {key.at:g} does not come after the previous key's {previous:g}; "
                                  "keys must have strictly increasing times")
            previous = key.at
            for p in PARAMS:
                _in_range(p, float(getattr(key, p)), kw)
        if self.interpolation not in ("linear", "smooth"):
            raise ConfigError(f"{where}: interpolation {self.interpolation!r} is not one of: linear, smooth")
        if self.time not in ("follow", "freeze"):
            raise ConfigError(f"{where}: time {self.time!r} is not one of: follow, freeze")
        if not 0.0 <= self.freeze_at <= 1.0:
            raise ConfigError(f"{where}: freeze_at = {self.freeze_at:g} is outside [0, 1]")
        if self.pivot is not None and not (math.isfinite(self.pivot) and self.pivot > 0):
            raise ConfigError(f"{where}: pivot = {self.pivot!r} must be a positive distance or 'auto'")

    # -- parsing -------------------------------------------------------------------------
    @classmethod
    def parse(cls, spec: str | Mapping[str, Any] | "CameraPath", where: str = "camera path") -> "CameraPath":
        """A path from its short form (``"orbit:phi=30"``) or long form (a mapping).

        Raises:
            ConfigError: naming ``where``, the field and the value at fault.
        """
        if isinstance(spec, CameraPath):
            return spec
        if isinstance(spec, str):
            return cls._parse_short(spec.strip(), where)
        if isinstance(spec, Mapping):
            return cls._parse_long(spec, where)
        raise ConfigError(f"{where}: expected a string such as 'orbit:phi=30' or a mapping with keys, got "
                          f"{type(spec).__name__}")

    @classmethod
    def _parse_short(cls, spec: str, where: str) -> "CameraPath":
        kind, _, rest = spec.partition(":")
        kind = kind.strip()
        if kind not in KINDS:
            raise ConfigError(f"{where}: unknown path kind {kind!r} in {spec!r}; kinds: {', '.join(KINDS)} "
                              "(or give the long form with keys)")
        values: dict[str, float] = {}
        for item in filter(None, (s.strip() for s in rest.split(","))):
            name, eq, raw = item.partition("=")
            name = name.strip()
            if not eq:
                raise ConfigError(f"{where}: {item!r} in {spec!r} is not of the form key=value")
            allowed = PARAMS + (("at",) if kind == "bullet" else ()) + ("pivot",)
            if name not in allowed:
                raise ConfigError(f"{where}: unknown key {name!r} in {spec!r}; allowed: {', '.join(allowed)}")
            values[name] = _number(raw.strip(), f"{where}: {name}")
        return cls._from_kind(kind, values, {}, where, name=spec)

    @classmethod
    def _from_kind(cls, kind: str, values: dict[str, float], top: Mapping[str, Any], where: str,
                   name: str) -> "CameraPath":
        info = KINDS[kind]
        pivot = values.pop("pivot", None)
        freeze_at = values.pop("at", 0.5)
        if "hold" in info:
            end = values or dict(info["hold"])
            keys = (CameraKey(at=0.0, **end),)
        elif kind == "identity":
            if values:
                raise ConfigError(f"{where}: the identity path takes no values, got {', '.join(values)}")
            keys = (CameraKey(at=0.0),)
        else:
            end = values or dict(info["ramp"])
            keys = (CameraKey(at=0.0), CameraKey(at=1.0, **end))
        fields = dict(keys=keys, time=info["time"], freeze_at=float(freeze_at) if info["time"] == "freeze" else 0.0,
                      pivot=pivot, name=name)
        fields.update(cls._top_fields(top, where))
        try:
            return cls(**fields)
        except ConfigError as exc:
            raise ConfigError(str(exc).replace("camera path", where, 1)) from None

    @staticmethod
    def _top_fields(spec: Mapping[str, Any], where: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if "interpolation" in spec:
            out["interpolation"] = str(spec["interpolation"])
        if "time" in spec:
            out["time"] = str(spec["time"])
        if "freeze_at" in spec:
            out["freeze_at"] = _number(spec["freeze_at"], f"{where}: freeze_at")
        if "pivot" in spec:
            raw = spec["pivot"]
            out["pivot"] = None if raw in (None, "auto") else _number(raw, f"{where}: pivot")
        if "name" in spec:
            out["name"] = str(spec["name"])
        return out

    @classmethod
    def _parse_long(cls, spec: Mapping[str, Any], where: str) -> "CameraPath":
        unknown = [k for k in spec if k not in _TOP_KEYS and not (k in PARAMS and "kind" in spec)]
        if unknown:
            raise ConfigError(f"{where}: unknown field {unknown[0]!r}; fields: {', '.join(_TOP_KEYS)}")
        if "kind" in spec:
            if "keys" in spec:
                raise ConfigError(f"{where}: give either kind (a short form) or keys, not both")
            kind = str(spec["kind"])
            if kind not in KINDS:
                raise ConfigError(f"{where}: unknown path kind {kind!r}; kinds: {', '.join(KINDS)}")
            values = {p: _number(spec[p], f"{where}: {p}") for p in PARAMS if p in spec}
            top = {k: v for k, v in spec.items() if k in _TOP_KEYS and k not in ("kind", "keys")}
            return cls._from_kind(kind, values, top, where, name=str(spec.get("name", kind)))
        if "keys" not in spec:
            raise ConfigError(f"{where}: a camera path needs keys (a list of {{at: ..., phi: ...}}) or a kind "
                              f"({', '.join(KINDS)})")
        raw_keys = spec["keys"]
        if not isinstance(raw_keys, (list, tuple)):
            raise ConfigError(f"{where}: keys must be a list of mappings, got {type(raw_keys).__name__}")
        keys = []
        for i, item in enumerate(raw_keys):
            kw = f"{where}: keys[{i}]"
            if not isinstance(item, Mapping):
                raise ConfigError(f"{kw}: must be a mapping such as {{at: 0.5, phi: 20}}, got {item!r}")
            bad = [k for k in item if k not in ("at",) + PARAMS]
            if bad:
                raise ConfigError(f"{kw}: unknown key {bad[0]!r}; allowed: at, {', '.join(PARAMS)}")
            if "at" not in item:
                raise ConfigError(f"{kw}: missing at (the key's normalised time in [0, 1])")
            keys.append(CameraKey(**{k: _number(v, f"{kw}.{k}") for k, v in item.items()}))
        fields: dict[str, Any] = {"keys": tuple(keys)}
        fields.update(cls._top_fields(spec, where))
        try:
            return cls(**fields)
        except ConfigError as exc:
            raise ConfigError(str(exc).replace("camera path", where, 1)) from None

    def to_dict(self) -> dict[str, Any]:
        """The long form (neutral values left out); :meth:`parse` reads it back to an equal path."""
        keys = []
        for key in self.keys:
            item: dict[str, float] = {"at": float(key.at)}
            item.update({p: v for p, v in key.values().items() if v != NEUTRAL[p]})
            keys.append(item)
        out: dict[str, Any] = {"keys": keys, "interpolation": self.interpolation, "time": self.time}
        if self.time == "freeze":
            out["freeze_at"] = float(self.freeze_at)
        out["pivot"] = "auto" if self.pivot is None else float(self.pivot)
        if self.name:
            out["name"] = self.name
        return out

    @property
    def key(self) -> str:
        """Content hash of the geometry (the label ``name`` excluded): cache keys and file names."""
        geometry = {k: v for k, v in self.to_dict().items() if k != "name"}
        return hashlib.sha256(json.dumps(geometry, sort_keys=True).encode()).hexdigest()[:12]

    # -- per-frame values -----------------------------------------------------------------
    def values(self, num_frames: int) -> dict[str, np.ndarray]:
        """Each parameter per frame: ``{name: float64 [num_frames]}``."""
        t = frame_times(num_frames)
        ats = np.array([k.at for k in self.keys])
        out = {}
        for p in PARAMS:
            vals = np.array([getattr(k, p) for k in self.keys], dtype=np.float64)
            if len(self.keys) == 1:
                out[p] = np.full(num_frames, vals[0])
                continue
            seg = np.clip(np.searchsorted(ats, t, side="right") - 1, 0, len(ats) - 2)
            u = np.clip((t - ats[seg]) / (ats[seg + 1] - ats[seg]), 0.0, 1.0)
            if self.interpolation == "smooth":
                u = _smoothstep(u)
            out[p] = vals[seg] + u * (vals[seg + 1] - vals[seg])
        return out

    def resolve_pivot(self, pivot: float | None) -> float:
        """The path's own pivot, else ``pivot`` (the caller's depth-based default)."""
        chosen = self.pivot if self.pivot is not None else pivot
        if chosen is None or not (math.isfinite(chosen) and chosen > 0):
            raise ConfigError(f"camera path {self.name or self.key}: pivot is 'auto' and no positive default was "
                              f"given (got {chosen!r}); pass the source's depth-based pivot")
        return float(chosen)

    def poses(self, num_frames: int, pivot: float | None = None) -> np.ndarray:
        """Target camera-to-source camera transforms ``[T, 4, 4]`` (the target's pose in the source frame)."""
        d = self.resolve_pivot(pivot)
        v = self.values(num_frames)
        out = np.empty((num_frames, 4, 4))
        centre = np.array([0.0, 0.0, d])
        for i in range(num_frames):
            # Elevation in the camera's own frame, then azimuth about the source's vertical axis;
            # the signs make positive phi move the camera right and positive theta move it up.
            orbit = rot_y(-v["phi"][i]) @ rot_x(-v["theta"][i])
            position = centre + orbit @ np.array([0.0, 0.0, -d * (1.0 + v["r"][i])])
            position = position + orbit @ np.array([v["x"][i] * d, -v["y"][i] * d, 0.0])
            turn = rot_y(v["yaw"][i]) @ rot_x(v["pitch"][i])
            out[i] = rigid(orbit @ turn, position)
        return out

    def relative_extrinsics(self, num_frames: int, pivot: float | None = None) -> np.ndarray:
        """Source-camera to target-camera transforms ``[T, 4, 4]`` (apply to source-camera points)."""
        from motionbench.recapture.cameras import invert_rigid

        return invert_rigid(self.poses(num_frames, pivot))

    def intrinsics(self, k: np.ndarray, num_frames: int) -> np.ndarray:
        """Per-frame target intrinsics ``[T, 3, 3]`` from the source's ``k`` (``[3, 3]`` or ``[T, 3, 3]``)."""
        zoom = self.values(num_frames)["zoom"]
        base = np.broadcast_to(np.asarray(k, dtype=np.float64), (num_frames, 3, 3))
        return np.stack([scale_intrinsics(base[i], zoom[i]) for i in range(num_frames)])

    def source_frames(self, num_source: int, num_frames: int | None = None) -> np.ndarray:
        """Index of the source frame each output frame shows (``int64 [num_frames]``).

        ``follow`` needs ``num_frames == num_source`` (default); ``freeze`` repeats one frame.

        Raises:
            ConfigError: ``follow`` with a different frame count.
        """
        n = num_source if num_frames is None else num_frames
        if self.time == "freeze":
            return np.full(n, int(round(self.freeze_at * (num_source - 1))), dtype=np.int64)
        if n != num_source:
            raise ConfigError(f"camera path {self.name or self.key}: time 'follow' renders the source's {num_source} "
                              f"frames, asked for {n}; use time: freeze for a different count")
        return np.arange(n, dtype=np.int64)

    def with_pivot(self, pivot: float) -> "CameraPath":
        return dataclasses.replace(self, pivot=float(pivot))
