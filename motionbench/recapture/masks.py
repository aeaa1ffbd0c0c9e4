"""Masks that say what an inpainting model must fill, and the composite masks FYC trains on.

Convention everywhere in MotionBench's recapture task: a *visibility* mask is bool ``[T, H, W]``,
True (1) = visible, keep it; False (0) = a hole, fill it. (VACE's own mask is the opposite, white =
generate; :mod:`motionbench.backbones.vace` converts.)

Training masks of three types (Follow-Your-Creation's composite masks):

* ``point_cloud``: the holes a double reprojection leaves (:func:`point_cloud_visibility`): the
  damage a view change really does;
* ``editing``: random regions over the sequence (:func:`editing_visibility`): one to three
  ellipses or boxes drifting linearly through the clip; the *first frame has no hole*, so the
  model learns to propagate a fully given first frame (the paper's "first-frame mask 0" in its
  generate-where-1 convention);
* ``union``: holes of both (visible where both are).

:func:`sample_mask_kind` draws one type per training example with the given probabilities (the
paper does not publish them; uniform by default).
"""

from __future__ import annotations

from typing import Literal, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from motionbench.errors import ConfigError
from motionbench.recapture.splat import double_reprojection

MaskKind = Literal["point_cloud", "editing", "union"]
MASK_KINDS: tuple[MaskKind, ...] = ("point_cloud", "editing", "union")


def sample_mask_kind(rng: np.random.Generator, kinds: Sequence[MaskKind] = MASK_KINDS,
                     probabilities: Sequence[float] | None = None) -> MaskKind:
    """One mask type; ``probabilities`` default to uniform over ``kinds``.

    Raises:
        ConfigError: unknown kinds, or probabilities that do not fit them.
    """
    bad = [k for k in kinds if k not in MASK_KINDS]
    if bad or not kinds:
        raise ConfigError(f"mask kinds {list(kinds)} must be a non-empty subset of {', '.join(MASK_KINDS)}")
    if probabilities is None:
        p = np.full(len(kinds), 1.0 / len(kinds))
    else:
        p = np.asarray(probabilities, dtype=np.float64)
        if p.shape != (len(kinds),) or (p < 0).any() or p.sum() <= 0:
            raise ConfigError(f"mask probabilities {list(probabilities)} must be {len(kinds)} non-negative numbers "
                              "with a positive sum")
        p = p / p.sum()
    return kinds[int(rng.choice(len(kinds), p=p))]


def editing_visibility(num_frames: int, height: int, width: int, rng: np.random.Generator, *,
                       min_area: float = 0.05, max_area: float = 0.35) -> np.ndarray:
    """Random drifting regions to fill: bool ``[T, H, W]`` (True = visible), frame 0 all visible.

    Each of one to three regions (an ellipse or a box of ``min_area``..``max_area`` of the frame in
    total) moves linearly from a random start to a random end over the clip.
    """
    if not 0 < min_area <= max_area < 1:
        raise ConfigError(f"editing mask areas must satisfy 0 < min_area <= max_area < 1, got {min_area}, {max_area}")
    visible = np.ones((num_frames, height, width), bool)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    count = int(rng.integers(1, 4))
    area = rng.uniform(min_area, max_area) * height * width / count
    t = np.linspace(0.0, 1.0, num_frames) if num_frames > 1 else np.zeros(1)
    for _ in range(count):
        aspect = rng.uniform(0.5, 2.0)
        ry = np.sqrt(area / (np.pi * aspect))
        rx = ry * aspect
        start = rng.uniform([0, 0], [width, height])
        end = start + rng.uniform(-0.3, 0.3, 2) * np.array([width, height])
        box = rng.random() < 0.5
        for f in range(1, num_frames):
            cx, cy = start + t[f] * (end - start)
            if box:
                hole = (np.abs(xx - cx) <= rx * 0.886) & (np.abs(yy - cy) <= ry * 0.886)  # same area as the ellipse
            else:
                hole = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1.0
            visible[f] &= ~hole
    return visible


def point_cloud_visibility(frames: np.ndarray, depth: np.ndarray, k: np.ndarray, relative: np.ndarray, *,
                           device: str = "cpu") -> tuple[np.ndarray, np.ndarray]:
    """Double reprojection of every frame by ``relative`` (``[T, 4, 4]`` or ``[4, 4]``).

    Returns:
        (damaged frames uint8 ``[T, H, W, 3]`` black in the holes, visibility bool ``[T, H, W]``).
    """
    n = len(frames)
    rel = torch.from_numpy(np.array(np.broadcast_to(relative, (n, 4, 4)), dtype=np.float64)).to(device)
    img = torch.from_numpy(np.array(frames)).to(device).permute(0, 3, 1, 2).float()
    dep = torch.from_numpy(np.array(depth, dtype=np.float32)).to(device).unsqueeze(1)
    kk = torch.from_numpy(np.array(np.broadcast_to(k, (n, 3, 3)), dtype=np.float64)).to(device)
    back = double_reprojection(img, dep, kk, rel)
    vis = back.visible[:, 0] > 0.5
    out = (back.image * vis.unsqueeze(1)).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1)
    return out.cpu().numpy(), vis.cpu().numpy()


def union_visibility(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Visible only where both masks are (the union of their holes)."""
    return np.asarray(a, bool) & np.asarray(b, bool)


def dilate_holes(visible: np.ndarray, pixels: int) -> np.ndarray:
    """Grow every hole by ``pixels`` (a square neighbourhood): splat edges are the least reliable pixels."""
    if pixels <= 0:
        return np.asarray(visible, bool)
    holes = torch.from_numpy(~np.asarray(visible, bool)).float().unsqueeze(1)
    grown = F.max_pool2d(holes, 2 * pixels + 1, stride=1, padding=pixels)
    return ~(grown[:, 0] > 0.5).numpy()


def apply_visibility(frames: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """Frames with their holes set to black."""
    return np.where(np.asarray(visible, bool)[..., None], frames, 0).astype(np.uint8)
