"""Training pairs for per-video tuning: a damaged clip and its mask as input, the clip as target.

A :class:`TrainingClip` is a video with depth and intrinsics at the training size: the source, or
(in later self-iterative rounds) one of the model's own re-renderings. :func:`make_example` damages
it with one composite-mask type, drawn per example:

* ``point_cloud``: the double reprojection (:func:`motionbench.recapture.masks.point_cloud_visibility`)
  along a random orbit ramping from the clip's camera to ``(phi, theta)``, ``|phi|`` drawn in
  ``[0.3, 1] * max_angle`` and ``|theta|`` up to ``theta_ratio * max_angle`` (a ramp, like the
  inference paths, so the damage grows over the clip);
* ``editing``: random drifting regions, first frame intact
  (:func:`motionbench.recapture.masks.editing_visibility`);
* ``union``: both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motionbench.recapture.depth import default_pivot
from motionbench.recapture.masks import (MASK_KINDS, MaskKind, apply_visibility, editing_visibility,
                                         point_cloud_visibility, sample_mask_kind, union_visibility)
from motionbench.recapture.trajectory import CameraKey, CameraPath


@dataclass(frozen=True)
class TrainingClip:
    """A clip to make pairs from (uint8 ``frames [T, H, W, 3]``, ``depth [T, H, W]``, ``intrinsics [3, 3]``).

    ``origin`` names it in the training record (``source``, ``round1:phi=+20``...).
    """

    frames: np.ndarray
    depth: np.ndarray
    intrinsics: np.ndarray
    origin: str = "source"

    @property
    def pivot(self) -> float:
        return default_pivot(self.depth[0])


@dataclass(frozen=True)
class Example:
    """One training pair: ``damaged`` (holes black) and ``visible`` as input, ``target`` as target."""

    damaged: np.ndarray
    visible: np.ndarray
    target: np.ndarray
    kind: MaskKind
    origin: str
    phi: float = 0.0
    theta: float = 0.0


def random_orbit(rng: np.random.Generator, max_angle: float, theta_ratio: float) -> CameraPath:
    """An orbit ramp from the clip's camera to a random ``(phi, theta)`` (see the module docstring)."""
    phi = float(rng.uniform(0.3, 1.0) * max_angle * rng.choice([-1.0, 1.0]))
    theta = float(rng.uniform(-1.0, 1.0) * theta_ratio * max_angle)
    return CameraPath(keys=(CameraKey(at=0.0), CameraKey(at=1.0, phi=phi, theta=theta)), name="train-orbit")


def make_example(clip: TrainingClip, rng: np.random.Generator, *, max_angle: float, theta_ratio: float = 0.5,
                 kinds: tuple[MaskKind, ...] = MASK_KINDS, probabilities: tuple[float, ...] | None = None,
                 device: str = "cpu") -> Example:
    """Damage ``clip`` with one mask type drawn from ``kinds`` (see the module docstring)."""
    kind = sample_mask_kind(rng, kinds, probabilities)
    n, h, w = clip.frames.shape[:3]
    phi = theta = 0.0
    damaged, visible = clip.frames, np.ones((n, h, w), bool)
    if kind in ("point_cloud", "union"):
        path = random_orbit(rng, max_angle, theta_ratio)
        phi, theta = path.keys[-1].phi, path.keys[-1].theta
        # What the round trip keeps is resampled twice, as the visible part of an inference warp is once.
        damaged, visible = point_cloud_visibility(clip.frames, clip.depth, clip.intrinsics,
                                                  path.relative_extrinsics(n, clip.pivot), device=device)
    if kind in ("editing", "union"):
        visible = union_visibility(visible, editing_visibility(n, h, w, rng))
    damaged = apply_visibility(damaged, visible)
    return Example(damaged=damaged, visible=visible, target=clip.frames, kind=kind, origin=clip.origin, phi=phi,
                   theta=theta)
