"""Textured 3-D primitives and exact ray intersection (torch, batched over rays).

Each primitive lives in its own local frame; a :class:`Placement` (rotation + translation) puts it
in the world at a given scene time. :func:`to_local` moves world rays into the local frame,
:func:`hit_distance` returns the ray parameter of the nearest hit (``inf`` for a miss) and
:func:`surface_colour` the colour at a hit (split so a renderer shades only the rays a primitive
wins). Rays are ``[3, N]`` (coordinates first: a ``[3] @ [3, N]`` product is the fast
path on the CPU):

* :class:`Quad`: a rectangle ``centre + a u + b v`` (``|a|, |b| <= 1``) with an image texture looked
  up bilinearly at ``((a + 1) / 2, (b + 1) / 2)``; seen from both sides;
* :class:`Sphere`: a ball with a *solid* texture (a smooth function of the local 3-D point, so there
  is no seam), mapped through a palette;
* a box is six quads (:func:`box_faces`).

Ray parameters are in units of the ray direction: with directions ``K^-1 [u, v, 1]`` in camera
coordinates (z = 1), the parameter of a hit *is* its depth.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

EPS = 1e-6


@dataclass(frozen=True)
class Placement:
    """Local-to-world rigid transform: ``X_world = rotation @ X_local + translation``."""

    rotation: np.ndarray = field(default_factory=lambda: np.eye(3))
    translation: np.ndarray = field(default_factory=lambda: np.zeros(3))


@dataclass(frozen=True)
class Quad:
    """A textured rectangle: ``u`` and ``v`` are half-extent vectors (orthogonal), ``texture``
    float32 ``[h, w, 3]`` in ``[0, 1]`` (row = ``v`` direction, column = ``u`` direction)."""

    centre: np.ndarray
    u: np.ndarray
    v: np.ndarray
    texture: np.ndarray


@dataclass(frozen=True)
class Sphere:
    """A ball with a solid texture: ``sum_m sin(waves[m] . q + phases[m])`` over the unit-sphere point
    ``q``, stretched to ``[0, 1]`` and mapped through ``colours`` (``[n, 3]`` in ``[0, 1]``)."""

    centre: np.ndarray
    radius: float
    waves: np.ndarray
    phases: np.ndarray
    colours: np.ndarray


Primitive = Quad | Sphere


def box_faces(half: np.ndarray, textures: list[np.ndarray]) -> list[Quad]:
    """The six faces of an axis-aligned box of half-sizes ``half`` centred on the local origin."""
    hx, hy, hz = (float(h) for h in half)
    ex, ey, ez = np.eye(3)
    specs = [
        (ez * hz, ex * hx, ey * hy), (-ez * hz, -ex * hx, ey * hy),
        (ex * hx, -ez * hz, ey * hy), (-ex * hx, ez * hz, ey * hy),
        (ey * hy, ex * hx, ez * hz), (-ey * hy, ex * hx, -ez * hz),
    ]
    return [Quad(c, u, v, textures[i % len(textures)]) for i, (c, u, v) in enumerate(specs)]


def _t(a: np.ndarray, like: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a, dtype=np.float64), dtype=like.dtype, device=like.device)


def _palette_lookup(field: torch.Tensor, colours: torch.Tensor) -> torch.Tensor:
    pos = field.clamp(0, 1) * (len(colours) - 1)
    lo = pos.floor().long().clamp(max=len(colours) - 2)
    frac = (pos - lo.to(pos.dtype)).unsqueeze(0)
    return colours[lo].t() * (1 - frac) + colours[lo + 1].t() * frac


def _quad_t(quad: Quad, o: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    c, u, v = (np.asarray(x, dtype=np.float64) for x in (quad.centre, quad.u, quad.v))
    n = np.cross(u, v)
    denom = _t(n, d) @ d
    safe = torch.where(denom.abs() < EPS, torch.full_like(denom, EPS), denom)
    t = (float(n @ c) - _t(n, o) @ o) / safe
    # In-plane coordinates of o + t d, without forming the points: a = u.(o + t d - c) / |u|^2.
    a = (_t(u, o) @ o + t * (_t(u, d) @ d) - float(u @ c)) / float(u @ u)
    b = (_t(v, o) @ o + t * (_t(v, d) @ d) - float(v @ c)) / float(v @ v)
    hit = (denom.abs() >= EPS) & (t > EPS) & (a.abs() <= 1) & (b.abs() <= 1)
    return torch.where(hit, t, torch.full_like(t, float("inf")))


def _quad_colour(quad: Quad, p: torch.Tensor) -> torch.Tensor:
    c, u, v = (np.asarray(x, dtype=np.float64) for x in (quad.centre, quad.u, quad.v))
    a = (_t(u, p) @ p - float(u @ c)) / float(u @ u)
    b = (_t(v, p) @ p - float(v @ c)) / float(v @ v)
    tex = torch.as_tensor(quad.texture, dtype=torch.float32, device=p.device).permute(2, 0, 1).unsqueeze(0)
    # grid_sample: x is the column (u direction), y the row (v direction), both in [-1, 1].
    grid = torch.stack([a, b], dim=-1).float().clamp(-1, 1).view(1, 1, -1, 2)
    colour = F.grid_sample(tex, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return colour.view(3, -1).to(p.dtype)


def _sphere_t(sphere: Sphere, o: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    oc = o - _t(sphere.centre, o).view(3, 1)
    a = (d * d).sum(0)
    b = 2 * (oc * d).sum(0)
    cc = (oc * oc).sum(0) - sphere.radius ** 2
    disc = b * b - 4 * a * cc
    root = torch.sqrt(disc.clamp(min=0))
    t0 = (-b - root) / (2 * a)
    t1 = (-b + root) / (2 * a)
    t = torch.where(t0 > EPS, t0, t1)
    hit = (disc >= 0) & (t > EPS)
    return torch.where(hit, t, torch.full_like(t, float("inf")))


def _sphere_colour(sphere: Sphere, p: torch.Tensor) -> torch.Tensor:
    q = (p - _t(sphere.centre, p).view(3, 1)) / sphere.radius
    waves, phases = _t(sphere.waves, p), _t(sphere.phases, p)
    raw = torch.sin(waves @ q + phases.view(-1, 1)).sum(0) / max(len(sphere.phases), 1) ** 0.5
    return _palette_lookup(0.5 + 0.35 * raw, _t(sphere.colours, p))


def to_local(placement: Placement, origins: torch.Tensor, directions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """World rays ``[3, N]`` in the primitive's local frame (ray parameters are unchanged)."""
    rt = _t(placement.rotation, origins).t()
    return rt @ (origins - _t(placement.translation, origins).view(3, 1)), rt @ directions


def hit_distance(primitive: Primitive, origins: torch.Tensor, directions: torch.Tensor) -> torch.Tensor:
    """Ray parameter ``[N]`` of the nearest hit of local-frame rays ``[3, N]`` (``inf`` where missed)."""
    if isinstance(primitive, Quad):
        return _quad_t(primitive, origins, directions)
    return _sphere_t(primitive, origins, directions)


def surface_colour(primitive: Primitive, points: torch.Tensor) -> torch.Tensor:
    """Colour ``[3, N]`` in ``[0, 1]`` at local-frame surface points ``[3, N]``."""
    if isinstance(primitive, Quad):
        return _quad_colour(primitive, points)
    return _sphere_colour(primitive, points)

