"""Reading toy clips back: which palette colours are on screen, and where a single object is.

The toy palette's colours are far apart (:data:`motionbench.bench.toy.vocab.COLOURS`), so a pixel
is assigned to the nearest palette colour when it is within :data:`MATCH` (RGB distance) of it,
and counts as background when it is within :data:`MATCH` of the named background. These readers
define the toy quality figures and the appearance metrics:

* :func:`colour_counts` / :func:`dominant_colours`: the colours a clip shows (besides its background);
* :func:`look_matches`: whether a clip shows the colours a look names (and which it shows instead);
* :func:`blob_track`: the centroid of the one object of a single-object clip in every frame, or
  ``None`` where there is not exactly one blob of about the right size;
* :func:`smooth_motion`: the "one object moving along a smooth path" test of the base model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motionbench.bench.toy.vocab import BACKGROUNDS, COLOURS, Look

MATCH = 70.0  # RGB distance within which a pixel takes a palette colour
_NAMES = tuple(COLOURS)
_PALETTE = np.array([COLOURS[n] for n in _NAMES], np.float32)


def _labels(frames: np.ndarray) -> np.ndarray:
    """Palette index per pixel (``-1``: no palette colour within :data:`MATCH`)."""
    x = frames.astype(np.float32)[..., None, :]  # [..., 1, 3]
    dist = np.linalg.norm(x - _PALETTE, axis=-1)  # [..., K]
    best = dist.argmin(axis=-1)
    return np.where(dist.min(axis=-1) <= MATCH, best, -1)


def _background_mask(frames: np.ndarray, background: str) -> np.ndarray:
    bg = np.array(BACKGROUNDS[background], np.float32)
    return np.linalg.norm(frames.astype(np.float32) - bg, axis=-1) <= MATCH


def colour_counts(frames: np.ndarray, background: str | None = None) -> dict[str, int]:
    """Pixels of each palette colour over ``uint8 [T, H, W, 3]`` frames (background pixels excluded)."""
    labels = _labels(frames)
    if background:
        labels = np.where(_background_mask(frames, background), -1, labels)
    counts = np.bincount(labels[labels >= 0].ravel(), minlength=len(_NAMES))
    return {n: int(c) for n, c in zip(_NAMES, counts) if c}


def dominant_colours(frames: np.ndarray, k: int, background: str | None = None) -> tuple[str, ...]:
    """The ``k`` palette colours covering the most (non-background) pixels, most first."""
    counts = colour_counts(frames, background)
    return tuple(sorted(counts, key=lambda n: -counts[n])[:k])


@dataclass(frozen=True)
class LookMatch:
    """What a clip shows against what a look names."""

    wanted: tuple[str, ...]
    shown: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return set(self.wanted) == set(self.shown)


def look_matches(frames: np.ndarray, look: Look) -> LookMatch:
    """Whether ``frames`` show ``look``'s colours: the ``n`` most covering palette colours equal the
    ``n`` colours the look names (objects: over the named background; camera: both scene colours)."""
    wanted = tuple(dict.fromkeys(look.colour_names()))
    background = None if look.category == "camera" else look.background
    return LookMatch(wanted, dominant_colours(frames, len(wanted), background))


def blob_track(frames: np.ndarray, background: str, expected_area: float,
               area_range: tuple[float, float] = (0.4, 2.0)) -> list[tuple[float, float] | None]:
    """Per frame, the centroid (x, y) of the single non-background blob, or ``None`` when the frame has
    no blob or several of at least 3 pixels, or one whose area is outside ``area_range * expected_area``."""
    import cv2

    out: list[tuple[float, float] | None] = []
    fg = ~_background_mask(frames, background)
    for mask in fg:
        n, _, stats, cents = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
        blobs = [i for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] >= 3]
        if len(blobs) != 1:
            out.append(None)
            continue
        area = stats[blobs[0], cv2.CC_STAT_AREA]
        lo, hi = area_range
        out.append(tuple(map(float, cents[blobs[0]])) if lo * expected_area <= area <= hi * expected_area else None)
    return out


@dataclass(frozen=True)
class MotionCheck:
    """Result of :func:`smooth_motion` on one clip."""

    present: bool  # one blob of about the right size in every frame
    travel: float  # pixels between the first and last centroid
    max_accel: float  # largest |c[t+1] - 2 c[t] + c[t-1]| (pixels per frame^2)

    def ok(self, min_travel: float = 3.0, max_accel: float = 1.5) -> bool:
        return self.present and self.travel >= min_travel and self.max_accel <= max_accel


def smooth_motion(frames: np.ndarray, background: str, expected_area: float) -> MotionCheck:
    """Is there one object in every frame, and does it travel along a path without jumps?"""
    track = blob_track(frames, background, expected_area)
    if any(c is None for c in track):
        return MotionCheck(False, 0.0, float("inf"))
    c = np.array(track)
    accel = np.linalg.norm(c[2:] - 2 * c[1:-1] + c[:-2], axis=-1) if len(c) >= 3 else np.zeros(1)
    return MotionCheck(True, float(np.linalg.norm(c[-1] - c[0])), float(accel.max()))
